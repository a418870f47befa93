package rotation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
)

// Config configures New.
type Config struct {
	Store   steward.RotationStore
	Custody *custody.Service
	// Kinds are the provider implementations, listed explicitly.
	Kinds  []Kind
	Policy steward.Policy
	// Node names this server in rotations and job leases.
	Node string
	// StepLease is how long a node holds a rotation before another may
	// resume it (default 30s).
	StepLease time.Duration
	Clock     clock.Clock
	Logger    *slog.Logger
	// AfterStep, when set, runs after each persisted step (the server's
	// metrics count them; crash tests stop there).
	AfterStep func(r *steward.Rotation)
}

// Service runs rotations and leases.
type Service struct {
	cfg Config

	mu        sync.Mutex
	providers map[string]Provider
	// opening holds, per rotator, a channel closed when the open in
	// progress ends: concurrent first calls wait for one open instead of
	// each opening (and connecting) a provider of their own.
	opening map[string]chan struct{}
	closed  bool // after Close, a provider opened late is closed at once
}

// New returns the rotation service.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Custody == nil {
		return nil, errors.New("rotation: a store and custody are required")
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.StepLease <= 0 {
		c.StepLease = 30 * time.Second
	}
	if c.Node == "" {
		c.Node = "node"
	}
	if c.Policy == nil {
		c.Policy = steward.DefaultPolicy()
	}
	return &Service{cfg: c, providers: map[string]Provider{}, opening: map[string]chan struct{}{}}, nil
}

// Close closes the providers' connections.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for n, p := range s.providers {
		p.Close()
		delete(s.providers, n)
	}
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) kind(name string) (Kind, bool) {
	for _, k := range s.cfg.Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

func (s *Service) kindNames() []string {
	out := make([]string, len(s.cfg.Kinds))
	for n, k := range s.cfg.Kinds {
		out[n] = k.Name
	}
	return out
}

func require(ctx context.Context, perm steward.Permission) (*steward.Principal, error) {
	return steward.Require(ctx, perm, "manage rotation")
}

// RotatorRequest creates a rotator.
type RotatorRequest struct {
	Name   string            `json:"name"`
	Kind   string            `json:"kind"`
	Config map[string]string `json:"config"`
	Reason string            `json:"reason,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// CreateRotator records a rotator (admin). Its admin secret goes into
// custody as the password credential of an identity of its own (critical,
// unowned until someone takes it), so it has an owner and can be rotated
// itself; the rotator keeps only the public configuration.
func (s *Service) CreateRotator(ctx context.Context, in RotatorRequest) (*steward.Rotator, error) {
	p, err := require(ctx, steward.PermAdmin)
	if err != nil {
		return nil, err
	}
	if !nameRE.MatchString(in.Name) {
		return nil, steward.FieldError("name", "%q must be 1-63 lowercase letters, digits, '_', '.' or '-'", in.Name)
	}
	k, ok := s.kind(in.Kind)
	if !ok {
		return nil, steward.FieldError("kind", "%q is not one of %v", in.Kind, s.kindNames())
	}
	public, account, secret, err := k.Split(in.Config)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r := &steward.Rotator{Name: in.Name, Kind: in.Kind, Config: public, CreatedAt: now}
	err = s.cfg.Store.UpdateRotations(ctx, func(tx steward.RotationTx) error {
		if len(secret) > 0 {
			i := &steward.Identity{ID: ids.New(ids.Identity, now), Name: "rotator " + in.Name + " admin", Kind: steward.KindServiceAccount,
				Provider: "vendor:" + in.Kind, ExternalRef: "rotator:" + in.Name, Purpose: "admin account Steward rotates " + in.Kind + " secrets with",
				Scopes: []string{}, Sensitivity: steward.SensitivityCritical, Source: steward.SourceRegistered, Status: steward.StatusActive,
				CreatedAt: now, UpdatedAt: now, Labels: map[string]string{"steward.rotator": in.Name}, Version: 1,
				UnownedReason: "provider admin credential of rotator " + in.Name}
			if err := i.Validate(); err != nil {
				return err
			}
			if err := tx.CreateIdentity(ctx, i); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionIdentityCreate, steward.SubjectIdentity, i.ID, i.ID, in.Reason, nil, i)); err != nil {
				return err
			}
			c, err := s.cfg.Custody.AddTx(ctx, tx, p, i, custody.RegisterRequest{Type: steward.CredentialTypePassword, ExternalRef: account, Secret: string(secret)})
			if err != nil {
				return err
			}
			r.AdminIdentityID, r.AdminCredentialID = i.ID, c.ID
		}
		if err := tx.CreateRotator(ctx, r); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionRotatorCreate, steward.SubjectRotator, r.Name, r.AdminIdentityID, in.Reason, nil, r))
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// GetRotator returns a rotator (never a secret).
func (s *Service) GetRotator(ctx context.Context, name string) (*steward.Rotator, error) {
	if _, err := require(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	return s.cfg.Store.GetRotator(ctx, name)
}

// RotatorList is the rotators.
type RotatorList struct {
	Items []*steward.Rotator `json:"items"`
}

// ListRotators lists the rotators.
func (s *Service) ListRotators(ctx context.Context) (*RotatorList, error) {
	if _, err := require(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.ListRotators(ctx)
	if err != nil {
		return nil, err
	}
	return &RotatorList{Items: rs}, nil
}

// Exists reports ENOTFOUND for an unknown rotator (custody's check).
func (s *Service) Exists(ctx context.Context, name string) error {
	_, err := s.cfg.Store.GetRotator(ctx, name)
	return err
}

// provider opens (once) the provider of a rotator, with its admin secret
// from custody. Callers arriving while it opens wait for that open.
func (s *Service) provider(ctx context.Context, name string) (Provider, *steward.Rotator, error) {
	r, err := s.cfg.Store.GetRotator(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	for {
		s.mu.Lock()
		if p, ok := s.providers[name]; ok {
			s.mu.Unlock()
			return p, r, nil
		}
		wait, busy := s.opening[name]
		if !busy {
			done := make(chan struct{})
			s.opening[name] = done
			s.mu.Unlock()
			p, err := s.open(ctx, name, r)
			s.mu.Lock()
			delete(s.opening, name)
			if err == nil && s.closed {
				p.Close()
				p, err = nil, steward.Errorf(steward.EINTERNAL, "rotator %s: the server is shutting down", name)
			}
			if err == nil {
				s.providers[name] = p
			}
			close(done)
			s.mu.Unlock()
			return p, r, err
		}
		s.mu.Unlock()
		select {
		case <-wait: // opened (or failed: then this caller tries)
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

func (s *Service) open(ctx context.Context, name string, r *steward.Rotator) (Provider, error) {
	k, ok := s.kind(r.Kind)
	if !ok {
		return nil, steward.Errorf(steward.ENOTIMPLEMENTED, "rotator %s is of kind %s, which this server does not know", name, r.Kind)
	}
	var secret []byte
	if r.AdminCredentialID != "" {
		var err error
		if secret, err = s.cfg.Custody.CurrentSecret(steward.WithComponent(ctx, "rotation"), r.AdminCredentialID); err != nil {
			return nil, fmt.Errorf("rotator %s: admin credential: %w", name, err)
		}
	}
	p, err := k.Open(ctx, r.Config, secret)
	if err != nil {
		return nil, steward.Errorf(steward.EINTERNAL, "rotator %s: %v", name, err)
	}
	return p, nil
}

// WarmConns is how many connections Warm opens per provider: the
// concurrency a burst of leases is expected to reach.
const WarmConns = 8

// Warm opens the provider of every rotator and, for providers that can,
// its connections, so that the first leases and rotations after a start
// do not pay for them; it returns how many providers it opened. A
// provider that cannot be opened is skipped (its first use reports why).
func (s *Service) Warm(ctx context.Context) (int, error) {
	rs, err := s.cfg.Store.ListRotators(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		p, _, err := s.provider(ctx, r.Name)
		if err == nil {
			if w, ok := p.(Warmer); ok {
				err = w.Warm(ctx, WarmConns)
			}
		}
		if err != nil {
			s.cfg.Logger.Warn("rotation: warm provider", "rotator", r.Name, "err", err)
			continue
		}
		n++
	}
	return n, nil
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewSecret returns a random secret: 32 characters of [A-Za-z0-9]
// (≈190 bits), safe in every provider's syntax.
func NewSecret() []byte {
	out := make([]byte, 0, 32)
	var buf [64]byte
	for len(out) < 32 {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < 4*len(alphabet) && len(out) < 32 { // 248: no modulo bias
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return out
}
