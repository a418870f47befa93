package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestIdentityPageShowsCustodyRotationAndLeases: the identity page shows
// a secret in custody by version and fingerprint (never the secret), each
// rotation's state machine and proof, the identity's leases, and where
// each revocation took effect.
func TestIdentityPageShowsCustodyRotationAndLeases(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	ctx := context.Background()
	const secret = "pg-password-never-shown-0123456789"
	reg, err := e.caps.custody.Register(admin(), e.deployer.ID, custody.RegisterRequest{Type: steward.CredentialTypePassword, ExternalRef: "app_role", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now().UTC().Truncate(time.Microsecond)
	done := &steward.Rotation{ID: "rot_done", CredentialID: reg.ID, IdentityID: e.deployer.ID, Rotator: "pg", Status: steward.RotationSucceeded,
		Step: steward.StepFinish, OldVersion: 1, NewVersion: 2, OldFingerprint: steward.Fingerprint([]byte(secret)), NewFingerprint: steward.Fingerprint([]byte("next")),
		ProviderAnswer: "ALTER ROLE", TestResult: "new secret accepted by the provider", Proof: "old secret refused by the provider: SQLSTATE 28P01",
		Node: "n1", Actor: "token:ops", StartedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour), FinishedAt: &now}
	failed := &steward.Rotation{ID: "rot_failed", CredentialID: reg.ID, IdentityID: e.deployer.ID, Rotator: "pg", Status: steward.RotationRolledBack,
		Step: steward.StepSet, OldVersion: 1, NewVersion: 2, OldFingerprint: done.OldFingerprint, Error: "test of the new secret: refused",
		Node: "n1", Actor: "token:ops", StartedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour), FinishedAt: &now}
	lease := &steward.Lease{ID: "lse_dropped", IdentityID: e.deployer.ID, Rotator: "pg", Username: "v_deployer_1", Fingerprint: "ab", Status: steward.LeaseRevoked,
		CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(24 * time.Hour), RevokedAt: &now, RevokedWhere: steward.RevokedProvider, Actor: "token:ops"}
	err = e.store.UpdateRotations(ctx, func(tx steward.RotationTx) error {
		for _, ro := range []*steward.Rotation{done, failed} {
			if err := tx.CreateRotation(ctx, ro); err != nil {
				return err
			}
		}
		return tx.PutLease(ctx, lease)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Update(ctx, func(tx steward.Tx) error {
		return tx.CreateCredential(ctx, &steward.Credential{ID: "crd_aws", IdentityID: e.deployer.ID, Type: "aws_access_key", Hint: "AKIA…QQQ",
			Status: steward.CredentialActive, CreatedAt: now, Scopes: []string{}, Metadata: map[string]string{}})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.caps.broker.Revoke(admin(), "crd_aws", broker.RevokeRequest{Reason: "left the company"}); err != nil {
		t.Fatal(err)
	}
	key, err := e.caps.broker.Issue(admin(), e.deployer.ID, broker.IssueRequest{Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.caps.broker.Revoke(admin(), key.ID, broker.RevokeRequest{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	page := "/identities/" + e.deployer.ID
	e.checkVisits(t, []visit{
		{"an admin sees the secret's version and fingerprint, never the secret", steward.RoleAdmin, page, 200,
			[]string{`data-custody="` + reg.ID + `"`, `data-version="1"`, done.OldFingerprint[:12], "current version 1"}, []string{secret}},
		{"an admin sees each rotation's state machine and proof", steward.RoleAdmin, page, 200,
			[]string{`data-rotation="rot_done"`, `class="step-done" data-step="finish"`, "SQLSTATE 28P01", `data-rotation="rot_failed"`,
				`class="step-failed" data-step="test"`, "test of the new secret: refused"}, nil},
		{"an admin sees the leases and where each revocation took effect", steward.RoleAdmin, page, 200,
			[]string{`data-lease="lse_dropped"`, "v_deployer_1", "revoked at: inventory only", "revoked at: steward"}, nil},
		{"an auditor sees custody too, without the secret", steward.RoleAuditor, page, 200, []string{`data-rotation="rot_done"`, `data-lease="lse_dropped"`}, []string{secret}},
		{"the owner sees its own identity's custody and leases", steward.RoleOwner, page, 200, []string{`data-custody="` + reg.ID + `"`, `data-lease="lse_dropped"`}, []string{secret}},
		{"an identity without secrets in custody says so", steward.RoleAdmin, "/identities/" + e.bot.ID, 200, []string{"No secret in custody.", "No leases."}, nil},
	})
}
