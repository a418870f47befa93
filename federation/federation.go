// Package federation lets workloads and agents authenticate to Steward
// without a stored secret: it keeps the trusted issuers (Kubernetes,
// GitHub Actions, GitLab CI, SPIFFE, any OIDC provider) and their key
// sets, the bindings that map a verified token to one identity, and it
// decides token exchanges (RFC 8693, RFC 7523 JWT bearer) and delegations
// to AI agents. The broker signs what it decides. It is a plain Go API;
// httpapi serves it.
package federation

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
)

// Signer is the part of the broker federation uses: it verifies Steward
// tokens presented as subject or actor, and signs what federation decides.
type Signer interface {
	IssueGrant(ctx context.Context, g broker.Grant) (*broker.TokenResponse, *broker.AccessClaims, error)
	VerifyToken(ctx context.Context, raw string) (*broker.AccessClaims, *steward.Identity, string, error)
	Issuer() string
}

var _ Signer = (*broker.Broker)(nil)

// Operators resolves an operator token to its principal.
type Operators interface {
	Authenticate(ctx context.Context, secret string) (*steward.Principal, error)
}

// Config configures New.
type Config struct {
	Store  steward.FederationStore
	Broker Signer
	Usage  steward.UsageRecorder
	// HTTPClient fetches discovery documents and key sets (default: a
	// client with a 10 s timeout).
	HTTPClient *http.Client
	Clock      clock.Clock
	Logger     *slog.Logger
	// Changes is the node's change fan-out: federation publishes binding
	// changes there and drops cached issuers and bindings on any change.
	Changes *steward.Changes
	// MaxDelegationDepth bounds the actor chain (default 2).
	MaxDelegationDepth int
	// Operators authenticates a person's operator token presented as the
	// subject of a delegation to an agent (the inventory); nil refuses
	// such delegations.
	Operators Operators
	// CacheTTL bounds how long issuers and bindings are reused without
	// reading the store (default 2 s); changes drop them sooner.
	CacheTTL time.Duration
	// ReplayWindow is the longest the replay records of an exchange wait
	// for concurrent exchanges still being verified, to be written in one
	// transaction with theirs (default DefaultReplayWindow; negative: no
	// wait). An exchange alone never waits.
	ReplayWindow time.Duration
}

// Service is the federation capability.
type Service struct {
	cfg     Config
	fetches atomic.Int64

	mu       sync.Mutex
	loaded   time.Time
	issuers  map[string]*issuerState // by name
	byURL    map[string]*issuerState
	bindings map[string]cachedBindings // by issuer name
	idents   map[string]cachedIdentity // by identity id
	owners   map[string]cachedOwner    // by owner id
	gen      uint64

	replays *replayBatcher
}

type cachedIdentity struct {
	i       *steward.Identity
	expires time.Time
}

type cachedOwner struct {
	o       *steward.Owner
	expires time.Time
}

type issuerState struct {
	ti   *steward.TrustedIssuer
	keys *keySet
}

type cachedBindings struct {
	list    []*steward.FederationBinding
	expires time.Time
}

// New returns the service.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Broker == nil {
		return nil, errors.New("federation: a store and a broker are required")
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Usage == nil {
		c.Usage = steward.DiscardUsage{}
	}
	if c.MaxDelegationDepth <= 0 {
		c.MaxDelegationDepth = steward.DefaultDelegationDepth
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 2 * time.Second
	}
	if c.ReplayWindow == 0 {
		c.ReplayWindow = DefaultReplayWindow
	}
	s := &Service{cfg: c, issuers: map[string]*issuerState{}, byURL: map[string]*issuerState{}, bindings: map[string]cachedBindings{},
		idents: map[string]cachedIdentity{}, owners: map[string]cachedOwner{}}
	s.replays = newReplayBatcher(s.writeReplays, c.Clock.Now, c.ReplayWindow)
	c.Changes.Subscribe(func(ch steward.Change) {
		switch ch.Subject {
		case steward.SubjectIssuer, steward.SubjectCredential, steward.SubjectIdentity, steward.SubjectOwner, steward.SubjectImport:
			s.forget()
			return
		}
		if ch.Remote {
			s.forget()
		}
	})
	return s, nil
}

// KeyFetches is how many times key sets were fetched from issuers.
func (s *Service) KeyFetches() int64 { return s.fetches.Load() }

func (s *Service) forget() {
	s.mu.Lock()
	s.loaded = time.Time{}
	clear(s.bindings)
	clear(s.idents)
	clear(s.owners)
	s.gen++
	s.mu.Unlock()
}

// snapshot returns the issuers, reloading them when stale. Key sets of
// unchanged issuers are kept, so their cached keys survive a reload.
func (s *Service) snapshot(ctx context.Context) (map[string]*issuerState, map[string]*issuerState, error) {
	s.mu.Lock()
	if time.Since(s.loaded) < s.cfg.CacheTTL {
		defer s.mu.Unlock()
		return s.issuers, s.byURL, nil
	}
	gen := s.gen
	s.mu.Unlock()
	list, err := s.cfg.Store.ListTrustedIssuers(ctx)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byName, byURL := map[string]*issuerState{}, map[string]*issuerState{}
	for _, ti := range list {
		st := s.issuers[ti.Name]
		if st == nil || st.ti.Version != ti.Version {
			ks, err := newKeySet(ti, s.cfg.HTTPClient, s.cfg.Clock.Now, func() { s.fetches.Add(1) })
			if err != nil {
				s.cfg.Logger.Warn("federation: unusable issuer keys", "issuer", ti.Name, "err", err)
				continue
			}
			st = &issuerState{ti: ti, keys: ks}
		}
		byName[ti.Name] = st
		byURL[ti.Issuer] = st
	}
	if gen == s.gen {
		s.issuers, s.byURL, s.loaded = byName, byURL, time.Now()
	}
	return byName, byURL, nil
}

// bindingsFor returns an issuer's active bindings, cached briefly.
func (s *Service) bindingsFor(ctx context.Context, issuer string) ([]*steward.FederationBinding, error) {
	s.mu.Lock()
	c, ok := s.bindings[issuer]
	gen := s.gen
	s.mu.Unlock()
	if ok && time.Now().Before(c.expires) {
		return c.list, nil
	}
	list, err := s.cfg.Store.ListBindingsForIssuer(ctx, issuer)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if gen == s.gen {
		s.bindings[issuer] = cachedBindings{list: list, expires: time.Now().Add(s.cfg.CacheTTL)}
	}
	s.mu.Unlock()
	return list, nil
}

// identity returns an identity, cached like the bindings: for CacheTTL at
// most, dropped at once by a change of any identity, credential or owner
// on this node (and by any change seen from another node).
func (s *Service) identity(ctx context.Context, id string) (*steward.Identity, error) {
	s.mu.Lock()
	c, ok := s.idents[id]
	gen := s.gen
	s.mu.Unlock()
	if ok && time.Now().Before(c.expires) {
		return c.i, nil
	}
	i, err := s.cfg.Store.GetIdentity(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if gen == s.gen {
		s.idents[id] = cachedIdentity{i: i, expires: time.Now().Add(s.cfg.CacheTTL)}
	}
	s.mu.Unlock()
	return i, nil
}

// owner returns an owner, cached as identity is.
func (s *Service) owner(ctx context.Context, id string) (*steward.Owner, error) {
	s.mu.Lock()
	c, ok := s.owners[id]
	gen := s.gen
	s.mu.Unlock()
	if ok && time.Now().Before(c.expires) {
		return c.o, nil
	}
	o, err := s.cfg.Store.GetOwner(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if gen == s.gen {
		s.owners[id] = cachedOwner{o: o, expires: time.Now().Add(s.cfg.CacheTTL)}
	}
	s.mu.Unlock()
	return o, nil
}

// IssuerPatch changes some fields of an issuer; nil fields keep theirs.
// Setting one key source clears the others.
type IssuerPatch struct {
	Kind         *string           `json:"kind"`
	Issuer       *string           `json:"issuer"`
	Discovery    *bool             `json:"discovery"`
	JWKSURI      *string           `json:"jwks_uri"`
	JWKS         *json.RawMessage  `json:"jwks"`
	SPIFFEBundle *json.RawMessage  `json:"spiffe_bundle"`
	Audiences    *[]string         `json:"audiences"`
	Algorithms   *[]string         `json:"algorithms"`
	MaxTokenAge  *steward.Duration `json:"max_token_age"`
	ClockSkew    *steward.Duration `json:"clock_skew"`
	Reason       string            `json:"reason"`
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Microsecond) }

// checkIssuer validates an issuer and that its inline keys parse.
func checkIssuer(ti *steward.TrustedIssuer) error {
	if len(ti.Algorithms) == 0 {
		ti.Algorithms = slices.Clone(steward.FederationAlgorithms)
	}
	if ti.Audiences == nil {
		ti.Audiences = []string{}
	}
	if ti.ClockSkew == 0 {
		ti.ClockSkew = steward.Duration(steward.DefaultIssuerClockSkew)
	}
	if err := ti.Validate(); err != nil {
		return err
	}
	_, err := newKeySet(ti, nil, time.Now, nil)
	return err
}

// CreateIssuer adds a trusted issuer (admin).
func (s *Service) CreateIssuer(ctx context.Context, in *steward.TrustedIssuer) (*steward.TrustedIssuer, error) {
	p, err := steward.Authorize(ctx, steward.PermAdmin)
	if err != nil {
		return nil, err
	}
	ti := *in
	if err := checkIssuer(&ti); err != nil {
		return nil, err
	}
	now := s.now()
	ti.CreatedAt, ti.UpdatedAt, ti.UpdatedBy = now, now, p.Actor
	err = s.cfg.Store.UpdateFederation(ctx, func(tx steward.FederationTx) error {
		if _, err := tx.GetTrustedIssuer(ctx, ti.Name); err == nil {
			return steward.Errorf(steward.ECONFLICT, "trusted issuer %q already exists", ti.Name)
		} else if steward.ErrorCode(err) != steward.ENOTFOUND {
			return err
		}
		if err := uniqueURL(ctx, tx, &ti); err != nil {
			return err
		}
		if err := tx.PutTrustedIssuer(ctx, &ti); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionIssuerPut, steward.SubjectIssuer, ti.Name, "", ti.Reason, nil, &ti))
	})
	if err != nil {
		return nil, err
	}
	s.changed(steward.Change{Subject: steward.SubjectIssuer, ID: ti.Name})
	return &ti, nil
}

// uniqueURL refuses two issuers with the same issuer URL: a token must
// name exactly one.
func uniqueURL(ctx context.Context, tx steward.FederationTx, ti *steward.TrustedIssuer) error {
	all, err := tx.ListTrustedIssuers(ctx)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Name != ti.Name && o.Issuer == ti.Issuer {
			return steward.FieldError("issuer", "%q is already the URL of trusted issuer %q", ti.Issuer, o.Name)
		}
	}
	return nil
}

// UpdateIssuer replaces an issuer's fields with the patch's (admin).
func (s *Service) UpdateIssuer(ctx context.Context, name string, patch IssuerPatch) (*steward.TrustedIssuer, error) {
	p, err := steward.Authorize(ctx, steward.PermAdmin)
	if err != nil {
		return nil, err
	}
	var out *steward.TrustedIssuer
	err = s.cfg.Store.UpdateFederation(ctx, func(tx steward.FederationTx) error {
		cur, err := tx.GetTrustedIssuer(ctx, name)
		if err != nil {
			return err
		}
		ti := *cur
		applyPatch(&ti, patch)
		if err := checkIssuer(&ti); err != nil {
			return err
		}
		if err := uniqueURL(ctx, tx, &ti); err != nil {
			return err
		}
		ti.UpdatedAt, ti.UpdatedBy, ti.Reason = s.now(), p.Actor, patch.Reason
		if err := tx.PutTrustedIssuer(ctx, &ti); err != nil {
			return err
		}
		out = &ti
		return tx.AppendEvent(ctx, steward.NewEvent(ti.UpdatedAt, p, steward.ActionIssuerPut, steward.SubjectIssuer, name, "", patch.Reason, cur, &ti))
	})
	if err != nil {
		return nil, err
	}
	s.changed(steward.Change{Subject: steward.SubjectIssuer, ID: name})
	return out, nil
}

func applyPatch(ti *steward.TrustedIssuer, p IssuerPatch) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&ti.Kind, p.Kind)
	set(&ti.Issuer, p.Issuer)
	if p.Discovery != nil || p.JWKSURI != nil || p.JWKS != nil || p.SPIFFEBundle != nil {
		ti.Discovery, ti.JWKSURI, ti.JWKS, ti.SPIFFEBundle = false, "", nil, nil
		if p.Discovery != nil {
			ti.Discovery = *p.Discovery
		}
		set(&ti.JWKSURI, p.JWKSURI)
		if p.JWKS != nil {
			ti.JWKS = *p.JWKS
		}
		if p.SPIFFEBundle != nil {
			ti.SPIFFEBundle = *p.SPIFFEBundle
		}
	}
	if p.Audiences != nil {
		ti.Audiences = *p.Audiences
	}
	if p.Algorithms != nil {
		ti.Algorithms = *p.Algorithms
	}
	if p.MaxTokenAge != nil {
		ti.MaxTokenAge = *p.MaxTokenAge
	}
	if p.ClockSkew != nil {
		ti.ClockSkew = *p.ClockSkew
	}
}

// DeleteIssuer removes a trusted issuer (admin). Its bindings stay, but
// match nothing until an issuer of that name exists again.
func (s *Service) DeleteIssuer(ctx context.Context, name, reason string) error {
	p, err := steward.Authorize(ctx, steward.PermAdmin)
	if err != nil {
		return err
	}
	err = s.cfg.Store.UpdateFederation(ctx, func(tx steward.FederationTx) error {
		cur, err := tx.GetTrustedIssuer(ctx, name)
		if err != nil {
			return err
		}
		if err := tx.DeleteTrustedIssuer(ctx, name); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, steward.NewEvent(s.now(), p, steward.ActionIssuerDelete, steward.SubjectIssuer, name, "", reason, cur, nil))
	})
	if err != nil {
		return err
	}
	s.changed(steward.Change{Subject: steward.SubjectIssuer, ID: name})
	return nil
}

// GetIssuer returns one issuer (staff).
func (s *Service) GetIssuer(ctx context.Context, name string) (*steward.TrustedIssuer, error) {
	if _, err := steward.Authorize(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	return s.cfg.Store.GetTrustedIssuer(ctx, name)
}

// ListIssuers returns every issuer (staff).
func (s *Service) ListIssuers(ctx context.Context) ([]*steward.TrustedIssuer, error) {
	if _, err := steward.Authorize(ctx, steward.PermRead); err != nil {
		return nil, err
	}
	return s.cfg.Store.ListTrustedIssuers(ctx)
}

// BindingInput is a new binding of an identity.
type BindingInput struct {
	Issuer  string            `json:"issuer"`
	Subject string            `json:"subject"`
	Claims  map[string]string `json:"claims"`
	Reason  string            `json:"reason"`
}

// Bind adds a binding to an identity: a credential of type federated and
// the binding, recorded as one event on the identity.
func (s *Service) Bind(ctx context.Context, identityID string, in BindingInput) (*steward.FederationBinding, error) {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	now := s.now()
	b := &steward.FederationBinding{ID: ids.New(ids.Credential, now), IdentityID: identityID, Issuer: in.Issuer, Subject: in.Subject,
		Claims: in.Claims, CreatedAt: now, CreatedBy: p.Actor, Status: steward.CredentialActive}
	if b.Claims == nil {
		b.Claims = map[string]string{}
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	err = s.cfg.Store.UpdateFederation(ctx, func(tx steward.FederationTx) error {
		i, err := tx.GetIdentity(ctx, identityID)
		if err != nil {
			return err
		}
		if p.Role == steward.RoleOwner && i.OwnerID != p.OwnerID {
			return steward.Errorf(steward.EFORBIDDEN, "identity %s is not owned by owner %s", i.ID, p.OwnerID)
		}
		if i.Status == steward.StatusRevoked {
			return steward.Errorf(steward.ECONFLICT, "identity %s is revoked", i.ID)
		}
		if _, err := tx.GetTrustedIssuer(ctx, in.Issuer); steward.ErrorCode(err) == steward.ENOTFOUND {
			return steward.FieldError("issuer", "%q is not a trusted issuer", in.Issuer)
		} else if err != nil {
			return err
		}
		meta := map[string]string{"issuer": in.Issuer, "subject": in.Subject}
		c := &steward.BrokerCredential{Credential: steward.Credential{ID: b.ID, IdentityID: i.ID, Type: steward.CredentialTypeFederated,
			Status: steward.CredentialActive, Scopes: slices.Clone(i.Scopes), CreatedAt: now, Metadata: meta}}
		c.Normalize()
		if err := tx.CreateBrokerCredential(ctx, c); err != nil {
			return err
		}
		if err := tx.CreateFederationBinding(ctx, b); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionBindingCreate, steward.SubjectCredential, b.ID, i.ID, in.Reason, nil, b))
	})
	if err != nil {
		return nil, err
	}
	s.changed(steward.Change{Subject: steward.SubjectCredential, ID: b.ID, IdentityID: identityID})
	return b, nil
}

// Unbind revokes a binding (its credential): every token exchanged
// through it becomes inactive at once.
func (s *Service) Unbind(ctx context.Context, bindingID, reason string) (*steward.FederationBinding, error) {
	p, err := steward.Authorize(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	var out *steward.FederationBinding
	err = s.cfg.Store.UpdateFederation(ctx, func(tx steward.FederationTx) error {
		c, err := tx.GetBrokerCredential(ctx, bindingID)
		if err != nil {
			return err
		}
		if c.Type != steward.CredentialTypeFederated {
			return steward.Errorf(steward.ENOTFOUND, "binding %s not found", bindingID)
		}
		i, err := tx.GetIdentity(ctx, c.IdentityID)
		if err != nil {
			return err
		}
		if p.Role == steward.RoleOwner && i.OwnerID != p.OwnerID {
			return steward.Errorf(steward.EFORBIDDEN, "identity %s is not owned by owner %s", i.ID, p.OwnerID)
		}
		if c.Status == steward.CredentialRevoked {
			return steward.Errorf(steward.ECONFLICT, "binding %s is already removed", bindingID)
		}
		before := *c
		now := s.now()
		c.Status, c.RevokedAt = steward.CredentialRevoked, &now
		if err := tx.UpdateBrokerCredential(ctx, c); err != nil {
			return err
		}
		bs, err := tx.ListFederationBindings(ctx, c.IdentityID)
		if err != nil {
			return err
		}
		for _, b := range bs {
			if b.ID == bindingID {
				out = b
			}
		}
		return tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionBindingRemove, steward.SubjectCredential, bindingID, c.IdentityID, reason, &before, c))
	})
	if err != nil {
		return nil, err
	}
	s.changed(steward.Change{Subject: steward.SubjectCredential, ID: bindingID, IdentityID: out.IdentityID})
	return out, nil
}

// ListBindings returns an identity's bindings (staff; owners their own).
func (s *Service) ListBindings(ctx context.Context, identityID string) ([]*steward.FederationBinding, error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		i, err := s.cfg.Store.GetIdentity(ctx, identityID)
		if err != nil {
			return nil, err
		}
		if i.OwnerID != p.OwnerID {
			return nil, steward.Errorf(steward.EFORBIDDEN, "identity %s is not owned by owner %s", i.ID, p.OwnerID)
		}
	}
	return s.cfg.Store.ListFederationBindings(ctx, identityID)
}

// changed tells the node (the broker's caches, this service) about a change.
func (s *Service) changed(ch steward.Change) {
	if s.cfg.Changes == nil {
		s.forget()
		return
	}
	s.cfg.Changes.Publish(ch)
}
