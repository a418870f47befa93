// Package apitest assembles, on a real store, the core services that the
// in-process HTTP API and MCP tests serve: the inventory, the broker, the
// usage recorder and service and the decision point, joined as
// cmd/steward joins them.
package apitest

import (
	"bytes"
	"context"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/usage"
)

// Issuer is the broker's token issuer.
const Issuer = "http://steward.test"

// Services are the core services on one store.
type Services struct {
	Inventory *inventory.Service
	// Box seals secrets under a fixed test master key.
	Box      *secretbox.Box
	Broker   *broker.Broker
	Recorder *usage.Recorder
	PDP      *authz.PDP
	Usage    *usage.Service
}

// New assembles the core services on st; it fails t on any error.
func New(t testing.TB, st *sqlstore.Store) *Services {
	t.Helper()
	ctx := context.Background()
	s := &Services{Inventory: inventory.New(inventory.Config{Store: st})}
	var err error
	if s.Box, err = secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize)); err != nil {
		t.Fatal(err)
	}
	if s.Broker, err = broker.New(ctx, broker.Config{Store: st, Box: s.Box, Pepper: []byte("pepper-pepper-pepper-pepper"), Issuer: Issuer}); err != nil {
		t.Fatal(err)
	}
	s.Recorder = usage.NewRecorder(usage.RecorderConfig{Store: st})
	if s.PDP, err = authz.New(ctx, authz.Config{Inventory: st, Store: st, Usage: s.Recorder}); err != nil {
		t.Fatal(err)
	}
	s.Usage = usage.New(usage.Config{Store: st, Inventory: st, Credentials: st, Recorder: s.Recorder})
	return s
}

// Authenticate checks a Steward-issued token at the broker and any other
// (staff tokens) at the inventory, as serve does.
func (s *Services) Authenticate(ctx context.Context, tok string) (*steward.Principal, error) {
	if broker.IsStewardToken(tok) {
		return s.Broker.Authenticate(ctx, tok)
	}
	return s.Inventory.Authenticate(ctx, tok)
}

// Authz is the decision point joined with the usage service, the API's
// authorization endpoints.
func (s *Services) Authz() httpapi.AuthzAPI { return authzAPI{s.PDP, s.Usage} }

type authzAPI struct {
	*authz.PDP
	*usage.Service
}
