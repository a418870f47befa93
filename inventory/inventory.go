// Package inventory implements Steward's inventory services — identities,
// owners, operator tokens and imports — over a steward.Store: it validates
// input, enforces the lifecycle and the caller's role, and writes every
// change together with the event that records it.
package inventory

import (
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
	return &Service{store: c.Store, clock: c.Clock, policy: c.Policy, log: c.Logger, tokens: newTokenCache(), DefaultSensitivity: steward.SensitivityMedium}
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
