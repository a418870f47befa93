package posture

import (
	"context"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// sweep runs the enforcement jobs: offboarding deadlines, dormancy and
// overdue access reviews. It returns what it did (or, in dry run, would
// do) and the identities it changed.
func (e *Engine) sweep(ctx context.Context) ([]string, []string, error) {
	actions, touched, err := e.enforceOffboarding(ctx)
	if err != nil {
		return actions, touched, err
	}
	a, t, err := e.enforceDormancy(ctx)
	actions, touched = append(actions, a...), append(touched, t...)
	if err != nil {
		return actions, touched, err
	}
	a, t, err = e.enforceReviews(ctx)
	return append(actions, a...), append(touched, t...), err
}

const dormantReason = string(steward.ReasonDormant)

// enforceDormancy suspends identities with an unresolved dormant finding
// and revokes those suspended as dormant longer than the grace period.
// In dry run it only reports.
func (e *Engine) enforceDormancy(ctx context.Context) ([]string, []string, error) {
	pol := e.o.Dormancy
	if !pol.Enabled {
		return nil, nil, nil
	}
	var actions, touched []string
	candidates, err := e.unresolved(ctx, checkDormant.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, fd := range candidates {
		if fd.Status == steward.FindingWaived {
			continue
		}
		if pol.DryRun {
			actions = append(actions, "would suspend "+fd.IdentityID+" (dormant)")
			continue
		}
		_, err := e.o.Inventory.TransitionIdentity(system(ctx), fd.IdentityID, steward.TransitionSuspend,
			steward.TransitionRequest{Reason: dormantReason, Note: "unused beyond the dormancy threshold"})
		if err != nil {
			e.log.Warn("posture: dormancy suspend failed", "identity_id", fd.IdentityID, "err", err)
			continue
		}
		actions = append(actions, "suspended "+fd.IdentityID+" (dormant)")
		touched = append(touched, fd.IdentityID)
	}
	// Revoke identities suspended as dormant more than the grace ago and
	// still suspended.
	now := e.o.Clock.Now()
	ef := steward.EventFilter{Action: steward.IdentityAction(steward.TransitionSuspend), Actor: "system:posture",
		Until: ptr(now.Add(-pol.Grace)), Limit: steward.MaxLimit}
	for {
		p, err := e.o.Store.ListEvents(ctx, ef)
		if err != nil {
			return actions, touched, err
		}
		for _, ev := range p.Items {
			if !strings.HasPrefix(ev.Reason, dormantReason) {
				continue
			}
			i, err := e.o.Store.GetIdentity(ctx, ev.IdentityID)
			if err != nil || i.Status != steward.StatusSuspended {
				continue
			}
			if last, err := e.lastSuspension(ctx, i.ID); err != nil || last == nil || last.Seq != ev.Seq {
				continue // resumed and suspended again since
			}
			if pol.DryRun {
				actions = append(actions, "would revoke "+i.ID+" (dormant past the grace period)")
				continue
			}
			_, err = e.o.Inventory.TransitionIdentity(system(ctx), i.ID, steward.TransitionRevoke,
				steward.TransitionRequest{Reason: dormantReason, Note: "suspended as dormant since " + ev.Time.Format(time.RFC3339) + " and not claimed"})
			if err != nil {
				e.log.Warn("posture: dormancy revoke failed", "identity_id", i.ID, "err", err)
				continue
			}
			actions = append(actions, "revoked "+i.ID+" (dormant past the grace period)")
			touched = append(touched, i.ID)
		}
		if p.NextCursor == "" {
			break
		}
		ef.Cursor = p.NextCursor
	}
	a, t, err := e.enforceCredentialDormancy(ctx)
	return append(actions, a...), append(touched, t...), err
}

// enforceCredentialDormancy revokes each credential with an unresolved,
// unwaived dormant-credential finding, and that credential only: the
// identity and its other credentials stay as they are. In dry run it only
// reports.
func (e *Engine) enforceCredentialDormancy(ctx context.Context) ([]string, []string, error) {
	candidates, err := e.unresolved(ctx, checkCredentialDormant.ID)
	if err != nil {
		return nil, nil, err
	}
	var actions, touched []string
	for _, fd := range candidates {
		if fd.Status == steward.FindingWaived || fd.CredentialID == "" {
			continue
		}
		what := "credential " + fd.CredentialID + " of " + fd.IdentityID
		switch {
		case e.o.Dormancy.DryRun:
			actions = append(actions, "would revoke "+what+" (dormant credential)")
			continue
		case e.o.Credentials == nil:
			actions = append(actions, "cannot revoke "+what+" (dormant credential): no credential revoker is configured")
			continue
		}
		if err := e.o.Credentials.RevokeCredential(system(ctx), fd.CredentialID, dormantReason); err != nil {
			e.log.Warn("posture: dormant credential revoke failed", "credential_id", fd.CredentialID, "identity_id", fd.IdentityID, "err", err)
			continue
		}
		actions = append(actions, "revoked "+what+" (dormant credential)")
		touched = append(touched, fd.IdentityID)
	}
	return actions, touched, nil
}

// unresolved returns every unresolved finding of one check.
func (e *Engine) unresolved(ctx context.Context, check string) ([]*steward.Finding, error) {
	return allPages(func(cursor string) (*steward.Page[*steward.Finding], error) {
		return e.o.Store.ListFindings(ctx, steward.FindingFilter{Check: check, Unresolved: true, Limit: steward.MaxLimit, Cursor: cursor})
	})
}

func (e *Engine) lastSuspension(ctx context.Context, id string) (*steward.Event, error) {
	p, err := e.o.Store.ListEvents(ctx, steward.EventFilter{IdentityID: id, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, ev := range p.Items {
		switch ev.Action {
		case steward.IdentityAction(steward.TransitionSuspend):
			return ev, nil
		case steward.IdentityAction(steward.TransitionResume), steward.IdentityAction(steward.TransitionActivate):
			return nil, nil
		}
	}
	return nil, nil
}

// enforceReviews suspends identities whose review item is overdue in a
// campaign with auto-suspend.
func (e *Engine) enforceReviews(ctx context.Context) ([]string, []string, error) {
	items, err := e.o.Store.OverdueReviewItems(ctx, e.o.Clock.Now(), nil)
	if err != nil {
		return nil, nil, err
	}
	var actions, touched []string
	auto := map[string]bool{}
	for _, it := range items {
		a, ok := auto[it.CampaignID]
		if !ok {
			c, err := e.o.Store.GetReview(ctx, it.CampaignID)
			if err != nil {
				return actions, touched, err
			}
			a = c.AutoSuspend
			auto[it.CampaignID] = a
		}
		if !a {
			continue
		}
		i, err := e.o.Store.GetIdentity(ctx, it.IdentityID)
		if err != nil || i.Status != steward.StatusActive {
			continue
		}
		_, err = e.o.Inventory.TransitionIdentity(system(ctx), i.ID, steward.TransitionSuspend,
			steward.TransitionRequest{Reason: "access review overdue", Note: "campaign " + it.CampaignID})
		if err != nil {
			e.log.Warn("posture: review suspend failed", "identity_id", i.ID, "err", err)
			continue
		}
		actions = append(actions, "suspended "+i.ID+" (access review overdue)")
		touched = append(touched, i.ID)
	}
	return actions, touched, nil
}

func ptr[T any](v T) *T { return &v }
