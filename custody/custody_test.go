package custody_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/internal/testrec"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

type allowSubject string

func (a allowSubject) PermitsReadSecret(_ context.Context, p *steward.Principal, _ *steward.Credential) bool {
	return p.Actor == string(a)
}

type fixture struct {
	store *sqlstore.Store
	svc   *custody.Service
	usage *testrec.Usage
	ident *steward.Identity
	other *steward.Identity
	box   *secretbox.Box
}

var admin = steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})

func newFixture(t *testing.T, s *sqlstore.Store) *fixture {
	t.Helper()
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	u := &testrec.Usage{}
	svc, err := custody.New(custody.Config{Store: s, Box: box, Usage: u, Decider: allowSubject("token:reader")})
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New(inventory.Config{Store: s})
	mk := func(name string) *steward.Identity {
		i, err := inv.CreateIdentity(admin, &steward.Identity{Name: name, Kind: steward.KindServiceAccount, Provider: "vendor:postgres",
			Sensitivity: steward.SensitivityHigh, UnownedReason: "test database account"})
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	return &fixture{store: s, svc: svc, usage: u, ident: mk("app-db"), other: mk("other"), box: box}
}

func nhi(i *steward.Identity) context.Context {
	return steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "nhi:" + i.ID, IdentityID: i.ID, Role: steward.RoleOperator})
}

func TestCustody(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				fn   func(t *testing.T, f *fixture)
			}{
				{"a registered secret is sealed, not echoed, and readable by its identity", testRegisterAndRead},
				{"auditors, operators and other identities are refused; a policy can allow", testReadRefusals},
				{"storing a new version destroys the old ciphertext and records it", testStoreNewVersion},
				{"a ciphertext moved to another credential does not open", testBoundToRecord},
				{"CurrentSecret reads the newest version and records the component", testCurrentSecret},
				{"bad input is refused naming the field and writes nothing", testBadInput},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, newFixture(t, e.Store(t))) })
			}
		})
	}
}

func register(t *testing.T, f *fixture, secret string) *custody.Registered {
	t.Helper()
	r, err := f.svc.Register(admin, f.ident.ID, custody.RegisterRequest{Type: "password", ExternalRef: "app", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testRegisterAndRead(t *testing.T, f *fixture) {
	ctx := context.Background()
	r := register(t, f, "s3cret-one")
	if r.Fingerprint != steward.Fingerprint([]byte("s3cret-one")) || r.Type != "password" || r.Version != 1 {
		t.Fatalf("registered: %+v", r)
	}
	vs, err := f.store.ListSecretVersions(ctx, r.ID)
	if err != nil || len(vs) != 1 || strings.Contains(vs[0].Sealed, "s3cret") || !strings.HasPrefix(vs[0].Sealed, "sb1:") {
		t.Fatalf("stored version: %+v %v", vs, err)
	}
	got, err := f.svc.Read(nhi(f.ident), r.ID)
	if err != nil || got.Secret != "s3cret-one" || got.Version != 1 {
		t.Fatalf("read: %+v %v", got, err)
	}
	evs, err := f.store.ListEvents(ctx, steward.EventFilter{SubjectID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	var reads int
	for _, e := range evs.Items {
		if strings.Contains(string(e.After)+string(e.Before), "s3cret") {
			t.Fatalf("event %s holds the secret: %s", e.Action, e.After)
		}
		if e.Action == steward.ActionSecretRead {
			reads++
		}
	}
	if reads != 1 {
		t.Fatalf("secret_read events: %d", reads)
	}
	if u := f.usage.All(); len(u) != 1 || u[0].Kind != steward.UsageSecretRead || u[0].Outcome != "ok" || u[0].CredentialID != r.ID {
		t.Fatalf("usage: %+v", u)
	}
}

func testReadRefusals(t *testing.T, f *fixture) {
	r := register(t, f, "s3cret-one")
	for name, ctx := range map[string]context.Context{
		"auditor":        steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:aud", Role: steward.RoleAuditor}),
		"admin":          admin,
		"other identity": nhi(f.other),
	} {
		if _, err := f.svc.Read(ctx, r.ID); steward.ErrorCode(err) != steward.EFORBIDDEN {
			t.Errorf("%s: got %v, want forbidden", name, err)
		}
	}
	reader := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:reader", Role: steward.RoleOperator})
	if got, err := f.svc.Read(reader, r.ID); err != nil || got.Secret != "s3cret-one" {
		t.Fatalf("policy-allowed reader: %+v %v", got, err)
	}
	var denied int
	for _, u := range f.usage.All() {
		if u.Outcome == "deny" {
			denied++
		}
	}
	if denied != 3 {
		t.Fatalf("denied reads recorded: %d", denied)
	}
}

func testStoreNewVersion(t *testing.T, f *fixture) {
	ctx := context.Background()
	r := register(t, f, "s3cret-one")
	got, err := f.svc.Store(admin, r.ID, []byte("s3cret-two"), "rotated by hand")
	if err != nil || got.Version != 2 || got.Fingerprint != steward.Fingerprint([]byte("s3cret-two")) {
		t.Fatalf("store: %+v %v", got, err)
	}
	vs, _ := f.store.ListSecretVersions(ctx, r.ID)
	if len(vs) != 2 || vs[1].State != steward.SecretDestroyed || vs[1].Sealed != "" || vs[1].DestroyedAt == nil {
		t.Fatalf("versions: %+v", vs)
	}
	read, err := f.svc.Read(nhi(f.ident), r.ID)
	if err != nil || read.Secret != "s3cret-two" || read.Previous != nil {
		t.Fatalf("read: %+v %v", read, err)
	}
	evs, _ := f.store.ListEvents(ctx, steward.EventFilter{SubjectID: r.ID, Action: steward.ActionSecretDestroy})
	if len(evs.Items) != 1 {
		t.Fatalf("destroy events: %d", len(evs.Items))
	}
	c, _ := f.store.GetCredential(ctx, r.ID)
	if c.Fingerprint != got.Fingerprint {
		t.Fatalf("credential fingerprint not updated: %s", c.Fingerprint)
	}
}

func testBoundToRecord(t *testing.T, f *fixture) {
	ctx := context.Background()
	a := register(t, f, "secret-a")
	b, err := f.svc.Register(admin, f.other.ID, custody.RegisterRequest{Type: "password", ExternalRef: "b", Secret: "secret-b"})
	if err != nil {
		t.Fatal(err)
	}
	va, _ := f.store.ListSecretVersions(ctx, a.ID)
	vb, _ := f.store.ListSecretVersions(ctx, b.ID)
	vb[0].Sealed = va[0].Sealed
	if err := f.store.UpdateCustody(ctx, func(tx steward.CustodyTx) error { return tx.PutSecretVersion(ctx, vb[0]) }); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CurrentSecret(ctx, b.ID)
	if err == nil || !strings.Contains(err.Error(), b.ID) {
		t.Fatalf("moved ciphertext: %v (want an error naming %s)", err, b.ID)
	}
	other, _ := secretbox.New(append(make([]byte, 31), 1))
	wrong, _ := custody.New(custody.Config{Store: f.store, Box: other})
	if _, err := wrong.CurrentSecret(ctx, a.ID); err == nil || !strings.Contains(err.Error(), a.ID) {
		t.Fatalf("wrong master key: %v", err)
	}
}

func testCurrentSecret(t *testing.T, f *fixture) {
	ctx := steward.WithComponent(context.Background(), "gateway")
	r := register(t, f, "one")
	if s, err := f.svc.CurrentSecret(ctx, r.ID); err != nil || string(s) != "one" {
		t.Fatalf("first: %q %v", s, err)
	}
	if _, err := f.svc.Store(admin, r.ID, []byte("two"), ""); err != nil {
		t.Fatal(err)
	}
	if s, err := f.svc.CurrentSecret(ctx, r.ID); err != nil || string(s) != "two" {
		t.Fatalf("after a new version: %q %v", s, err)
	}
	u := f.usage.All()
	if len(u) != 2 || u[1].Subject != "system:gateway" {
		t.Fatalf("usage: %+v", u)
	}
	_, err := f.svc.CurrentSecret(ctx, "crd_missing")
	if steward.ErrorCode(err) != steward.ENOTFOUND {
		t.Fatalf("missing credential: %v", err)
	}
}

func testBadInput(t *testing.T, f *fixture) {
	ctx := context.Background()
	for _, tc := range []struct {
		in    custody.RegisterRequest
		field string
	}{
		{custody.RegisterRequest{Type: "api_key", ExternalRef: "x", Secret: "s"}, "type"},
		{custody.RegisterRequest{Type: "password", Secret: "s"}, "external_ref"},
		{custody.RegisterRequest{Type: "password", ExternalRef: "x"}, "secret"},
		{custody.RegisterRequest{Type: "password", ExternalRef: "x", Secret: strings.Repeat("a", custody.MaxSecretLen+1)}, "secret"},
	} {
		_, err := f.svc.Register(admin, f.ident.ID, tc.in)
		var se *steward.Error
		if !errors.As(err, &se) || se.Field != tc.field {
			t.Errorf("%+v: got %v, want a field error on %s", tc.in.ExternalRef, err, tc.field)
		}
	}
	if cs, _ := f.store.ListCredentials(ctx, f.ident.ID); len(cs) != 0 {
		t.Fatalf("refused input wrote credentials: %+v", cs)
	}
	aud := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:aud", Role: steward.RoleAuditor})
	if _, err := f.svc.Register(aud, f.ident.ID, custody.RegisterRequest{Type: "password", ExternalRef: "x", Secret: "s"}); steward.ErrorCode(err) != steward.EFORBIDDEN {
		t.Fatalf("auditor register: %v", err)
	}
}
