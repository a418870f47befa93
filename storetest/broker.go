package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// RunBroker runs the credential broker's part of the suite: the store must
// implement steward.BrokerStore and its transactions steward.BrokerTx.
func RunBroker[S steward.BrokerStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) steward.BrokerStore { return open(t) }, []test[steward.BrokerStore]{
		{"broker credentials round-trip and are found by digest and client id", testBrokerCredentials},
		{"credentials due for expiry or end of overlap are listed", testCredentialsDue},
		{"signing keys round-trip", testSigningKeys},
		{"revoked jtis are listed until they expire", testRevokedJTIs},
		{"a client assertion jti is accepted once", testAssertionJTIs},
		{"changes since a sequence number follow the event chain", testChangesSince},
		{"touching credentials never moves last use backwards", testTouchCredentials},
	})
}

func brokerUpdate(t *testing.T, s steward.BrokerStore, fn func(tx steward.BrokerTx) error) error {
	t.Helper()
	return s.UpdateBroker(context.Background(), fn)
}

func newBrokerCredential(identityID, digest string, mod func(c *steward.BrokerCredential)) *steward.BrokerCredential {
	c := &steward.BrokerCredential{Credential: steward.Credential{ID: ids.New(ids.Credential, base), IdentityID: identityID, Type: steward.CredentialTypeAPIKey,
		Fingerprint: steward.Fingerprint([]byte(digest)), Hint: "stw_abcd", Status: steward.CredentialActive, Scopes: []string{"read"},
		CreatedAt: base, ExpiresAt: tptr(base.Add(time.Hour)), Metadata: map[string]string{}},
		Digest: digest, AllowedCIDRs: []string{"10.0.0.0/8"}}
	if mod != nil {
		mod(c)
	}
	return c
}

func testBrokerCredentials(t *testing.T, s steward.BrokerStore) {
	ctx := context.Background()
	i := newIdentity("broker", nil)
	createIdentities(t, s, i)
	a := newBrokerCredential(i.ID, "digest-a", nil)
	b := newBrokerCredential(i.ID, "digest-b", func(c *steward.BrokerCredential) {
		c.Type, c.ClientID, c.PredecessorID, c.OverlapUntil = steward.CredentialTypeClientSecret, "cli_1", a.ID, tptr(base.Add(time.Minute))
		c.CreatedAt = base.Add(time.Second)
	})
	if err := brokerUpdate(t, s, func(tx steward.BrokerTx) error {
		if err := tx.CreateBrokerCredential(ctx, a); err != nil {
			return err
		}
		return tx.CreateBrokerCredential(ctx, b)
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindCredentialByDigest(ctx, "digest-b")
	if err != nil || fmt.Sprint(steward.Snapshot(got), got.Digest) != fmt.Sprint(steward.Snapshot(b), b.Digest) {
		t.Fatalf("by digest:\n got %+v %v\nwant %+v", got, err, b)
	}
	_, err = s.FindCredentialByDigest(ctx, "digest-x")
	wantCode(t, err, steward.ENOTFOUND)
	byClient, err := s.FindCredentialsByClientID(ctx, "cli_1")
	if err != nil || len(byClient) != 1 || byClient[0].ID != b.ID {
		t.Fatalf("by client id: %+v %v", byClient, err)
	}
	// The core's view of the same rows keeps working.
	core, err := s.GetCredential(ctx, a.ID)
	if err != nil || core.Fingerprint != a.Fingerprint {
		t.Fatalf("core view: %+v %v", core, err)
	}
	a.Status, a.RevokedAt, a.AllowedCIDRs = steward.CredentialRevoked, tptr(base.Add(2*time.Minute)), []string{}
	if err := brokerUpdate(t, s, func(tx steward.BrokerTx) error { return tx.UpdateBrokerCredential(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListBrokerCredentials(ctx, i.ID)
	if err != nil || len(list) != 2 || list[0].Status != steward.CredentialRevoked || len(list[0].AllowedCIDRs) != 0 {
		t.Fatalf("list: %+v %v", list, err)
	}
	dup := newBrokerCredential(i.ID, "digest-a", nil)
	err = brokerUpdate(t, s, func(tx steward.BrokerTx) error { return tx.CreateBrokerCredential(ctx, dup) })
	wantCode(t, err, steward.ECONFLICT)
}

func testCredentialsDue(t *testing.T, s steward.BrokerStore) {
	ctx := context.Background()
	i := newIdentity("due", nil)
	createIdentities(t, s, i)
	expired := newBrokerCredential(i.ID, "d1", func(c *steward.BrokerCredential) { c.ExpiresAt = tptr(base.Add(-time.Second)) })
	overlapDone := newBrokerCredential(i.ID, "d2", func(c *steward.BrokerCredential) { c.OverlapUntil = tptr(base) })
	live := newBrokerCredential(i.ID, "d3", nil)
	if err := brokerUpdate(t, s, func(tx steward.BrokerTx) error {
		for _, c := range []*steward.BrokerCredential{expired, overlapDone, live} {
			if err := tx.CreateBrokerCredential(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	due, err := s.ListCredentialsDue(ctx, base, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due: %+v %v", due, err)
	}
}

func testSigningKeys(t *testing.T, s steward.BrokerStore) {
	ctx := context.Background()
	k := &steward.SigningKey{KID: "k1", Algorithm: "EdDSA", PublicJWK: `{"kty":"OKP"}`, PrivateSealed: "sb1:x", Status: steward.SigningKeyActive, CreatedAt: base}
	if err := brokerUpdate(t, s, func(tx steward.BrokerTx) error { return tx.CreateSigningKey(ctx, k) }); err != nil {
		t.Fatal(err)
	}
	k.Status, k.RetiredAt, k.PublishUntil = steward.SigningKeyRetired, tptr(base.Add(time.Hour)), tptr(base.Add(2*time.Hour))
	if err := brokerUpdate(t, s, func(tx steward.BrokerTx) error { return tx.UpdateSigningKey(ctx, k) }); err != nil {
		t.Fatal(err)
	}
	keys, err := s.ListSigningKeys(ctx)
	if err != nil || len(keys) != 1 || fmt.Sprint(steward.Snapshot(keys[0]), keys[0].PrivateSealed) != fmt.Sprint(steward.Snapshot(k), k.PrivateSealed) {
		t.Fatalf("keys: %+v %v", keys, err)
	}
	err = brokerUpdate(t, s, func(tx steward.BrokerTx) error { return tx.CreateSigningKey(ctx, k) })
	wantCode(t, err, steward.ECONFLICT)
}

func testRevokedJTIs(t *testing.T, s steward.BrokerStore) {
	ctx := context.Background()
	if err := brokerUpdate(t, s, func(tx steward.BrokerTx) error {
		for n, exp := range []time.Time{base.Add(time.Minute), base.Add(-time.Minute)} {
			if err := tx.RevokeJTI(ctx, &steward.RevokedJTI{JTI: fmt.Sprint("j", n), ExpiresAt: exp, RevokedAt: base}); err != nil {
				return err
			}
		}
		// Revoking twice is harmless.
		return tx.RevokeJTI(ctx, &steward.RevokedJTI{JTI: "j0", ExpiresAt: base.Add(time.Minute), RevokedAt: base})
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListRevokedJTIs(ctx, base)
	if err != nil || len(got) != 1 || got[0].JTI != "j0" {
		t.Fatalf("revoked: %+v %v", got, err)
	}
	if err := s.PurgeExpired(ctx, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListRevokedJTIs(ctx, base); len(got) != 0 {
		t.Fatalf("after purge: %+v", got)
	}
}

func testAssertionJTIs(t *testing.T, s steward.BrokerStore) {
	ctx := context.Background()
	use := func() error {
		return brokerUpdate(t, s, func(tx steward.BrokerTx) error { return tx.UseAssertionJTI(ctx, "cli_1", "a1", base.Add(time.Minute)) })
	}
	if err := use(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, use(), steward.ECONFLICT)
	if err := s.PurgeExpired(ctx, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := use(); err != nil {
		t.Fatalf("after purge: %v", err)
	}
}

func testChangesSince(t *testing.T, s steward.BrokerStore) {
	ctx := context.Background()
	i := newIdentity("changes", nil)
	createIdentities(t, s, i)
	mustUpdate(t, s, func(tx steward.Tx) error { return tx.AppendEvent(ctx, event(steward.ActionCredentialRevoke, i.ID)) })
	all, err := s.ChangesSince(ctx, 0, 0)
	if err != nil || len(all) != 2 || all[1].Action != steward.ActionCredentialRevoke || all[1].IdentityID != i.ID {
		t.Fatalf("changes: %+v %v", all, err)
	}
	rest, err := s.ChangesSince(ctx, all[0].Seq, 0)
	if err != nil || len(rest) != 1 || rest[0].Seq != all[1].Seq {
		t.Fatalf("changes after %d: %+v %v", all[0].Seq, rest, err)
	}
}

func testTouchCredentials(t *testing.T, s steward.BrokerStore) {
	ctx := context.Background()
	i := newIdentity("touch", nil)
	createIdentities(t, s, i)
	c := newBrokerCredential(i.ID, "dt", nil)
	if err := brokerUpdate(t, s, func(tx steward.BrokerTx) error { return tx.CreateBrokerCredential(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	later, earlier := base.Add(time.Hour), base.Add(time.Minute)
	for _, at := range []time.Time{later, earlier} {
		if err := s.TouchCredentials(ctx, map[string]time.Time{c.ID: at}, map[string]time.Time{i.ID: at}); err != nil {
			t.Fatal(err)
		}
	}
	gc, _ := s.GetCredential(ctx, c.ID)
	gi, _ := s.GetIdentity(ctx, i.ID)
	if gc.LastUsedAt == nil || !gc.LastUsedAt.Equal(later) || gi.LastUsedAt == nil || !gi.LastUsedAt.Equal(later) {
		t.Fatalf("last used: credential %v identity %v, want %v", gc.LastUsedAt, gi.LastUsedAt, later)
	}
}
