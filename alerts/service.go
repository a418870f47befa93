package alerts

import (
	"context"
	"encoding/json"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// ListAlerts lists alerts, newest first; the owner role sees its own
// identities' alerts only.
func (e *Engine) ListAlerts(ctx context.Context, f steward.AlertFilter) (*steward.Page[*steward.Alert], error) {
	if _, err := steward.AuthorizeOwnRead(ctx, &f.OwnerID, ""); err != nil {
		return nil, err
	}
	return e.cfg.Store.ListAlerts(ctx, f)
}

// GetAlert returns one alert.
func (e *Engine) GetAlert(ctx context.Context, id string) (*steward.Alert, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	a, err := e.cfg.Store.GetAlert(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner && a.OwnerID != p.OwnerID {
		return nil, steward.Errorf(steward.ENOTFOUND, "alert %q not found", id)
	}
	return a, nil
}

var actionEvents = map[steward.AlertAction]string{
	steward.AlertActAck:           steward.ActionAlertAcknowledge,
	steward.AlertActResolve:       steward.ActionAlertResolve,
	steward.AlertActFalsePositive: steward.ActionAlertFalsePositive,
}

// ActOnAlert acknowledges, resolves or marks an alert a false positive,
// recording the act in the audit chain; a false positive teaches the
// identity's baseline what the alert called new.
func (e *Engine) ActOnAlert(ctx context.Context, id string, act steward.AlertAction, req steward.AlertActionRequest) (*steward.Alert, error) {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if _, ok := actionEvents[act]; !ok {
		return nil, steward.FieldError("action", "%q is not one of ack, resolve, false-positive", act)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	a, err := e.cfg.Store.UpdateAlert(ctx, id, func(tx steward.Tx, a *steward.Alert) error {
		if p.Role == steward.RoleOwner && a.OwnerID != p.OwnerID {
			return steward.Errorf(steward.ENOTFOUND, "alert %q not found", id)
		}
		before, _ := json.Marshal(map[string]any{"status": a.Status})
		next, err := steward.NextAlertStatus(a.Status, act)
		if err != nil {
			return err
		}
		a.Status, a.ActedAt, a.ActedBy, a.ActionNote, a.UpdatedAt = next, &now, p.Actor, req.Note, now
		after, _ := json.Marshal(map[string]any{"status": a.Status, "detector": a.Detector, "note": req.Note})
		return tx.AppendEvent(ctx, &steward.Event{ID: ids.New(ids.Event, now), Time: now, Actor: p.Actor, Action: actionEvents[act],
			SubjectType: steward.SubjectAlert, SubjectID: a.ID, IdentityID: a.IdentityID, Reason: steward.DelegatedReason(p, req.Note), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	select {
	case e.feedback <- feedback{alert: a}:
	default:
		e.cfg.Logger.Warn("alerts: feedback queue full; the baseline does not learn from this verdict", "alert_id", a.ID)
	}
	return a, nil
}

// ListDeadLetters lists notifications no sink could deliver, newest first.
func (e *Engine) ListDeadLetters(ctx context.Context, limit int) ([]*steward.DeadLetter, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		return nil, steward.Errorf(steward.EFORBIDDEN, "role owner may not read the dead-letter list")
	}
	return e.cfg.Store.ListDeadLetters(ctx, limit)
}

// TestNotification sends a test notification to the sinks at once and
// reports each one's answer (admin only).
func (e *Engine) TestNotification(ctx context.Context, sinks []string) ([]steward.NotificationResult, error) {
	p, err := steward.Authorize(ctx, steward.PermAdmin)
	if err != nil {
		return nil, err
	}
	if e.cfg.Tester == nil {
		return []steward.NotificationResult{}, nil
	}
	n := steward.Notification{Kind: "test", Severity: string(steward.SeverityInfo), Title: "Steward test notification",
		Body: "A test notification sent by " + p.Actor + ". No action is needed.", Time: time.Now().UTC(),
		Fields: map[string]string{"delivery_id": ids.New("ntf_", time.Now())}}
	return e.cfg.Tester.SendTest(ctx, n, sinks)
}
