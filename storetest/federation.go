package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// RunFederation runs the federation part of the suite: trusted issuers,
// bindings and the replay memory of exchanged tokens.
func RunFederation[S steward.FederationStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) steward.FederationStore { return open(t) }, []test[steward.FederationStore]{
		{"trusted issuers are versioned across changes, deletes and re-creates", testTrustedIssuers},
		{"bindings round-trip and take their credential's status", testFederationBindings},
		{"a binding needs its credential and identity", testBindingNeedsCredential},
		{"a federated token is accepted once until it expires", testFederatedReplay},
	})
}

func fedUpdate(s steward.FederationStore, fn func(tx steward.FederationTx) error) error {
	return s.UpdateFederation(context.Background(), fn)
}

func newIssuer(name string) *steward.TrustedIssuer {
	return &steward.TrustedIssuer{Name: name, Kind: steward.IssuerOIDC, Issuer: "https://" + name + ".example.com",
		JWKS: json.RawMessage(`{"keys":[]}`), Audiences: []string{"steward"}, Algorithms: []string{"ES256"},
		CreatedAt: base, UpdatedAt: base, UpdatedBy: "op:admin", Reason: "test"}
}

func testTrustedIssuers(t *testing.T, s steward.FederationStore) {
	ctx := context.Background()
	put := func(ti *steward.TrustedIssuer) {
		t.Helper()
		if err := fedUpdate(s, func(tx steward.FederationTx) error { return tx.PutTrustedIssuer(ctx, ti) }); err != nil {
			t.Fatal(err)
		}
	}
	a := newIssuer("gha")
	put(a)
	put(newIssuer("k8s"))
	b := newIssuer("gha")
	b.Audiences = []string{"other"}
	put(b)
	got, err := s.GetTrustedIssuer(ctx, "gha")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Audiences[0] != "other" || string(got.JWKS) != `{"keys":[]}` {
		t.Fatalf("got %+v", got)
	}
	all, err := s.ListTrustedIssuers(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "gha" || all[1].Name != "k8s" {
		t.Fatalf("list: %v %+v", err, all)
	}
	if err := fedUpdate(s, func(tx steward.FederationTx) error { return tx.DeleteTrustedIssuer(ctx, "gha") }); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetTrustedIssuer(ctx, "gha")
	wantCode(t, err, steward.ENOTFOUND)
	wantCode(t, fedUpdate(s, func(tx steward.FederationTx) error { return tx.DeleteTrustedIssuer(ctx, "gha") }), steward.ENOTFOUND)
	c := newIssuer("gha")
	put(c)
	if c.Version != 4 {
		t.Fatalf("re-created issuer has version %d, want 4 (after 2 versions and a delete)", c.Version)
	}
}

func newBinding(i *steward.Identity, issuer, subject string, claims map[string]string) (*steward.BrokerCredential, *steward.FederationBinding) {
	c := &steward.BrokerCredential{Credential: steward.Credential{ID: ids.New(ids.Credential, base), IdentityID: i.ID, Type: steward.CredentialTypeFederated,
		Status: steward.CredentialActive, Scopes: []string{"read"}, CreatedAt: base, Metadata: map[string]string{"issuer": issuer}}}
	return c, &steward.FederationBinding{ID: c.ID, IdentityID: i.ID, Issuer: issuer, Subject: subject, Claims: claims, CreatedAt: base, CreatedBy: "op:admin"}
}

func testFederationBindings(t *testing.T, s steward.FederationStore) {
	ctx := context.Background()
	i := newIdentity("bound", nil)
	j := newIdentity("other", nil)
	createIdentities(t, s, i, j)
	c1, b1 := newBinding(i, "gha", "repo:acme/app:*", map[string]string{"ref": "refs/heads/main"})
	c2, b2 := newBinding(j, "k8s", "system:serviceaccount:prod:app", nil)
	c3, b3 := newBinding(i, "gha", "repo:acme/tools:*", nil)
	b3.CreatedAt = base.Add(time.Second)
	if err := fedUpdate(s, func(tx steward.FederationTx) error {
		for n, c := range []*steward.BrokerCredential{c1, c2, c3} {
			if err := tx.CreateBrokerCredential(ctx, c); err != nil {
				return err
			}
			if err := tx.CreateFederationBinding(ctx, []*steward.FederationBinding{b1, b2, b3}[n]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, fedUpdate(s, func(tx steward.FederationTx) error { return tx.CreateFederationBinding(ctx, b1) }), steward.ECONFLICT)
	got, err := s.ListFederationBindings(ctx, i.ID)
	if err != nil || len(got) != 2 || got[0].ID != b1.ID || got[1].ID != b3.ID {
		t.Fatalf("list: %v %+v", err, got)
	}
	if got[0].Claims["ref"] != "refs/heads/main" || got[0].Status != steward.CredentialActive || got[0].Subject != "repo:acme/app:*" {
		t.Fatalf("binding: %+v", got[0])
	}
	all, err := s.ListFederationBindings(ctx, "")
	if err != nil || len(all) != 3 {
		t.Fatalf("all: %v %d", err, len(all))
	}
	// Revoking the credential takes the binding out of matching.
	c1.Status, c1.RevokedAt = steward.CredentialRevoked, tptr(base.Add(time.Minute))
	if err := fedUpdate(s, func(tx steward.FederationTx) error { return tx.UpdateBrokerCredential(ctx, c1) }); err != nil {
		t.Fatal(err)
	}
	active, err := s.ListBindingsForIssuer(ctx, "gha")
	if err != nil || len(active) != 1 || active[0].ID != b3.ID {
		t.Fatalf("active gha bindings: %v %+v", err, active)
	}
	got, _ = s.ListFederationBindings(ctx, i.ID)
	if got[0].Status != steward.CredentialRevoked {
		t.Fatalf("revoked binding reads %s", got[0].Status)
	}
}

func testBindingNeedsCredential(t *testing.T, s steward.FederationStore) {
	ctx := context.Background()
	i := newIdentity("nocred", nil)
	createIdentities(t, s, i)
	_, b := newBinding(i, "gha", "x", nil)
	err := fedUpdate(s, func(tx steward.FederationTx) error { return tx.CreateFederationBinding(ctx, b) })
	wantCode(t, err, steward.ENOTFOUND)
	if got, _ := s.ListFederationBindings(ctx, ""); len(got) != 0 {
		t.Fatalf("a refused binding was written: %+v", got)
	}
}

func testFederatedReplay(t *testing.T, s steward.FederationStore) {
	ctx := context.Background()
	use := func(issuer string) error {
		return fedUpdate(s, func(tx steward.FederationTx) error {
			return tx.UseAssertionJTI(ctx, "fed:"+issuer, "jti-1", base.Add(time.Minute))
		})
	}
	if err := use("gha"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, use("gha"), steward.ECONFLICT)
	if err := use("k8s"); err != nil {
		t.Fatalf("the same jti from another issuer: %v", err)
	}
	if err := s.PurgeExpired(ctx, base.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, use("gha"), steward.ECONFLICT)
	if err := s.PurgeExpired(ctx, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := use("gha"); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}
