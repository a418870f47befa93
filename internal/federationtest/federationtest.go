// Package federationtest assembles a token-exchange server on a real store
// (inventory, broker, federation, the HTTP API) with one workload bound to
// a trusted issuer, for the exchange tests and the federation benchmark.
package federationtest

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
)

// Config is what differs between the users of a Server.
type Config struct {
	Store *sqlstore.Store
	// MasterKey seals the broker's signing keys (secretbox.KeySize bytes);
	// Pepper keys its secret hashes.
	MasterKey, Pepper []byte
	// Issuer is the broker's token issuer, the server's URL.
	Issuer string
	// Version and AuthFailureLimit go to httpapi.Deps as they are.
	Version          string
	AuthFailureLimit float64
	// Logger is every service's logger; nil logs nowhere.
	Logger *slog.Logger
	// ReplayWindow goes to federation.Config as it is.
	ReplayWindow time.Duration
}

// Server is the assembled services and their HTTP handler.
type Server struct {
	Inventory  *inventory.Service
	Broker     *broker.Broker
	Federation *federation.Service
	Handler    http.Handler
}

// New assembles a Server.
func New(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	changes := steward.NewChanges()
	st := cfg.Store
	svc := inventory.New(inventory.Config{Store: st, Logger: log, Changes: changes, Credentials: st})
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	b, err := broker.New(ctx, broker.Config{Store: st, Box: box, Pepper: cfg.Pepper, Issuer: cfg.Issuer, Logger: log, Changes: changes})
	if err != nil {
		return nil, err
	}
	fed, err := federation.New(federation.Config{Store: st, Broker: b, Logger: log, Changes: changes, ReplayWindow: cfg.ReplayWindow})
	if err != nil {
		return nil, err
	}
	h := httpapi.NewServer(httpapi.Deps{Identities: svc, Owners: svc, Tokens: svc, Imports: svc, Broker: b, Federation: fed,
		Logger: log, Version: cfg.Version, AuthFailureLimit: cfg.AuthFailureLimit})
	return &Server{Inventory: svc, Broker: b, Federation: fed, Handler: h}, nil
}

// Workload is a workload identity bound to a trusted issuer.
type Workload struct {
	// Issuer is the trusted issuer to create (a Kubernetes one).
	Issuer steward.TrustedIssuer
	// Name names the identity, Team its owning team (team@example.com).
	Name, Team string
	// Subject is the binding's subject pattern.
	Subject string
}

// Trust creates, as an admin, w's issuer, the team, a medium-tier workload
// with the scope read owned by it, and the binding of the workload to the
// issuer's subject; it returns the workload.
func (s *Server) Trust(ctx context.Context, w Workload) (*steward.Identity, error) {
	admin := steward.WithPrincipal(ctx, &steward.Principal{Actor: "op:admin", Role: steward.RoleAdmin})
	iss := w.Issuer
	iss.Kind = steward.IssuerKubernetes
	if _, err := s.Federation.CreateIssuer(admin, &iss); err != nil {
		return nil, err
	}
	owner, err := s.Inventory.CreateOwner(admin, &steward.Owner{Name: w.Team, Email: strings.ToLower(w.Team) + "@example.com", Kind: steward.OwnerTeam})
	if err != nil {
		return nil, err
	}
	id, err := s.Inventory.CreateIdentity(admin, &steward.Identity{Name: w.Name, Kind: steward.KindWorkload, Provider: "steward",
		Sensitivity: steward.SensitivityMedium, Scopes: []string{"read"}, OwnerID: owner.ID})
	if err != nil {
		return nil, err
	}
	if _, err := s.Federation.Bind(admin, id.ID, federation.BindingInput{Issuer: iss.Name, Subject: w.Subject}); err != nil {
		return nil, err
	}
	return id, nil
}
