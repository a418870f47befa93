package posture

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

// Offboard runs the departure of an owner: it lists every identity the
// owner held, opens their NHI1 findings, notifies the manager and backup,
// sets the reassignment deadline (after which the identities are
// suspended when the policy says so) and, when configured, rotates the
// credentials the person could have seen. It is idempotent.
func (e *Engine) Offboard(ctx context.Context, ownerID, source string) (*steward.Offboarding, error) {
	if ob, err := e.o.Store.GetOffboarding(ctx, ownerID); err == nil {
		return ob, nil
	} else if steward.ErrorCode(err) != steward.ENOTFOUND {
		return nil, err
	}
	o, err := e.o.Store.GetOwner(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	if o.Status != steward.OwnerDeparted {
		return nil, steward.Errorf(steward.ECONFLICT, "owner %s has not departed", ownerID)
	}
	owned, err := e.ownedIdentities(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	now := e.o.Clock.Now()
	ob := &steward.Offboarding{OwnerID: ownerID, Source: source, StartedAt: now, Deadline: now.Add(e.o.Offboarding.ReassignWithin),
		Identities: []string{}, Notified: []string{}, Suspended: []string{}, Rotated: []string{}}
	for _, i := range owned {
		ob.Identities = append(ob.Identities, i.ID)
	}
	if _, err := e.Evaluate(ctx, ob.Identities); err != nil {
		return nil, err
	}
	for _, id := range []string{o.ManagerID, o.BackupOwnerID} {
		if id != "" && !contains(ob.Notified, id) {
			ob.Notified = append(ob.Notified, id)
		}
	}
	if e.o.Notifier != nil && len(ob.Notified) > 0 && len(owned) > 0 {
		n := ownerNote{kind: "offboarding", severity: "high", owners: ob.Notified,
			title: fmt.Sprintf("%s has left: %d identities need a new owner", o.Name, len(owned)),
			body: fmt.Sprintf("%s (%s) departed. Reassign their %d non-human identities before %s or they will be suspended.",
				o.Name, o.Email, len(owned), ob.Deadline.Format(time.RFC3339)),
			data: map[string]any{"owner_id": o.ID, "identities": ob.Identities, "deadline": ob.Deadline}}
		if err := e.notifyOwners(ctx, n); err != nil {
			e.log.Warn("posture: offboarding notification failed", "owner_id", o.ID, "err", err)
		} else {
			ob.NotifiedAt = &now
		}
	}
	if e.o.Offboarding.Rotate {
		for _, i := range owned {
			if e.o.Rotator == nil {
				e.log.Warn("posture: offboarding asks for rotation but no rotator is configured", "identity_id", i.ID)
				break
			}
			if err := e.o.Rotator.RotateIdentity(system(ctx), i.ID, "owner departed: rotate what they could see"); err != nil {
				e.log.Warn("posture: rotation failed", "identity_id", i.ID, "err", err)
				continue
			}
			ob.Rotated = append(ob.Rotated, i.ID)
		}
	}
	if len(owned) == 0 {
		ob.CompletedAt = &now
	}
	err = e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		if err := tx.SaveOffboarding(ctx, ob); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, e.event(steward.SystemPrincipal("posture"), steward.ActionOffboardingStart, steward.SubjectOwner, ownerID, "",
			"owner departed ("+source+")", nil, ob))
	})
	if err != nil {
		return nil, err
	}
	if e.o.Offboarding.ReassignWithin <= 0 {
		_, _, err = e.enforceOffboarding(ctx)
	}
	return ob, err
}

// enforceOffboarding suspends identities still held by departed owners
// whose reassignment deadline passed.
func (e *Engine) enforceOffboarding(ctx context.Context) ([]string, []string, error) {
	obs, err := e.o.Store.ListOffboardings(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	now := e.o.Clock.Now()
	var actions, touched []string
	for _, ob := range obs {
		if now.Before(ob.Deadline) {
			continue
		}
		owned, err := e.ownedIdentities(ctx, ob.OwnerID)
		if err != nil {
			return actions, touched, err
		}
		for _, i := range owned {
			if i.Status != steward.StatusActive || !e.o.Offboarding.Suspend {
				continue
			}
			_, err := e.o.Inventory.TransitionIdentity(system(ctx), i.ID, steward.TransitionSuspend,
				steward.TransitionRequest{Reason: string(steward.ReasonOwnerDeparted), Note: "not reassigned before " + ob.Deadline.Format(time.RFC3339)})
			if err != nil {
				e.log.Warn("posture: offboarding suspend failed", "identity_id", i.ID, "err", err)
				continue
			}
			ob.Suspended = append(ob.Suspended, i.ID)
			touched = append(touched, i.ID)
			actions = append(actions, "suspended "+i.ID+" (owner departed, not reassigned)")
		}
		ob.CompletedAt = &now
		if err := e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error { return tx.SaveOffboarding(ctx, ob) }); err != nil {
			return actions, touched, err
		}
	}
	return actions, touched, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
