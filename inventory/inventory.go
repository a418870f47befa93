// Package inventory implements Steward's inventory services — identities,
// owners, operator tokens and imports — over a steward.Store: it validates
// input, enforces the lifecycle and the caller's role, and writes every
// change together with the event that records it.
package inventory

import (
	"context"
	"log/slog"
	"strings"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
)

// Service implements steward.IdentityService, OwnerService, TokenService
// and ImportService.
type Service struct {
	store  steward.Store
	clock  clock.Clock
	policy steward.Policy
	log    *slog.Logger
	tokens *tokenCache
	// touches writes operator tokens' last use off the request path.
	touches *tokenTouches
	creds   steward.BrokerReader
	// changes tells the node's caches (broker, PDP) what this service
	// changed, before its methods return.
	changes *steward.Changes
	// DefaultSensitivity is used for imported identities whose export does
	// not say.
	DefaultSensitivity steward.Sensitivity
}

var (
	_ steward.IdentityService = (*Service)(nil)
	_ steward.OwnerService    = (*Service)(nil)
	_ steward.TokenService    = (*Service)(nil)
	_ steward.ImportService   = (*Service)(nil)
)

// Config configures New.
type Config struct {
	Store  steward.Store
	Clock  clock.Clock
	Policy steward.Policy
	Logger *slog.Logger
	// Credentials, when set, reads the broker's view of credentials, so
	// that credential lists show the rotation overlap and OAuth2 client
	// id of the credentials Steward issued.
	Credentials steward.BrokerReader
	// Changes, when set, is the node's change fan-out: identity changes
	// are published there after they commit (so the broker's and the
	// PDP's caches drop them before the API answers), and operator-token
	// revocations made by other nodes clear the token cache.
	Changes *steward.Changes
}

// New returns a Service.
func New(c Config) *Service {
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Policy == nil {
		c.Policy = steward.DefaultPolicy()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: c.Store, clock: c.Clock, policy: c.Policy, log: c.Logger, tokens: newTokenCache(), changes: c.Changes, creds: c.Credentials,
		DefaultSensitivity: steward.SensitivityMedium}
	s.touches = newTokenTouches(maxPendingTouches, s.store.TouchToken, func(msg string, args ...any) {
		s.log.Warn(msg, args...)
	})
	c.Changes.Subscribe(s.onChange)
	return s
}

// FlushTokenUse writes the operator tokens' last-use times still waiting
// and stops writing new ones: call it at shutdown, after the server has
// stopped serving and before the store closes.
func (s *Service) FlushTokenUse(ctx context.Context) error { return s.touches.flush(ctx) }

// onChange clears the operator-token cache when another node (seen through
// the database) changed tokens.
func (s *Service) onChange(ch steward.Change) {
	if ch.Remote && ch.Touches(steward.SubjectToken) {
		s.tokens.clear()
	}
}

// identityChanged tells the node that identity id changed ("" : many).
func (s *Service) identityChanged(id string) {
	s.changes.Publish(steward.Change{Subject: steward.SubjectIdentity, ID: id, IdentityID: id})
}

// ownerChanged tells the node that owner id changed (federation caches
// owners to check that an exchanging identity's owner is present).
func (s *Service) ownerChanged(id string) {
	s.changes.Publish(steward.Change{Subject: steward.SubjectOwner, ID: id})
}

// Policy returns the lifecycle policy in force.
func (s *Service) Policy() steward.Policy { return s.policy }

// Store returns the underlying store.
func (s *Service) Store() steward.Store { return s.store }

// checkOwns refuses an owner-role caller acting on another owner's identity.
func checkOwns(p *steward.Principal, i *steward.Identity) error {
	if p.Role == steward.RoleOwner && i.OwnerID != p.OwnerID {
		return steward.Errorf(steward.EFORBIDDEN, "identity %s is not owned by owner %s", i.ID, p.OwnerID)
	}
	return nil
}

func (s *Service) newEvent(p *steward.Principal, action, subjectType, subjectID, identityID, reason string, before, after any) *steward.Event {
	return steward.NewEvent(s.clock.Now(), p, action, subjectType, subjectID, identityID, reason, before, after)
}

func trimReason(r string) string {
	r = strings.TrimSpace(r)
	if len(r) > steward.MaxTextLen {
		r = r[:steward.MaxTextLen]
	}
	return r
}

// Stats counts the estate (identities by status, kind, tier, environment;
// owners; events). Staff only: the owner role sees its own identities
// through ListIdentities.
func (s *Service) Stats(ctx context.Context) (*steward.InventoryStats, error) {
	if _, err := steward.AuthorizeStaff(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	return s.store.InventoryStats(ctx, s.clock.Now())
}
