package web

import (
	"context"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/rotation"
)

// RotationReader is the part of the rotation service the identity page
// shows: a credential's custody (its secret versions, never a secret), its
// rotations with their steps and proofs, and the identity's leases. Each
// read applies the caller's role (an owner sees its own identities only).
type RotationReader interface {
	Status(ctx context.Context, credentialID string) (*rotation.Status, error)
	History(ctx context.Context, credentialID string) (*rotation.History, error)
	ListLeases(ctx context.Context, identityID, status string) (*rotation.LeaseList, error)
}

// custodyRow is one credential in custody on the identity page.
type custodyRow struct {
	CredentialID string
	Rotator      string
	Current      int64
	Versions     []*steward.SecretVersion
	Rotations    []rotationRow
}

// rotationRow is one rotation with where its state machine stands.
type rotationRow struct {
	*steward.Rotation
	Steps []stepState
}

// stepState is one step of the create → set → test → finish machine.
type stepState struct {
	Name  string
	State string // done, failed, pending
}

// maxRotationsShown bounds the rotations listed per credential.
const maxRotationsShown = 5

func stepsOf(ro *steward.Rotation) []stepState {
	done := 0
	for n, s := range steward.RotationSteps {
		if s == ro.Step {
			done = n + 1
		}
	}
	out := make([]stepState, len(steward.RotationSteps))
	for n, s := range steward.RotationSteps {
		st := "pending"
		switch {
		case n < done:
			st = "done"
		case n == done && (ro.Status == steward.RotationFailed || ro.Status == steward.RotationRolledBack):
			st = "failed"
		}
		out[n] = stepState{Name: s, State: st}
	}
	return out
}

// custody fills the identity's secrets in custody, their rotations and
// the identity's leases, while rotation is wired.
func (c *Console) custody(v *View, d *identityData) {
	if c.cfg.Rotations == nil {
		return
	}
	ctx := v.Context()
	for _, cr := range d.Credentials {
		if cr.Type != steward.CredentialTypePassword {
			continue
		}
		st, err := c.cfg.Rotations.Status(ctx, cr.ID)
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			continue
		}
		if !c.optional(ctx, d, "custody", err) {
			return
		}
		row := custodyRow{CredentialID: cr.ID, Rotator: st.Custody.Rotator, Current: st.Custody.CurrentVersion, Versions: st.Custody.Versions}
		if h, err := c.cfg.Rotations.History(ctx, cr.ID); c.optional(ctx, d, "rotations", err) {
			for n, ro := range h.Items {
				if n == maxRotationsShown {
					break
				}
				row.Rotations = append(row.Rotations, rotationRow{Rotation: ro, Steps: stepsOf(ro)})
			}
		}
		d.Custody = append(d.Custody, row)
	}
	if ls, err := c.cfg.Rotations.ListLeases(ctx, d.I.ID, ""); c.optional(ctx, d, "leases", err) {
		d.Leases = ls.Items
	}
	d.HasRotation = true
}
