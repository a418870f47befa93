package evidence_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/evidence"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestCollectCountsOnlyProvenRevocations: a pack built from a real store's
// audit chain lists each rotation performed at a provider with all its
// audit seqs, and counts as proven only what Steward enforces or the
// provider confirmed.
func TestCollectCountsOnlyProvenRevocations(t *testing.T) {
	ctx := context.Background()
	st := sqltest.SQLite(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := &steward.Principal{Actor: "token:ops", Role: steward.RoleAdmin}
	type ev struct {
		action, subjectType, subject, reason string
		after                                any
	}
	evs := []ev{
		{steward.ActionCredentialRevoke, steward.SubjectCredential, "crd_key", "manual", map[string]any{"fingerprint": "k1", "revoked_where": steward.RevokedSteward}},
		{steward.ActionCredentialRevoke, steward.SubjectCredential, "crd_aws", "manual", map[string]any{"fingerprint": "a1", "revoked_where": steward.RevokedInventoryOnly}},
		{steward.ActionRotationStart, steward.SubjectCredential, "crd_pg", "", map[string]any{"rotation": "rot_1", "old_fingerprint": "old"}},
		{steward.ActionRotationStep, steward.SubjectCredential, "crd_pg", "", map[string]any{"rotation": "rot_1", "step": "create"}},
		{steward.ActionRotationStep, steward.SubjectCredential, "crd_pg", "", map[string]any{"rotation": "rot_1", "step": "set"}},
		{steward.ActionRotationStep, steward.SubjectCredential, "crd_pg", "", map[string]any{"rotation": "rot_1", "step": "test"}},
		{steward.ActionCredentialRotate, steward.SubjectCredential, "crd_pg", "", map[string]any{"fingerprint": "new", "rotation": "rot_1"}},
		{steward.ActionRevocationProven, steward.SubjectCredential, "crd_pg", "", map[string]any{"fingerprint": "old", "where": "provider", "rotation": "rot_1", "proof": "old secret refused by the provider: 28P01"}},
		{steward.ActionSecretDestroy, steward.SubjectCredential, "crd_pg", "rotation rot_1 finished without overlap", map[string]any{"version": 1}},
		{steward.ActionRotationFinish, steward.SubjectCredential, "crd_pg", "", map[string]any{"rotation": "rot_1", "step": "finish", "old_fingerprint": "old", "new_fingerprint": "new",
			"test_result": "new secret accepted by the provider", "proof": "old secret refused by the provider: 28P01", "proven": true}},
		{steward.ActionRotationFinish, steward.SubjectCredential, "crd_pg", "dry run", map[string]any{"rotation": "rot_2", "dry_run": true}},
		{steward.ActionLeaseRevoke, steward.SubjectLease, "lse_1", "revoked", map[string]any{"username": "v_1", "fingerprint": "l1", "revoked_where": "provider", "revoke_error": "DROP ROLE"}},
		{steward.ActionLeaseRevoke, steward.SubjectLease, "lse_2", "creation failed", map[string]any{"username": "v_2", "revoked_where": "provider"}},
		{steward.ActionAccessTokenRevoke, steward.SubjectAccessToken, "jti_1", "", map[string]any{"jti": "jti_1", "revoked_where": "steward"}},
	}
	err := st.Update(ctx, func(tx steward.Tx) error {
		for n, e := range evs {
			if err := tx.AppendEvent(ctx, steward.NewEvent(t0.Add(time.Duration(n)*time.Second), p, e.action, e.subjectType, e.subject, "nhi_1", e.reason, nil, e.after)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := evidence.Collect(ctx, st, t0.Add(-time.Hour), t0.Add(time.Hour), t0.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the rotation performed at the provider is listed once, with every audit seq", func(t *testing.T) {
		if len(d.RotationsVerified) != 1 {
			t.Fatalf("rotations verified: %+v", d.RotationsVerified)
		}
		r := d.RotationsVerified[0]
		if r.RotationID != "rot_1" || r.OldFingerprint != "old" || r.NewFingerprint != "new" || !r.OldRefused || r.TestResult == "" {
			t.Errorf("row %+v", r)
		}
		if want := []int64{3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(r.Seqs, want) {
			t.Errorf("seqs %v, want %v", r.Seqs, want)
		}
	})
	t.Run("only Steward-enforced and provider-confirmed revocations are proven", func(t *testing.T) {
		var got []string
		for _, r := range d.RevocationsProven {
			got = append(got, r.SubjectID+"@"+r.Where)
		}
		want := []string{"crd_key@steward", "crd_pg@provider", "lse_1@provider", "jti_1@steward"}
		if !slices.Equal(got, want) {
			t.Errorf("proven %v, want %v", got, want)
		}
		if c := d.RevocationCounts; c != (evidence.RevocationCounts{Steward: 2, Provider: 2, InventoryOnly: 1}) {
			t.Errorf("counts %+v", c)
		}
	})
}
