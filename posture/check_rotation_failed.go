package posture

import (
	"context"
	"fmt"
	"slices"

	"github.com/steward-nhi/steward"
)

// RotationSource gives the credentials whose latest rotation failed and
// has not since succeeded (the store, when rotation is configured).
type RotationSource interface {
	FailedRotations(ctx context.Context, identityIDs []string) ([]*steward.Rotation, error)
}

// failedStep names the step a rotation failed in: the one after the last
// step it completed.
func failedStep(ro *steward.Rotation) string {
	if i := slices.Index(steward.RotationSteps, ro.Step); i+1 < len(steward.RotationSteps) {
		return steward.RotationSteps[i+1]
	}
	return ro.Step
}

// checkRotationFailed: the latest rotation of a credential in custody
// failed (the old secret is still in force, or — when the rollback failed
// too — the provider's state is uncertain) and no rotation has succeeded
// since. A later successful rotation resolves it.
var checkRotationFailed = Check{
	ID: "rotation.failed", Title: "Rotation failed; the old secret is still in force", OWASP: "NHI7", CSF: []string{"PR.AA-01", "DE.CM-09"},
	Eval: func(in *Input) []Result {
		if !in.live() || len(in.FailedRotations) == 0 {
			return nil
		}
		active := map[string]bool{}
		for _, c := range in.activeCredentials() {
			active[c.ID] = true
		}
		var out []Result
		for _, ro := range in.FailedRotations {
			if !active[ro.CredentialID] {
				continue
			}
			step := failedStep(ro)
			// A rotation that failed after the new secret was set and could
			// not put the old one back (status failed, not rolled back)
			// leaves the provider's state uncertain.
			inForce := !(ro.Status == steward.RotationFailed && ro.Step == steward.StepSet)
			r := Result{CredentialID: ro.CredentialID, Severity: tierSeverity(in.Identity.Sensitivity, 0),
				Evidence: map[string]any{"rotation": ro.ID, "rotator": ro.Rotator, "status": ro.Status, "failed_step": step, "error": ro.Error,
					"old_secret_in_force": inForce, "attempts": ro.Attempts, "started_at": rfc(&ro.StartedAt), "failed_at": rfc(ro.FinishedAt),
					"old_fingerprint": ro.OldFingerprint, "audit_seqs": slices.Clone(ro.Seqs)},
				Remediation: fmt.Sprintf("Fix what made the %s step fail (%s), then rotate again (steward rotation run %s); "+
					"a successful rotation resolves this finding.", step, ro.Error, ro.CredentialID)}
			if !inForce {
				r.Severity = tierSeverity(in.Identity.Sensitivity, 1)
				r.Title = "Rotation failed after the new secret was set and the old one could not be restored"
				r.Remediation = fmt.Sprintf("Check which secret the provider accepts for %s (steward rotation status %s), fix what made the %s step fail (%s), "+
					"then rotate again (steward rotation run %s); a successful rotation resolves this finding.", ro.CredentialID, ro.CredentialID, step, ro.Error, ro.CredentialID)
			}
			out = append(out, r)
		}
		return out
	},
}
