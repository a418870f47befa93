package posture

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

func (e *Engine) scheduleScope(ctx context.Context, f *steward.ScheduleFilter) error {
	if _, err := steward.AuthorizeOwnRead(ctx, &f.OwnerID, ""); err != nil {
		return err
	}
	if f.Days < 0 || f.Days > 3650 {
		return steward.FieldError("days", "must be between 0 and 3650")
	}
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	return nil
}

func match(f *steward.ScheduleFilter, i *steward.Identity) bool {
	return (f.OwnerID == "" || i.OwnerID == f.OwnerID) && (f.Team == "" || i.Team == f.Team)
}

// RotationSchedule lists identities due or overdue for rotation per their
// tier's rotation period, soonest first.
func (e *Engine) RotationSchedule(ctx context.Context, f steward.ScheduleFilter) ([]*steward.ScheduleItem, error) {
	return e.schedule(ctx, f, func(f *steward.ScheduleFilter, now, horizon time.Time, is []*steward.Identity, creds map[string][]*steward.Credential, out *[]*steward.ScheduleItem) {
		for _, i := range is {
			if (i.Status != steward.StatusActive && i.Status != steward.StatusSuspended) || !match(f, i) {
				continue
			}
			in := &Input{PostureSubject: &steward.PostureSubject{Identity: i, Credentials: creds[i.ID]}, Now: now}
			if !in.needsRotation() {
				continue
			}
			tp := e.o.Policy[i.Sensitivity]
			basis, due := RotationDue(i, tp)
			if due.After(horizon) {
				continue
			}
			state := "due"
			if now.After(due) {
				state = "overdue"
			}
			*out = append(*out, &steward.ScheduleItem{IdentityID: i.ID, IdentityName: i.Name, OwnerID: i.OwnerID, Team: i.Team, Sensitivity: i.Sensitivity,
				Basis: &basis, DueAt: due, State: state, DaysLeft: daysLeft(now, due)})
		}
	})
}

// Expiring lists identities and credentials expiring within days (and
// those already past their expiry while still active).
func (e *Engine) Expiring(ctx context.Context, f steward.ScheduleFilter) ([]*steward.ScheduleItem, error) {
	return e.schedule(ctx, f, func(f *steward.ScheduleFilter, now, horizon time.Time, is []*steward.Identity, creds map[string][]*steward.Credential, out *[]*steward.ScheduleItem) {
		add := func(i *steward.Identity, credID string, exp time.Time) {
			state := "expiring"
			if !exp.After(now) {
				state = "expired"
			}
			*out = append(*out, &steward.ScheduleItem{IdentityID: i.ID, IdentityName: i.Name, CredentialID: credID, OwnerID: i.OwnerID, Team: i.Team,
				Sensitivity: i.Sensitivity, DueAt: exp, State: state, DaysLeft: daysLeft(now, exp)})
		}
		for _, i := range is {
			if i.Status != steward.StatusActive || !match(f, i) {
				continue
			}
			if i.ExpiresAt != nil && !i.ExpiresAt.After(horizon) {
				add(i, "", *i.ExpiresAt)
			}
			for _, c := range creds[i.ID] {
				if c.Status == steward.CredentialActive && c.ExpiresAt != nil && !c.ExpiresAt.After(horizon) {
					add(i, c.ID, *c.ExpiresAt)
				}
			}
		}
	})
}

// schedule scopes f (30 days by default), then hands each batch of
// subjects to collect with the scoped filter, the time now and the horizon
// f.Days ahead, and
// returns what collect gathered, soonest first.
func (e *Engine) schedule(ctx context.Context, f steward.ScheduleFilter, collect func(f *steward.ScheduleFilter, now, horizon time.Time, is []*steward.Identity, creds map[string][]*steward.Credential, out *[]*steward.ScheduleItem)) ([]*steward.ScheduleItem, error) {
	if f.Days == 0 {
		f.Days = 30
	}
	if err := e.scheduleScope(ctx, &f); err != nil {
		return nil, err
	}
	now := e.o.Clock.Now()
	horizon := now.Add(time.Duration(f.Days) * 24 * time.Hour)
	var out []*steward.ScheduleItem
	err := e.o.Store.ScanSubjects(ctx, nil, 5000, func(is []*steward.Identity, creds map[string][]*steward.Credential) error {
		collect(&f, now, horizon, is, creds, &out)
		return nil
	})
	return limitSort(out, f.Limit), err
}

func daysLeft(now, t time.Time) int {
	d := t.Sub(now)
	if d < 0 {
		return -int((-d + 24*time.Hour - 1) / (24 * time.Hour))
	}
	return int(d / (24 * time.Hour))
}

func limitSort(items []*steward.ScheduleItem, limit int) []*steward.ScheduleItem {
	slices.SortFunc(items, func(a, b *steward.ScheduleItem) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return strings.Compare(a.IdentityID+a.CredentialID, b.IdentityID+b.CredentialID)
	})
	if items == nil {
		items = []*steward.ScheduleItem{}
	}
	if len(items) > limit {
		items = items[:limit]
	}
	return items
}
