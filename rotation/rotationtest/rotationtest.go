// Package rotationtest builds the custody and rotation services the
// provider tests run on a real store.
package rotationtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/sqlstore"
)

// Services returns custody under a zero master key and rotation with cfg
// (its Store and Custody filled in) on store; rotation closes when the
// test ends.
func Services(t testing.TB, store *sqlstore.Store, cfg rotation.Config) (*custody.Service, *rotation.Service) {
	t.Helper()
	box, err := secretbox.New(make([]byte, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	cus, err := custody.New(custody.Config{Store: store, Box: box})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Custody = store, cus
	rot, err := rotation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rot.Close)
	return cus, rot
}

// Account creates ident (a high-tier service account on the named
// provider, unowned for the test) and the rotator req, as ctx's principal.
func Account(ctx context.Context, t testing.TB, store *sqlstore.Store, rot *rotation.Service, name, provider string, req rotation.RotatorRequest) *steward.Identity {
	t.Helper()
	inv := inventory.New(inventory.Config{Store: store})
	ident, err := inv.CreateIdentity(ctx, &steward.Identity{Name: name, Kind: steward.KindServiceAccount, Provider: provider,
		Sensitivity: steward.SensitivityHigh, UnownedReason: "test " + provider + " account"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rot.CreateRotator(ctx, req); err != nil {
		t.Fatal(err)
	}
	return ident
}

// Rig is a provider test's custody and rotation on one store, and the
// rotated account once the provider's setup has created it.
type Rig struct {
	Store    *sqlstore.Store
	Custody  *custody.Service
	Rotation *rotation.Service
	Ident    *steward.Identity
}

// NewRig is Services as a Rig.
func NewRig(t testing.TB, store *sqlstore.Store, cfg rotation.Config) *Rig {
	t.Helper()
	cus, rot := Services(t, store, cfg)
	return &Rig{Store: store, Custody: cus, Rotation: rot}
}

// Register puts the password secret of the provider account ref in
// custody, on the rig's identity, rotated by rotator, as ctx's principal;
// it returns the credential's id.
func (r *Rig) Register(ctx context.Context, t testing.TB, ref, secret, rotator string) string {
	t.Helper()
	c, err := r.Custody.Register(ctx, r.Ident.ID, custody.RegisterRequest{Type: "password", ExternalRef: ref, Secret: secret, Rotator: rotator})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// Current is the secret custody holds for credID now.
func (r *Rig) Current(t testing.TB, credID string) string {
	t.Helper()
	s, err := r.Custody.CurrentSecret(context.Background(), credID)
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

// CheckEvents fails t unless credID's events hold a rotation's start,
// the rotate itself, the proof of revocation and the old secret's
// destruction, and none of them holds any of secrets.
func (r *Rig) CheckEvents(t testing.TB, credID string, secrets ...string) {
	t.Helper()
	evs, err := r.Store.ListEvents(context.Background(), steward.EventFilter{SubjectID: credID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs.Items {
		seen[e.Action] = true
		for _, s := range secrets {
			if strings.Contains(string(e.After), s) {
				t.Fatalf("event %s holds a secret", e.Action)
			}
		}
	}
	for _, a := range []string{steward.ActionRotationStart, steward.ActionCredentialRotate, steward.ActionRevocationProven, steward.ActionSecretDestroy} {
		if !seen[a] {
			t.Errorf("no %s event", a)
		}
	}
}

// errCrash is what a rotation stopped by StopAfter panics with.
var errCrash = errors.New("crash")

// StopAfter is an AfterStep hook that stops the process's rotation (a
// panic, as a crash would) right after it persisted step.
func StopAfter(step string) func(*steward.Rotation) {
	return func(ro *steward.Rotation) {
		if ro.Step == step {
			panic(errCrash)
		}
	}
}

// RotateUntilStopped rotates credID with req on a rig whose AfterStep is
// StopAfter(step) and fails t unless the rotation stopped there.
func (r *Rig) RotateUntilStopped(ctx context.Context, t testing.TB, credID, step string, req rotation.RotateRequest) {
	t.Helper()
	defer func() {
		if p := recover(); p != errCrash {
			t.Fatalf("no crash after %s: %v", step, p)
		}
	}()
	_, _ = r.Rotation.Rotate(ctx, credID, req)
}

// ResumeStopped resumes, on r (another node on the store of the stopped
// one), the one rotation left running once the stopped node's step lease
// (1 ms) has run out, and returns credID's only rotation, which must have
// succeeded.
func (r *Rig) ResumeStopped(ctx context.Context, t testing.TB, credID string) *steward.Rotation {
	t.Helper()
	time.Sleep(5 * time.Millisecond)
	n, err := r.Rotation.Resume(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("resume: %d %v", n, err)
	}
	h, err := r.Rotation.History(ctx, credID)
	if err != nil || len(h.Items) != 1 || h.Items[0].Status != steward.RotationSucceeded {
		t.Fatalf("history: %+v %v", h, err)
	}
	return h.Items[0]
}
