package posture

import (
	"time"

	"github.com/steward-nhi/steward"
)

// RotationDue returns when the identity is next due for rotation: its last
// rotation (or creation) plus the tier's rotation period.
func RotationDue(i *steward.Identity, tp steward.TierPolicy) (basis, due time.Time) {
	basis = i.CreatedAt
	if i.LastRotatedAt != nil {
		basis = *i.LastRotatedAt
	}
	return basis, basis.Add(time.Duration(tp.RotationPeriod))
}

// needsRotation reports whether the identity holds a stored secret (not
// only federated or per-use credentials).
func (in *Input) needsRotation() bool {
	if len(in.Credentials) == 0 {
		return true
	}
	for _, c := range in.activeCredentials() {
		if !shortLived(c.Type) {
			return true
		}
	}
	return false
}

// checkRotationOverdue: not rotated within the tier's rotation period.
var checkRotationOverdue = Check{
	ID: "rotation.overdue", Title: "Rotation overdue for the tier", OWASP: "NHI7", CSF: []string{"PR.AA-01"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if (i.Status != steward.StatusActive && i.Status != steward.StatusSuspended) || in.Tier.RotationPeriod <= 0 || !in.needsRotation() {
			return nil
		}
		basis, due := RotationDue(i, in.Tier)
		if !in.Now.After(due) {
			return nil
		}
		bump := 0
		if in.Now.Sub(due) > time.Duration(in.Tier.RotationPeriod) {
			bump = 1
		}
		return []Result{{Severity: tierSeverity(i.Sensitivity, bump-1),
			Evidence: map[string]any{"last_rotated_at": rfc(&basis), "due_at": rfc(&due), "days_overdue": days(in.Now.Sub(due)),
				"rotation_period": in.Tier.RotationPeriod.String()},
			Remediation: "Rotate the credential (issue a new one, move consumers, revoke the old one) and record the rotation."}}
	},
}
