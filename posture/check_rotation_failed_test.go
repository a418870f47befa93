package posture

import (
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// failed gives the input a failed rotation of credential id after step.
func failed(id, status, step, cause string) func(*Input) {
	return func(x *Input) {
		started := now.Add(-time.Hour)
		done := started.Add(2 * time.Second)
		x.FailedRotations = append(x.FailedRotations, &steward.Rotation{ID: "rot_" + id, CredentialID: id, IdentityID: x.Identity.ID, Rotator: "pg",
			Status: status, Step: step, Error: cause, OldFingerprint: "fp-" + id, Attempts: 1, StartedAt: started, FinishedAt: &done, Seqs: []int64{41, 42}})
	}
}

func TestCheckRotationFailed(t *testing.T) {
	pw := withCreds(cred("crd_pw", steward.CredentialTypePassword))
	runCheck(t, checkRotationFailed, []checkCase{
		{"no failed rotation", in(pw), 0, "", ""},
		{"rotation not configured", in(pw, func(x *Input) { x.FailedRotations = nil }), 0, "", ""},
		{"a rotation that failed before any step names the create step", in(pw, failed("crd_pw", steward.RotationFailed, "", "connect: password authentication failed")),
			1, steward.SeverityMedium, "failed_step"},
		{"a rolled-back test names the test step and the error", in(pw, failed("crd_pw", steward.RotationRolledBack, steward.StepSet, "test of the new secret: refused")),
			1, "", "error"},
		{"a critical identity's failure is critical", in(pw, func(x *Input) { x.Identity.Sensitivity = steward.SensitivityCritical },
			failed("crd_pw", steward.RotationFailed, steward.StepCreate, "set at the provider: timeout")), 1, steward.SeverityCritical, "audit_seqs"},
		{"a failure that could not restore the old secret is one level worse", in(pw,
			failed("crd_pw", steward.RotationFailed, steward.StepSet, "test: refused; restoring the old secret also failed: reset")), 1, steward.SeverityHigh, "old_secret_in_force"},
		{"a revoked credential's old failure is moot", in(withCreds(cred("crd_pw", steward.CredentialTypePassword,
			func(c *steward.Credential) { c.Status = steward.CredentialRevoked })), failed("crd_pw", steward.RotationFailed, "", "x")), 0, "", ""},
		{"a revoked identity has nothing to rotate", in(pw, func(x *Input) { x.Identity.Status = steward.StatusRevoked },
			failed("crd_pw", steward.RotationFailed, "", "x")), 0, "", ""},
	})
	if got := failedStep(&steward.Rotation{Step: steward.StepTest}); got != steward.StepFinish {
		t.Errorf("after test the failing step is %q, want finish", got)
	}
}

// TestRotationFailedGolden pins what rotation.failed reports (title,
// severity, mapping, evidence, remediation): go test ./posture -run Golden
// -update rewrites it.
func TestRotationFailedGolden(t *testing.T) {
	pw := withCreds(cred("crd_pw", steward.CredentialTypePassword), cred("crd_tok", steward.CredentialTypePassword))
	subjects := []goldenSubject{
		{"wrong admin password", in(pw, failed("crd_pw", steward.RotationFailed, steward.StepCreate, `set at the provider: connect: FATAL: password authentication failed for user "steward_admin"`))},
		{"new secret refused, rolled back", in(pw, failed("crd_tok", steward.RotationRolledBack, steward.StepSet, "test of the new secret: refused"))},
		{"new secret refused and the old one not restored", in(pw, failed("crd_tok", steward.RotationFailed, steward.StepSet,
			"test of the new secret: refused; restoring the old secret also failed: connection reset"))},
	}
	findingsGolden(t, "rotation_failed.golden.json", []Check{checkRotationFailed}, subjects)
}
