package usage

import (
	"context"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
)

// CredentialFinder finds a credential by its external reference (an AWS
// access key id, a Vault token accessor).
type CredentialFinder interface {
	FindCredentialByExternalRef(ctx context.Context, ref string) (*steward.Credential, error)
}

// Config configures New.
type Config struct {
	Store       steward.UsageStore
	Inventory   steward.Reader
	Credentials CredentialFinder
	Recorder    *Recorder
	// Pipeline receives ingested log events (the detectors see them
	// there); default: written straight to Store.
	Pipeline steward.UsagePipeline
	Clock    clock.Clock
}

// Service answers usage queries and ingests external logs.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Pipeline == nil {
		cfg.Pipeline = storeWriter{cfg.Store}
	}
	return &Service{cfg: cfg}
}

// UsageStats returns the recorder's counters (zero without a recorder).
func (s *Service) UsageStats() RecorderStats {
	if s.cfg.Recorder == nil {
		return RecorderStats{}
	}
	return s.cfg.Recorder.Stats()
}

// ListUsage lists usage events, newest first. The owner role sees only
// its own identities' events, through IdentityUsage.
func (s *Service) ListUsage(ctx context.Context, f steward.UsageFilter) (*steward.Page[*steward.UsageEvent], error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		if f.IdentityID == "" {
			return nil, steward.Errorf(steward.EFORBIDDEN, "role owner may read the usage of its own identities only (filter by identity_id)")
		}
		if _, err := s.readable(ctx, p, f.IdentityID); err != nil {
			return nil, err
		}
	}
	return s.cfg.Store.ListUsage(ctx, f)
}

// readable returns identity id if p may read its usage: staff may read
// any identity's, owners their own.
func (s *Service) readable(ctx context.Context, p *steward.Principal, id string) (*steward.Identity, error) {
	ident, err := s.cfg.Inventory.GetIdentity(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner && ident.OwnerID != p.OwnerID {
		return nil, steward.Errorf(steward.EFORBIDDEN, "identity %s is not owned by owner %s", id, p.OwnerID)
	}
	return ident, nil
}

// IdentityUsage is an identity's usage profile for least-privilege review.
type IdentityUsage struct {
	IdentityID string               `json:"identity_id"`
	Events     int64                `json:"events"`
	FirstSeen  *time.Time           `json:"first_seen"`
	LastSeen   *time.Time           `json:"last_seen"`
	Actions    []steward.UsageCount `json:"actions"`
	Resources  []steward.UsageCount `json:"resources"`
	Sources    []steward.UsageCount `json:"sources"`
	Outcomes   []steward.UsageCount `json:"outcomes"`
	// GrantedScopes are the identity's scopes; UnusedScopes those no
	// recorded action used (candidates for removal).
	GrantedScopes []string                           `json:"granted_scopes"`
	UnusedScopes  []string                           `json:"unused_scopes"`
	Recent        *steward.Page[*steward.UsageEvent] `json:"recent"`
}

// IdentityUsage returns an identity's aggregates and recent events.
func (s *Service) IdentityUsage(ctx context.Context, id string, f steward.UsageFilter) (*IdentityUsage, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	ident, err := s.readable(ctx, p, id)
	if err != nil {
		return nil, err
	}
	aggs, err := s.cfg.Store.UsageAggregates(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &IdentityUsage{IdentityID: id, Actions: []steward.UsageCount{}, Resources: []steward.UsageCount{}, Sources: []steward.UsageCount{},
		Outcomes: []steward.UsageCount{}, GrantedScopes: ident.Scopes, UnusedScopes: []string{}}
	used := map[string]bool{}
	for _, a := range aggs {
		c := a
		c.Key, c.Dimension = "", ""
		switch a.Dimension {
		case steward.DimAll:
			out.Events = a.Count
			out.FirstSeen, out.LastSeen = &c.FirstSeen, &c.LastSeen
		case steward.DimAction:
			out.Actions = append(out.Actions, c)
			used[a.Value] = true
		case steward.DimResource:
			out.Resources = append(out.Resources, c)
		case steward.DimSource:
			out.Sources = append(out.Sources, c)
		case steward.DimOutcome:
			out.Outcomes = append(out.Outcomes, c)
		}
	}
	for _, sc := range ident.Scopes {
		if !scopeUsed(sc, used) {
			out.UnusedScopes = append(out.UnusedScopes, sc)
		}
	}
	f.IdentityID = id
	if out.Recent, err = s.cfg.Store.ListUsage(ctx, f); err != nil {
		return nil, err
	}
	return out, nil
}

// scopeUsed reports whether a granted scope matches a used action: equal,
// or a trailing wildcard ("s3:*") covering it.
func scopeUsed(scope string, used map[string]bool) bool {
	if used[scope] {
		return true
	}
	if prefix, ok := strings.CutSuffix(scope, "*"); ok {
		for a := range used {
			if strings.HasPrefix(a, prefix) {
				return true
			}
		}
	}
	return false
}

// UnknownCallers lists callers seen in usage that matched no identity:
// discovery leads.
func (s *Service) UnknownCallers(ctx context.Context, limit int) ([]steward.UsageCount, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		return nil, steward.Errorf(steward.EFORBIDDEN, "role owner may not list unknown callers")
	}
	out, err := s.cfg.Store.UnknownCallers(ctx, limit)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Value = strings.TrimPrefix(out[i].Key, "unknown:")
	}
	return out, nil
}
