// Package rotationtest builds the custody and rotation services the
// provider tests run on a real store.
package rotationtest

import (
	"context"
	"testing"

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
