// Package custody keeps external secrets (database passwords, third-party
// keys) encrypted at rest and hands them out only to the identity that
// owns them, to a caller a Cedar policy allows, or in process to a Steward
// component (the gateway). Each version is sealed with envelope encryption
// (internal/secretbox: a fresh data key per version under the master key)
// with the identity id, credential id and version as additional data, so
// a ciphertext cannot be moved to another record. Every read is a usage
// event; every read over the API is also an audit event. A retired
// version's ciphertext is destroyed when its overlap ends, and the
// destruction is recorded.
package custody

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/internal/secretbox"
)

// MaxSecretLen bounds a secret in custody.
const MaxSecretLen = 64 << 10

// Decider asks the policy decision point whether a caller other than the
// identity itself may read a credential's secret
// (Action::"credential:read_secret").
type Decider interface {
	PermitsReadSecret(ctx context.Context, p *steward.Principal, c *steward.Credential) bool
}

// Config configures New.
type Config struct {
	Store steward.CustodyStore
	Box   *secretbox.Box
	Usage steward.UsageRecorder
	// Decider, when set, lets Cedar policies allow reads by other callers.
	Decider Decider
	// Rotators, when set, says whether a rotator name exists.
	Rotators func(ctx context.Context, name string) error
	Clock    clock.Clock
	Logger   *slog.Logger
}

// Service is the custody of external secrets.
type Service struct {
	cfg Config
}

var _ steward.SecretSource = (*Service)(nil)

// New returns the custody service.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Box == nil {
		return nil, errors.New("custody: a store and a master key are required")
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
	return &Service{cfg: c}, nil
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Microsecond) }

// RegisterRequest registers an external secret of an identity.
type RegisterRequest struct {
	Type        string `json:"type"`
	ExternalRef string `json:"external_ref"`
	Secret      string `json:"secret"`
	Rotator     string `json:"rotator,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// Registered is a credential in custody; the secret is not echoed.
type Registered struct {
	steward.Credential
	Rotator string `json:"rotator,omitempty"`
	Version int64  `json:"version"`
}

// SecretRead is what a permitted reader gets.
type SecretRead struct {
	Secret      string `json:"secret"`
	Version     int64  `json:"version"`
	Fingerprint string `json:"fingerprint"`
	// Previous is the retired version, readable by the identity itself
	// during a rotation overlap.
	Previous *PreviousSecret `json:"previous,omitempty"`
}

// PreviousSecret is a retired version still inside its overlap.
type PreviousSecret struct {
	Secret   string    `json:"secret"`
	Version  int64     `json:"version"`
	RetireAt time.Time `json:"retire_at"`
}

// Status is a credential's custody state, without any secret.
type Status struct {
	steward.CustodySecret
	Versions []*steward.SecretVersion `json:"versions"`
}

func require(ctx context.Context) (*steward.Principal, error) {
	return steward.Require(ctx, steward.PermWrite, "manage secrets in custody")
}

func checkSecret(secret []byte) error {
	switch {
	case len(secret) == 0:
		return steward.FieldError("secret", "is required")
	case len(secret) > MaxSecretLen:
		return steward.FieldError("secret", "is longer than %d bytes", MaxSecretLen)
	}
	return nil
}

// Register creates a password credential of an identity with its first
// secret version in custody.
func (s *Service) Register(ctx context.Context, identityID string, in RegisterRequest) (*Registered, error) {
	p, err := require(ctx)
	if err != nil {
		return nil, err
	}
	if in.Type != steward.CredentialTypePassword {
		return nil, steward.FieldError("type", "%q: custody registers type password", in.Type)
	}
	in.ExternalRef = strings.TrimSpace(in.ExternalRef)
	if in.ExternalRef == "" {
		return nil, steward.FieldError("external_ref", "is required (the account at the provider, e.g. the role name)")
	}
	if err := checkSecret([]byte(in.Secret)); err != nil {
		return nil, err
	}
	if in.Rotator != "" && s.cfg.Rotators != nil {
		if err := s.cfg.Rotators(ctx, in.Rotator); err != nil {
			if steward.ErrorCode(err) == steward.ENOTFOUND {
				return nil, steward.FieldError("rotator", "%q is not a rotator", in.Rotator)
			}
			return nil, err
		}
	}
	var out *Registered
	err = s.cfg.Store.UpdateCustody(ctx, func(tx steward.CustodyTx) error {
		i, err := tx.GetIdentity(ctx, identityID)
		if err != nil {
			return err
		}
		if err := p.CheckOwns(i); err != nil {
			return err
		}
		out, err = s.AddTx(ctx, tx, p, i, in)
		return err
	})
	return out, err
}

// AddTx creates, inside tx, a password credential of identity i with its
// first secret version in custody (the request already checked).
func (s *Service) AddTx(ctx context.Context, tx steward.CustodyTx, p *steward.Principal, i *steward.Identity, in RegisterRequest) (*Registered, error) {
	if i.Status == steward.StatusRevoked {
		return nil, steward.Errorf(steward.ECONFLICT, "identity %s is revoked", i.ID)
	}
	if _, err := tx.FindCredentialByRef(ctx, i.ID, in.ExternalRef); err == nil {
		return nil, steward.Errorf(steward.ECONFLICT, "identity %s already has a credential %q", i.ID, in.ExternalRef)
	} else if steward.ErrorCode(err) != steward.ENOTFOUND {
		return nil, err
	}
	now := s.now()
	c := &steward.Credential{ID: ids.New(ids.Credential, now), IdentityID: i.ID, Type: steward.CredentialTypePassword,
		ExternalRef: in.ExternalRef, Fingerprint: steward.Fingerprint([]byte(in.Secret)), Status: steward.CredentialActive,
		Scopes: []string{}, CreatedAt: now, LastRotatedAt: &now, Metadata: map[string]string{"custody": "steward"}}
	if in.Rotator != "" {
		c.Metadata["rotator"] = in.Rotator
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := tx.CreateCredential(ctx, c); err != nil {
		return nil, err
	}
	v, err := s.putVersion(ctx, tx, c, in.Rotator, 1, []byte(in.Secret), now)
	if err != nil {
		return nil, err
	}
	after := map[string]any{"credential": c, "version": v.Version, "fingerprint": v.Fingerprint, "rotator": in.Rotator}
	if err := tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionCredentialCreate, steward.SubjectCredential, c.ID, i.ID, in.Reason, nil, after)); err != nil {
		return nil, err
	}
	return &Registered{Credential: *c, Rotator: in.Rotator, Version: 1}, nil
}

// putVersion seals secret as the current version of c.
func (s *Service) putVersion(ctx context.Context, tx steward.CustodyTx, c *steward.Credential, rotator string, version int64, secret []byte, now time.Time) (*steward.SecretVersion, error) {
	sealed, err := s.Seal(c.IdentityID, c.ID, version, secret)
	if err != nil {
		return nil, err
	}
	if err := tx.PutCustodySecret(ctx, &steward.CustodySecret{CredentialID: c.ID, IdentityID: c.IdentityID, Rotator: rotator, CurrentVersion: version, UpdatedAt: now}); err != nil {
		return nil, err
	}
	v := &steward.SecretVersion{CredentialID: c.ID, IdentityID: c.IdentityID, Version: version, Sealed: sealed,
		Fingerprint: steward.Fingerprint(secret), State: steward.SecretCurrent, CreatedAt: now}
	return v, tx.PutSecretVersion(ctx, v)
}

// Seal encrypts one version of a credential's secret.
func (s *Service) Seal(identityID, credentialID string, version int64, secret []byte) (string, error) {
	sealed, err := s.cfg.Box.Seal(secret, steward.SecretAD(identityID, credentialID, version))
	if err != nil {
		return "", fmt.Errorf("seal secret of credential %s: %w", credentialID, err)
	}
	return sealed, nil
}

// Open decrypts one version; the error names the credential and version.
func (s *Service) Open(v *steward.SecretVersion) ([]byte, error) {
	if v.Sealed == "" {
		return nil, steward.Errorf(steward.ECONFLICT, "version %d of credential %s was destroyed", v.Version, v.CredentialID)
	}
	pt, err := s.cfg.Box.Open(v.Sealed, steward.SecretAD(v.IdentityID, v.CredentialID, v.Version))
	if err != nil {
		return nil, steward.Errorf(steward.EINTERNAL, "the master key cannot open version %d of credential %s: %v", v.Version, v.CredentialID, err)
	}
	return pt, nil
}

// Store replaces a credential's secret with a new version (a rotation done
// outside Steward); the previous version's ciphertext is destroyed at once
// and the destruction recorded.
func (s *Service) Store(ctx context.Context, credentialID string, secret []byte, reason string) (*Registered, error) {
	p, err := require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkSecret(secret); err != nil {
		return nil, err
	}
	var out *Registered
	err = s.cfg.Store.UpdateCustody(ctx, func(tx steward.CustodyTx) error {
		c, err := tx.GetCredential(ctx, credentialID)
		if err != nil {
			return err
		}
		i, err := tx.GetIdentity(ctx, c.IdentityID)
		if err != nil {
			return err
		}
		if err := p.CheckOwns(i); err != nil {
			return err
		}
		if isBrokered(c) {
			return steward.Errorf(steward.ECONFLICT, "credential %s is issued by Steward (%s); it has no external secret", c.ID, c.Type)
		}
		if c.Status != steward.CredentialActive {
			return steward.Errorf(steward.ECONFLICT, "credential %s is %s", c.ID, c.Status)
		}
		now := s.now()
		rotator, version := c.Metadata["rotator"], int64(1)
		cs, err := tx.GetCustodySecret(ctx, c.ID)
		switch {
		case err == nil:
			rotator, version = cs.Rotator, cs.CurrentVersion+1
			if err := s.destroyOthers(ctx, tx, p, c, now, "replaced by version "+fmt.Sprint(version)); err != nil {
				return err
			}
		case steward.ErrorCode(err) != steward.ENOTFOUND:
			return err
		}
		before := *c
		v, err := s.putVersion(ctx, tx, c, rotator, version, secret, now)
		if err != nil {
			return err
		}
		c.Fingerprint, c.LastRotatedAt = v.Fingerprint, &now
		if c.Metadata == nil {
			c.Metadata = map[string]string{}
		}
		c.Metadata["custody"] = "steward"
		if err := tx.UpdateCredential(ctx, c); err != nil {
			return err
		}
		after := map[string]any{"version": version, "old_fingerprint": before.Fingerprint, "new_fingerprint": v.Fingerprint}
		if err := tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionSecretStore, steward.SubjectCredential, c.ID, c.IdentityID, reason, nil, after)); err != nil {
			return err
		}
		out = &Registered{Credential: *c, Rotator: rotator, Version: version}
		return nil
	})
	return out, err
}

// isBrokered reports a credential Steward issued itself (its digest, not a
// secret, is kept).
func isBrokered(c *steward.Credential) bool {
	switch c.Type {
	case steward.CredentialTypeAPIKey, steward.CredentialTypeClientSecret, steward.CredentialTypePrivateKeyJWT:
		return c.Metadata["custody"] == ""
	}
	return false
}

// destroyOthers erases the ciphertext of every version of c but none, and
// records each destruction.
func (s *Service) destroyOthers(ctx context.Context, tx steward.CustodyTx, p *steward.Principal, c *steward.Credential, now time.Time, why string) error {
	vs, err := tx.ListSecretVersions(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.State == steward.SecretDestroyed {
			continue
		}
		if err := Destroy(ctx, tx, p, v, now, why); err != nil {
			return err
		}
	}
	return nil
}

// Destroy erases a version's ciphertext and records it.
func Destroy(ctx context.Context, tx steward.CustodyTx, p *steward.Principal, v *steward.SecretVersion, now time.Time, why string) error {
	v.Sealed, v.State, v.DestroyedAt = "", steward.SecretDestroyed, &now
	if err := tx.PutSecretVersion(ctx, v); err != nil {
		return err
	}
	after := map[string]any{"version": v.Version, "fingerprint": v.Fingerprint, "destroyed_at": now}
	return tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionSecretDestroy, steward.SubjectCredential, v.CredentialID, v.IdentityID, why, nil, after))
}

// DestroyDue destroys retired versions whose overlap ended; it returns how
// many it destroyed.
func (s *Service) DestroyDue(ctx context.Context) (int, error) {
	now := s.now()
	due, err := s.cfg.Store.ListSecretVersionsDue(ctx, now, 500)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	p := steward.SystemPrincipal("custody")
	err = s.cfg.Store.UpdateCustody(ctx, func(tx steward.CustodyTx) error {
		for _, v := range due {
			if err := Destroy(ctx, tx, p, v, now, "rotation overlap ended"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(due), nil
}

// Read returns a credential's current secret to the identity itself or to
// a caller a Cedar policy allows; the read is a usage event and an audit
// event. Anyone else (auditors and operators included) is refused.
func (s *Service) Read(ctx context.Context, credentialID string) (*SecretRead, error) {
	p := steward.PrincipalFrom(ctx)
	if p == nil {
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "authentication required")
	}
	c, err := s.cfg.Store.GetCredential(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	self := p.IsNHI() && subtle.ConstantTimeCompare([]byte(p.IdentityID), []byte(c.IdentityID)) == 1
	if !self && (s.cfg.Decider == nil || !s.cfg.Decider.PermitsReadSecret(ctx, p, c)) {
		s.record(ctx, p, c, "deny", "not the identity itself and no policy allows "+steward.ActionReadSecretPermission)
		return nil, steward.Errorf(steward.EFORBIDDEN, "only identity %s itself, or a caller a policy allows (%s), may read this secret",
			c.IdentityID, steward.ActionReadSecretPermission)
	}
	now := s.now()
	c.Effective(now)
	if c.Status != steward.CredentialActive {
		return nil, steward.Errorf(steward.ECONFLICT, "credential %s is %s", c.ID, c.Status)
	}
	cur, prev, err := s.versions(ctx, c.ID, now)
	if err != nil {
		return nil, err
	}
	secret, err := s.Open(cur)
	if err != nil {
		return nil, err
	}
	out := &SecretRead{Secret: string(secret), Version: cur.Version, Fingerprint: cur.Fingerprint}
	if prev != nil && self {
		if old, err := s.Open(prev); err == nil {
			out.Previous = &PreviousSecret{Secret: string(old), Version: prev.Version, RetireAt: *prev.RetireAt}
		}
	}
	err = s.cfg.Store.UpdateCustody(ctx, func(tx steward.CustodyTx) error {
		after := map[string]any{"version": cur.Version, "fingerprint": cur.Fingerprint, "self": self}
		return tx.AppendEvent(ctx, steward.NewEvent(now, p, steward.ActionSecretRead, steward.SubjectCredential, c.ID, c.IdentityID, "", nil, after))
	})
	if err != nil {
		return nil, err
	}
	s.record(ctx, p, c, "ok", "")
	return out, nil
}

// versions returns the current version and the previous one when it is
// still inside its overlap.
func (s *Service) versions(ctx context.Context, credentialID string, now time.Time) (cur, prev *steward.SecretVersion, err error) {
	cs, err := s.cfg.Store.GetCustodySecret(ctx, credentialID)
	if err != nil {
		return nil, nil, err
	}
	vs, err := s.cfg.Store.ListSecretVersions(ctx, credentialID)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range vs {
		switch {
		case v.Version == cs.CurrentVersion:
			cur = v
		case v.State == steward.SecretPrevious && v.RetireAt != nil && now.Before(*v.RetireAt) && prev == nil:
			prev = v
		}
	}
	if cur == nil {
		return nil, nil, steward.Errorf(steward.EINTERNAL, "credential %s: current version %d is missing from custody", credentialID, cs.CurrentVersion)
	}
	return cur, prev, nil
}

// CurrentSecret returns the current version of a credential's secret to a
// Steward component in this process (the gateway), without an HTTP
// principal check. The read is a usage event naming the component (from
// steward.WithComponent). Nothing is cached: a rotated secret is returned
// by the next call.
func (s *Service) CurrentSecret(ctx context.Context, credentialID string) ([]byte, error) {
	c, err := s.cfg.Store.GetCredential(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	cur, _, err := s.versions(ctx, credentialID, s.now())
	if err != nil {
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			return nil, steward.Errorf(steward.ENOTFOUND, "credential %s has no secret in custody", credentialID)
		}
		return nil, err
	}
	secret, err := s.Open(cur)
	if err != nil {
		return nil, err
	}
	s.record(ctx, &steward.Principal{Actor: "system:" + ComponentOr(ctx, "unknown")}, c, "ok", "")
	return secret, nil
}

// ComponentOr returns the component named in ctx, or def.
func ComponentOr(ctx context.Context, def string) string {
	if c := steward.ComponentFrom(ctx); c != "" {
		return c
	}
	return def
}

// Status returns a credential's custody state (versions and fingerprints,
// never a secret).
func (s *Service) Status(ctx context.Context, credentialID string) (*Status, error) {
	p := steward.PrincipalFrom(ctx)
	if p == nil || !p.Can(steward.PermRead) {
		return nil, steward.Errorf(steward.EFORBIDDEN, "authentication with a read role required")
	}
	cs, err := s.cfg.Store.GetCustodySecret(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		i, err := s.cfg.Store.GetIdentity(ctx, cs.IdentityID)
		if err != nil {
			return nil, err
		}
		if err := p.CheckOwns(i); err != nil {
			return nil, err
		}
	}
	vs, err := s.cfg.Store.ListSecretVersions(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	return &Status{CustodySecret: *cs, Versions: vs}, nil
}

// The acting agent and the subject it acts for of a delegated caller are
// its attributes.
func (s *Service) record(ctx context.Context, p *steward.Principal, c *steward.Credential, outcome, reason string) {
	src := steward.RequestSourceFrom(ctx)
	s.cfg.Usage.Record(ctx, steward.UsageEvent{ID: ids.New("use_", s.now()), Time: s.now(), Kind: steward.UsageSecretRead,
		IdentityID: c.IdentityID, CredentialID: c.ID, Subject: p.Actor, Action: steward.ActionReadSecretPermission,
		Resource: "credential:" + c.ID, Source: src.Addr, UserAgent: src.UserAgent, Outcome: outcome, Reason: reason,
		Attributes: p.Delegation.UsageAttributes()})
}

// PutRequest stores a new version of a credential's secret.
type PutRequest struct {
	Secret string `json:"secret"`
	Reason string `json:"reason,omitempty"`
}

// Put is Store for the API's JSON body.
func (s *Service) Put(ctx context.Context, credentialID string, in PutRequest) (*Registered, error) {
	return s.Store(ctx, credentialID, []byte(in.Secret), in.Reason)
}
