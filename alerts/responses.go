package alerts

// Responses: rendering an alert for people, and the automatic responses
// (suspend, revoke) that rules ask for, taken off the Run goroutine.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-nhi/steward"
)

type response struct {
	alertID string
	text    string
}

// Notification renders an alert for people.
func Notification(a *steward.Alert, ident *steward.Identity) steward.Notification {
	name := a.IdentityID
	if ident != nil {
		name = ident.Name + " (" + ident.ID + ")"
	}
	body := a.Title + " on " + name
	if name == "" {
		body = a.Title
	}
	if b, err := json.Marshal(a.Evidence); err == nil {
		body += "\nevidence: " + string(b)
	}
	return steward.Notification{Kind: "alert", Severity: string(a.Severity), Title: a.Title, Body: body, IdentityID: a.IdentityID,
		OwnerID: a.OwnerID, Team: a.Team, Environment: a.Environment, Sensitivity: a.Sensitivity, Time: a.FirstSeen,
		Fields: map[string]string{"alert_id": a.ID, "key": a.Key, "detector": a.Detector, "owasp": a.OWASP, "csf": strings.Join(a.CSF, ","),
			"credential_id": a.CredentialID, "count": strconv.FormatInt(a.Count, 10)}}
}

// respond takes the automatic responses of the rules that match n, off
// the detectors' goroutine.
func (e *Engine) respond(ctx context.Context, a *steward.Alert, n steward.Notification) {
	if e.cfg.Responder == nil {
		return
	}
	var todo []string
	for _, r := range e.cfg.Rules {
		if r.Response != "" && r.Matches(n) && !slices.Contains(todo, r.Response) {
			todo = append(todo, r.Response)
		}
	}
	if len(todo) == 0 || a.IdentityID == "" {
		return
	}
	id, ident, cred := a.ID, a.IdentityID, a.CredentialID
	note := fmt.Sprintf("alert %s: %s", a.ID, a.Title)
	go func() {
		rctx := context.WithoutCancel(ctx)
		var done []string
		for _, r := range todo {
			var err error
			var what string
			switch r {
			case steward.ResponseSuspend:
				what = "suspended identity " + ident
				err = e.cfg.Responder.SuspendIdentity(rctx, ident, note)
			case steward.ResponseRevokeCredential:
				if cred == "" {
					continue
				}
				what = "revoked credential " + cred
				err = e.cfg.Responder.RevokeCredential(rctx, cred, note)
			}
			result := "ok"
			if err != nil {
				result = "error"
				what = r + " failed: " + steward.ErrorMessage(err)
				e.cfg.Logger.Warn("alerts: automatic response", "alert_id", id, "response", r, "err", err)
			} else {
				e.cfg.Logger.Info("alerts: automatic response", "alert_id", id, "response", r, "identity_id", ident)
			}
			e.mResponses.WithLabelValues(r, result).Inc()
			done = append(done, what)
		}
		if len(done) > 0 {
			e.responses <- response{alertID: id, text: strings.Join(done, "; ")}
		}
	}()
}

func (e *Engine) applyResponse(ctx context.Context, r response) {
	if a := e.byID[r.alertID]; a != nil {
		a.Response = r.text
		e.dirtyAlert[a.ID] = a
		return
	}
	if _, err := e.cfg.Store.UpdateAlert(ctx, r.alertID, func(_ steward.Tx, a *steward.Alert) error { a.Response = r.text; return nil }); err != nil {
		e.cfg.Logger.Warn("alerts: record response", "alert_id", r.alertID, "err", err)
	}
}
