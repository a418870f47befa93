package posture

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/evidence"
	"github.com/steward-nhi/steward/internal/ids"
)

func (e *Engine) event(p *steward.Principal, action, subjectType, subjectID, identityID, reason string, before, after any) *steward.Event {
	return steward.NewEvent(e.o.Clock.Now(), p, action, subjectType, subjectID, identityID, reason, before, after)
}

// ListFindings returns a page of findings; owner-role callers see their own.
// FindingMatrix counts the unresolved findings of the whole estate by
// OWASP NHI Top 10 id (without its edition, "NHI7:2025" counts as "NHI7")
// and severity. Staff only: owners see their own findings through
// ListFindings.
func (e *Engine) FindingMatrix(ctx context.Context) (map[string]map[steward.Severity]int, error) {
	if _, err := steward.AuthorizeStaff(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	m, err := e.o.Store.FindingMatrix(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]map[steward.Severity]int{}
	for k, bySev := range m {
		if i := strings.Index(k, ":"); i > 0 {
			k = k[:i]
		}
		if out[k] == nil {
			out[k] = map[steward.Severity]int{}
		}
		for sev, n := range bySev {
			out[k][sev] += n
		}
	}
	return out, nil
}

func (e *Engine) ListFindings(ctx context.Context, f steward.FindingFilter) (*steward.Page[*steward.Finding], error) {
	if _, err := steward.AuthorizeOwnRead(ctx, &f.OwnerID, "findings"); err != nil {
		return nil, err
	}
	return e.o.Store.ListFindings(ctx, f)
}

// GetFinding returns one finding.
func (e *Engine) GetFinding(ctx context.Context, id string) (*steward.Finding, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	f, err := e.o.Store.GetFinding(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner && f.OwnerID != p.OwnerID {
		return nil, steward.Errorf(steward.EFORBIDDEN, "finding %s is not about an identity owner %s owns", id, p.OwnerID)
	}
	return f, nil
}

// changeFinding applies fn to a finding and records the change as an event.
func (e *Engine) changeFinding(ctx context.Context, p *steward.Principal, id, action, reason string, fn func(tx steward.PostureTx, f *steward.Finding, now time.Time) error) (*steward.Finding, error) {
	var out *steward.Finding
	err := e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		f, err := tx.GetFinding(ctx, id)
		if err != nil {
			return err
		}
		if p.Role == steward.RoleOwner && f.OwnerID != p.OwnerID {
			return steward.Errorf(steward.EFORBIDDEN, "finding %s is not about an identity owner %s owns", id, p.OwnerID)
		}
		before := *f
		now := e.o.Clock.Now()
		if err := fn(tx, f, now); err != nil {
			return err
		}
		f.UpdatedAt = now
		if err := tx.WriteFindings(ctx, []steward.FindingWrite{{Finding: f}}); err != nil {
			return err
		}
		out = f
		return tx.AppendEvent(ctx, e.event(p, action, steward.SubjectFinding, f.ID, f.IdentityID, reason, findingSummary(&before), findingSummary(f)))
	})
	return out, err
}

func findingSummary(f *steward.Finding) map[string]any {
	m := map[string]any{"id": f.ID, "check": f.Check, "status": f.Status, "severity": f.Severity, "owasp": f.OWASP}
	if f.Waiver != nil {
		m["waiver"] = f.Waiver
	}
	return m
}

// AcknowledgeFinding marks an open finding acknowledged.
func (e *Engine) AcknowledgeFinding(ctx context.Context, id, note string) (*steward.Finding, error) {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	return e.changeFinding(ctx, p, id, steward.ActionFindingAcknowledge, strings.TrimSpace(note), func(_ steward.PostureTx, f *steward.Finding, now time.Time) error {
		if f.Status != steward.FindingOpen {
			return steward.Errorf(steward.ECONFLICT, "finding %s is %s; only an open finding can be acknowledged", f.ID, f.Status)
		}
		f.Status, f.AcknowledgedAt, f.AcknowledgedBy = steward.FindingAcknowledged, &now, p.Actor
		return nil
	})
}

// WaiveFinding records a time-bound exception for a finding.
func (e *Engine) WaiveFinding(ctx context.Context, id string, w steward.WaiverRequest) (*steward.Finding, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if err := w.Validate(e.o.Clock.Now()); err != nil {
		return nil, err
	}
	return e.changeFinding(ctx, p, id, steward.ActionFindingWaive, w.Reason, func(tx steward.PostureTx, f *steward.Finding, now time.Time) error {
		if f.Status == steward.FindingResolved {
			return steward.Errorf(steward.ECONFLICT, "finding %s is resolved; nothing to waive", f.ID)
		}
		if f.Waiver != nil && f.Waiver.EndedAt == nil {
			f.Waiver.EndedAt, f.Waiver.EndReason = &now, "replaced"
			if err := tx.UpdateWaiver(ctx, f.Waiver); err != nil {
				return err
			}
		}
		wv := &steward.Waiver{ID: ids.New("wvr_", now), FindingID: f.ID, Reason: w.Reason, Approver: w.Approver, Until: w.Until, CreatedAt: now, CreatedBy: p.Actor}
		if err := tx.CreateWaiver(ctx, wv); err != nil {
			return err
		}
		f.Status, f.Waiver = steward.FindingWaived, wv
		return nil
	})
}

// ReopenFinding ends a waiver or acknowledgement and opens the finding.
func (e *Engine) ReopenFinding(ctx context.Context, id, reason string) (*steward.Finding, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	return e.changeFinding(ctx, p, id, steward.ActionFindingReopen, strings.TrimSpace(reason), func(tx steward.PostureTx, f *steward.Finding, now time.Time) error {
		if f.Status == steward.FindingOpen {
			return steward.Errorf(steward.ECONFLICT, "finding %s is already open", f.ID)
		}
		if f.Waiver != nil && f.Waiver.EndedAt == nil {
			f.Waiver.EndedAt, f.Waiver.EndReason = &now, "reopened"
			if err := tx.UpdateWaiver(ctx, f.Waiver); err != nil {
				return err
			}
		}
		f.Status, f.Waiver, f.ReopenedAt, f.AcknowledgedAt, f.AcknowledgedBy = steward.FindingOpen, nil, &now, nil, ""
		f.ResolvedAt, f.ResolvedBy, f.ResolvedSeq = nil, "", 0
		return nil
	})
}

// RunNow evaluates the whole inventory and runs the sweeps.
func (e *Engine) RunNow(ctx context.Context) (*steward.PostureRun, error) {
	if _, err := steward.AuthorizeStaff(ctx, steward.PermWrite); err != nil {
		return nil, err
	}
	return e.FullRun(ctx)
}

// FullRun evaluates everything, then enforces (dormancy, offboarding
// deadlines, overdue reviews) and re-evaluates what enforcement changed.
func (e *Engine) FullRun(ctx context.Context) (*steward.PostureRun, error) {
	run, err := e.Evaluate(ctx, nil)
	if err != nil {
		return nil, err
	}
	actions, touched, err := e.sweep(ctx)
	if err != nil {
		return run, err
	}
	run.Actions = actions
	if len(touched) > 0 {
		if _, err := e.Evaluate(ctx, touched); err != nil {
			return run, err
		}
	}
	return run, nil
}

// EvidencePack builds the audit evidence pack for [from, to).
func (e *Engine) EvidencePack(ctx context.Context, from, to time.Time) ([]steward.EvidenceFile, error) {
	if _, err := steward.AuthorizeStaff(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, steward.FieldError("from", "must be before to")
	}
	d, err := evidence.Collect(ctx, e.o.Store, from, to, e.o.Clock.Now(), nil)
	if err != nil {
		return nil, err
	}
	return evidence.Render(d, e.o.Signer)
}

// CheckSCIMToken compares a bearer token with the SCIM token in constant
// time; no token is configured → false.
func (e *Engine) CheckSCIMToken(token string) bool { return secretEqual(e.o.SCIMToken, token) }

// CheckOktaSecret compares the Okta event hook's authorization header.
func (e *Engine) CheckOktaSecret(secret string) bool { return secretEqual(e.o.OktaSecret, secret) }

func secretEqual(want, got string) bool {
	if want == "" || got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// DepartByRef marks the owner matched by email, external reference or id
// departed (if not already) and runs offboarding; source names the
// trigger (scim, okta, api).
func (e *Engine) DepartByRef(ctx context.Context, source, ref, reason string) (*steward.Offboarding, error) {
	o, err := e.o.Store.FindOwnerByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	sctx := steward.WithPrincipal(ctx, steward.SystemPrincipal(source))
	if o.Status == steward.OwnerActive {
		if reason == "" {
			reason = "deprovisioned by " + source
		}
		if _, err := e.o.Inventory.DepartOwner(sctx, o.ID, reason); err != nil && steward.ErrorCode(err) != steward.ECONFLICT {
			return nil, err
		}
	}
	return e.Offboard(ctx, o.ID, source)
}

// LookupOwner finds an owner by email, external reference or id (SCIM).
func (e *Engine) LookupOwner(ctx context.Context, ref string) (*steward.Owner, error) {
	return e.o.Store.FindOwnerByRef(ctx, ref)
}

// ownedIdentities lists the live identities of an owner.
func (e *Engine) ownedIdentities(ctx context.Context, ownerID string) ([]*steward.Identity, error) {
	var out []*steward.Identity
	f := steward.IdentityFilter{OwnerID: ownerID, Limit: steward.MaxLimit}
	for {
		p, err := e.o.Store.ListIdentities(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, i := range p.Items {
			if i.Status != steward.StatusRevoked {
				out = append(out, i)
			}
		}
		if p.NextCursor == "" {
			return out, nil
		}
		f.Cursor = p.NextCursor
	}
}

// Reassign moves identities of one owner to an active new owner, each
// change through the inventory service, and records the move.
func (e *Engine) Reassign(ctx context.Context, fromOwnerID string, r steward.ReassignRequest) (*steward.ReassignResult, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(r.NewOwnerID) == "" {
		return nil, steward.FieldError("new_owner_id", "is required")
	}
	if r.NewOwnerID == fromOwnerID {
		return nil, steward.FieldError("new_owner_id", "is the same owner")
	}
	if _, err := e.o.Store.GetOwner(ctx, fromOwnerID); err != nil {
		return nil, err
	}
	to, err := e.o.Store.GetOwner(ctx, r.NewOwnerID)
	if steward.ErrorCode(err) == steward.ENOTFOUND {
		return nil, steward.FieldError("new_owner_id", "owner %q does not exist", r.NewOwnerID)
	} else if err != nil {
		return nil, err
	}
	if to.Status != steward.OwnerActive {
		return nil, steward.FieldError("new_owner_id", "owner %q has departed; choose an active owner", r.NewOwnerID)
	}
	owned, err := e.ownedIdentities(ctx, fromOwnerID)
	if err != nil {
		return nil, err
	}
	if len(r.IdentityIDs) > 0 {
		want := map[string]bool{}
		for _, id := range r.IdentityIDs {
			want[id] = true
		}
		owned = slices.DeleteFunc(owned, func(i *steward.Identity) bool { return !want[i.ID] })
		if len(owned) != len(want) {
			return nil, steward.FieldError("identity_ids", "lists identities that owner %s does not own", fromOwnerID)
		}
	}
	reason := strings.TrimSpace(r.Reason)
	if reason == "" {
		reason = "reassigned from " + fromOwnerID
	}
	res := &steward.ReassignResult{FromOwnerID: fromOwnerID, ToOwnerID: to.ID, Moved: []string{}}
	actx := steward.WithPrincipal(ctx, &steward.Principal{Actor: p.Actor, Role: steward.RoleAdmin, TokenID: p.TokenID, Delegation: p.Delegation})
	for _, i := range owned {
		if _, err := e.o.Inventory.UpdateIdentity(actx, i.ID, steward.IdentityPatch{OwnerID: steward.Some(to.ID), Reason: reason}); err != nil {
			return res, fmt.Errorf("reassign %s: %w", i.ID, err)
		}
		res.Moved = append(res.Moved, i.ID)
	}
	err = e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		if ob, err := tx.GetOffboarding(ctx, fromOwnerID); err == nil && ob.CompletedAt == nil {
			left, err := tx.ListIdentities(ctx, steward.IdentityFilter{OwnerID: fromOwnerID, Status: steward.StatusActive, Limit: 1})
			if err != nil {
				return err
			}
			if len(left.Items) == 0 {
				now := e.o.Clock.Now()
				ob.CompletedAt = &now
				if err := tx.SaveOffboarding(ctx, ob); err != nil {
					return err
				}
			}
		}
		return tx.AppendEvent(ctx, e.event(p, steward.ActionOwnerReassign, steward.SubjectOwner, fromOwnerID, "", reason, nil, res))
	})
	if err != nil {
		return res, err
	}
	_, err = e.Evaluate(ctx, res.Moved)
	return res, err
}

// Owners lists every owner, for SCIM, which filters and pages them in
// memory (people are thousands, not millions).
func (e *Engine) Owners(ctx context.Context) ([]*steward.Owner, error) {
	return allPages(func(cursor string) (*steward.Page[*steward.Owner], error) {
		return e.o.Store.ListOwners(ctx, steward.OwnerFilter{Limit: steward.MaxLimit, Cursor: cursor})
	})
}

// allPages reads every page of a keyset listing.
func allPages[T any](page func(cursor string) (*steward.Page[T], error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		p, err := page(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out, nil
		}
		cursor = p.NextCursor
	}
}

// ProvisionOwner creates an owner on behalf of a provisioning source
// (scim), recorded with that source as the actor.
func (e *Engine) ProvisionOwner(ctx context.Context, source string, o *steward.Owner) (*steward.Owner, error) {
	return e.o.Inventory.CreateOwner(steward.WithPrincipal(ctx, steward.SystemPrincipal(source)), o)
}

// UpdateOwnerByRef applies a patch to the owner matched by email,
// external reference or id on behalf of a provisioning source.
func (e *Engine) UpdateOwnerByRef(ctx context.Context, source, ref string, p steward.OwnerPatch) (*steward.Owner, error) {
	o, err := e.o.Store.FindOwnerByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	return e.o.Inventory.UpdateOwner(steward.WithPrincipal(ctx, steward.SystemPrincipal(source)), o.ID, p)
}
