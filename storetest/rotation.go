package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// RunRotation runs the suite of custody and rotation: secret versions,
// one running rotation per credential, leases due for expiry.
func RunRotation[S steward.RotationStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) steward.RotationStore { return open(t) }, []test[steward.RotationStore]{
		{"secret versions round-trip and retire when due", testSecretVersions},
		{"a credential has at most one running rotation", testOneRunningRotation},
		{"leases are due once expired and active", testLeasesDue},
		{"rotators round-trip and names are unique", testRotators},
		{"a credential's latest failed rotation is reported until one succeeds", testFailedRotations},
	})
}

func custodyCredential(t *testing.T, s steward.RotationStore) *steward.Credential {
	t.Helper()
	ctx := context.Background()
	i := newIdentity("db-app", nil)
	createIdentities(t, s, i)
	c := &steward.Credential{ID: ids.New(ids.Credential, base), IdentityID: i.ID, Type: steward.CredentialTypePassword, ExternalRef: "app",
		Fingerprint: steward.Fingerprint([]byte("v1")), Status: steward.CredentialActive, CreatedAt: base}
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.CreateCredential(ctx, c) })
	return c
}

func testSecretVersions(t *testing.T, s steward.RotationStore) {
	ctx := context.Background()
	c := custodyCredential(t, s)
	v1 := &steward.SecretVersion{CredentialID: c.ID, IdentityID: c.IdentityID, Version: 1, Sealed: "sb1:one", Fingerprint: c.Fingerprint,
		State: steward.SecretPrevious, CreatedAt: base, RetireAt: tptr(base.Add(time.Hour))}
	v2 := &steward.SecretVersion{CredentialID: c.ID, IdentityID: c.IdentityID, Version: 2, Sealed: "sb1:two", Fingerprint: steward.Fingerprint([]byte("v2")),
		State: steward.SecretCurrent, CreatedAt: base.Add(time.Minute)}
	err := s.UpdateCustody(ctx, func(tx steward.CustodyTx) error {
		if err := tx.PutCustodySecret(ctx, &steward.CustodySecret{CredentialID: c.ID, IdentityID: c.IdentityID, Rotator: "pg", CurrentVersion: 2, UpdatedAt: base}); err != nil {
			return err
		}
		if err := tx.PutSecretVersion(ctx, v1); err != nil {
			return err
		}
		return tx.PutSecretVersion(ctx, v2)
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.GetCustodySecret(ctx, c.ID)
	if err != nil || cs.CurrentVersion != 2 || cs.Rotator != "pg" {
		t.Fatalf("custody secret: %+v %v", cs, err)
	}
	vs, err := s.ListSecretVersions(ctx, c.ID)
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[1].Sealed != "sb1:one" || vs[1].RetireAt == nil || !vs[1].RetireAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	if due, _ := s.ListSecretVersionsDue(ctx, base.Add(time.Minute), 10); len(due) != 0 {
		t.Fatalf("nothing is due before the overlap ends: %+v", due)
	}
	due, err := s.ListSecretVersionsDue(ctx, base.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].Version != 1 {
		t.Fatalf("due: %+v %v", due, err)
	}
	v1.Sealed, v1.State, v1.DestroyedAt = "", steward.SecretDestroyed, tptr(base.Add(time.Hour))
	if err := s.UpdateCustody(ctx, func(tx steward.CustodyTx) error { return tx.PutSecretVersion(ctx, v1) }); err != nil {
		t.Fatal(err)
	}
	vs, _ = s.ListSecretVersions(ctx, c.ID)
	if vs[1].Sealed != "" || vs[1].State != steward.SecretDestroyed {
		t.Fatalf("destroyed version keeps ciphertext: %+v", vs[1])
	}
	_, err = s.GetCustodySecret(ctx, "crd_missing")
	wantCode(t, err, steward.ENOTFOUND)
}

func testOneRunningRotation(t *testing.T, s steward.RotationStore) {
	ctx := context.Background()
	c := custodyCredential(t, s)
	first := &steward.Rotation{ID: "rot_1", CredentialID: c.ID, IdentityID: c.IdentityID, Rotator: "pg", Status: steward.RotationRunning, StartedAt: base, Node: "a"}
	second := &steward.Rotation{ID: "rot_2", CredentialID: c.ID, IdentityID: c.IdentityID, Rotator: "pg", Status: steward.RotationRunning, StartedAt: base, Node: "b"}
	if err := s.UpdateRotations(ctx, func(tx steward.RotationTx) error { return tx.CreateRotation(ctx, first) }); err != nil {
		t.Fatal(err)
	}
	err := s.UpdateRotations(ctx, func(tx steward.RotationTx) error { return tx.CreateRotation(ctx, second) })
	wantCode(t, err, steward.ECONFLICT)
	first.Status, first.Step = steward.RotationSucceeded, steward.StepFinish
	if err := s.UpdateRotations(ctx, func(tx steward.RotationTx) error { return tx.UpdateRotation(ctx, first) }); err != nil {
		t.Fatal(err)
	}
	second.StartedAt = base.Add(time.Minute)
	if err := s.UpdateRotations(ctx, func(tx steward.RotationTx) error { return tx.CreateRotation(ctx, second) }); err != nil {
		t.Fatalf("a new rotation after the first finished: %v", err)
	}
	list, err := s.ListRotations(ctx, c.ID, "", 10)
	if err != nil || len(list) != 2 || list[0].ID != "rot_2" || list[1].Step != steward.StepFinish {
		t.Fatalf("list: %+v %v", list, err)
	}
	running, _ := s.ListRotations(ctx, "", steward.RotationRunning, 10)
	if len(running) != 1 || running[0].ID != "rot_2" {
		t.Fatalf("running: %+v", running)
	}
}

func testLeasesDue(t *testing.T, s steward.RotationStore) {
	ctx := context.Background()
	put := func(l *steward.Lease) {
		t.Helper()
		if err := s.UpdateRotations(ctx, func(tx steward.RotationTx) error { return tx.PutLease(ctx, l) }); err != nil {
			t.Fatal(err)
		}
	}
	put(&steward.Lease{ID: "lse_1", IdentityID: "nhi_a", Rotator: "pg", Username: "u1", Status: steward.LeaseActive, CreatedAt: base, ExpiresAt: base.Add(time.Minute)})
	put(&steward.Lease{ID: "lse_2", IdentityID: "nhi_a", Rotator: "pg", Username: "u2", Status: steward.LeaseActive, CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
	put(&steward.Lease{ID: "lse_3", IdentityID: "nhi_b", Rotator: "pg", Username: "u3", Status: steward.LeaseRevoked, CreatedAt: base, ExpiresAt: base})
	due, err := s.ListLeasesDue(ctx, base.Add(2*time.Minute), 10)
	if err != nil || len(due) != 1 || due[0].ID != "lse_1" {
		t.Fatalf("due: %+v %v", due, err)
	}
	mine, err := s.ListLeases(ctx, "nhi_a", "", 10)
	if err != nil || len(mine) != 2 || mine[0].ID != "lse_2" {
		t.Fatalf("by identity: %+v %v", mine, err)
	}
	got, err := s.GetLease(ctx, "lse_3")
	if err != nil || got.Username != "u3" || got.Status != steward.LeaseRevoked {
		t.Fatalf("get: %+v %v", got, err)
	}
}

func testRotators(t *testing.T, s steward.RotationStore) {
	ctx := context.Background()
	r := &steward.Rotator{Name: "pg", Kind: "postgres", Config: map[string]string{"url": "postgres://admin@db/app"}, AdminCredentialID: "crd_x", CreatedAt: base}
	if err := s.UpdateRotations(ctx, func(tx steward.RotationTx) error { return tx.CreateRotator(ctx, r) }); err != nil {
		t.Fatal(err)
	}
	err := s.UpdateRotations(ctx, func(tx steward.RotationTx) error { return tx.CreateRotator(ctx, r) })
	wantCode(t, err, steward.ECONFLICT)
	got, err := s.GetRotator(ctx, "pg")
	if err != nil || got.Config["url"] != r.Config["url"] || got.AdminCredentialID != "crd_x" {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, err = s.GetRotator(ctx, "nope")
	wantCode(t, err, steward.ENOTFOUND)
}

func testFailedRotations(t *testing.T, s steward.RotationStore) {
	ctx := context.Background()
	a, b := custodyCredential(t, s), custodyCredential(t, s)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	put := func(id string, c *steward.Credential, status string, dry bool, m int) {
		t.Helper()
		ro := &steward.Rotation{ID: id, CredentialID: c.ID, IdentityID: c.IdentityID, Rotator: "pg", Status: status, DryRun: dry, StartedAt: at(m), Node: "a"}
		if err := s.UpdateRotations(ctx, func(tx steward.RotationTx) error { return tx.CreateRotation(ctx, ro) }); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(rs []*steward.Rotation) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	check := func(scope []string, want ...string) {
		t.Helper()
		got, err := s.FailedRotations(ctx, scope)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := strings.Join(ids(got), ","), strings.Join(want, ","); g != w {
			t.Fatalf("failed rotations of %v: %s, want %s", scope, g, w)
		}
	}
	put("rot_a1", a, steward.RotationFailed, false, 1)
	put("rot_a2", a, steward.RotationRolledBack, false, 2)
	put("rot_a3", a, steward.RotationSucceeded, true, 3) // a dry run resolves nothing
	put("rot_b1", b, steward.RotationFailed, false, 1)
	put("rot_b2", b, steward.RotationSucceeded, false, 2)
	put("rot_b3", b, steward.RotationFailed, true, 3) // nor does it fail anything
	want := []string{"rot_a2"}
	check(nil, want...)
	check([]string{a.IdentityID, b.IdentityID}, want...)
	check([]string{b.IdentityID})
	check([]string{})
	put("rot_a4", a, steward.RotationSucceeded, false, 4)
	check(nil)
	put("rot_b4", b, steward.RotationFailed, false, 5)
	check(nil, "rot_b4")
}
