package broker

import (
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// ClientIDPrefix starts every OAuth2 client id the broker assigns.
const ClientIDPrefix = "cli_"

// IssueRequest asks for a new credential of an identity.
type IssueRequest struct {
	// Type is api_key (default), client_secret or private_key_jwt.
	Type string `json:"type"`
	// TTL is the credential's lifetime, capped by the identity's tier
	// (and by the identity's own expiry); default: the tier's maximum.
	TTL *steward.Duration `json:"ttl,omitempty"`
	// Scopes must be a subset of the identity's; default: all of them.
	Scopes []string `json:"scopes,omitempty"`
	// AllowedCIDRs, when set, restrict where the credential may be used.
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
	// PublicJWK is the client's public key (private_key_jwt only).
	PublicJWK json.RawMessage `json:"public_jwk,omitempty"`
	// Reason is recorded in the event.
	Reason string `json:"reason,omitempty"`
}

// Issued is a new credential; Secret is shown once and never stored.
type Issued struct {
	ID            string     `json:"id"`
	Type          string     `json:"type"`
	Secret        string     `json:"secret,omitempty"`
	Fingerprint   string     `json:"fingerprint"`
	ExpiresAt     *time.Time `json:"expires_at"`
	ClientID      string     `json:"client_id,omitempty"`
	IdentityID    string     `json:"identity_id"`
	Scopes        []string   `json:"scopes"`
	AllowedCIDRs  []string   `json:"allowed_cidrs"`
	PredecessorID string     `json:"predecessor_id,omitempty"`
	// TTLCapped says the requested lifetime was cut to the tier's maximum.
	TTLCapped bool `json:"ttl_capped,omitempty"`
}

// RotateRequest asks for a successor credential.
type RotateRequest struct {
	// Overlap is how long the predecessor stays valid (default 0: it is
	// revoked at once; at most 30 days and never beyond its expiry).
	Overlap *steward.Duration `json:"overlap,omitempty"`
	// PublicJWK is the successor's public key (private_key_jwt only).
	PublicJWK json.RawMessage `json:"public_jwk,omitempty"`
	Reason    string          `json:"reason,omitempty"`
}

// Rotated is the outcome of a rotation.
type Rotated struct {
	Issued
	Predecessor *steward.BrokerCredential `json:"predecessor"`
}

// RevokeRequest revokes a credential.
type RevokeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ExtendRequest extends a credential's lifetime from now.
type ExtendRequest struct {
	TTL    steward.Duration `json:"ttl"`
	Reason string           `json:"reason"`
}

var credentialTypes = []string{steward.CredentialTypeAPIKey, steward.CredentialTypeClientSecret, steward.CredentialTypePrivateKeyJWT}

// parseClientJWK reads a client's registered public key.
func parseClientJWK(raw json.RawMessage) (*jose.JSONWebKey, string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", steward.FieldError("public_jwk", "is required for a private_key_jwt client")
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, "", steward.FieldError("public_jwk", "is not a JSON Web Key: %v", err)
	}
	if !jwk.Valid() || !jwk.IsPublic() {
		return nil, "", steward.FieldError("public_jwk", "must be a valid public key (no private parts)")
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", steward.FieldError("public_jwk", "has no thumbprint: %v", err)
	}
	pub := jwk.Public()
	return &pub, hex.EncodeToString(tp), nil
}

// lifetime returns the expiry of a credential issued at now for identity
// i: the requested TTL (default: the tier's maximum) capped by the tier's
// maximum and the identity's expiry.
func (b *Broker) lifetime(i *steward.Identity, ttl *steward.Duration, now time.Time) (*time.Time, bool, error) {
	max := time.Duration(b.policy[i.Sensitivity].MaxLifetime)
	if max <= 0 {
		max = time.Duration(steward.DefaultPolicy()[steward.SensitivityCritical].MaxLifetime)
	}
	d := max
	capped := false
	if ttl != nil {
		if *ttl <= 0 {
			return nil, false, steward.FieldError("ttl", "must be positive")
		}
		d = time.Duration(*ttl)
		if d > max {
			d, capped = max, true
		}
	}
	exp := now.Add(d)
	if i.ExpiresAt != nil && i.ExpiresAt.Before(exp) {
		exp, capped = *i.ExpiresAt, capped || ttl != nil
	}
	if !exp.After(now) {
		return nil, false, steward.Errorf(steward.ECONFLICT, "identity %s expires at %s; it cannot get a credential", i.ID, i.ExpiresAt.Format(time.RFC3339))
	}
	return &exp, capped, nil
}

// usable refuses identities that may not hold new credentials.
func usable(i *steward.Identity) error {
	if i.Status != steward.StatusActive {
		return steward.Errorf(steward.ECONFLICT, "identity %s is %s; only an active identity can get credentials", i.ID, i.Status)
	}
	return nil
}

// Issue creates a credential for an identity and returns its secret once.
func (b *Broker) Issue(ctx context.Context, identityID string, in IssueRequest) (*Issued, error) {
	p, err := require(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if in.Type == "" {
		in.Type = steward.CredentialTypeAPIKey
	}
	if !contains(credentialTypes, in.Type) {
		return nil, steward.FieldError("type", "%q is not one of api_key, client_secret, private_key_jwt", in.Type)
	}
	in.Scopes = steward.NormalizeScopes(in.Scopes)
	if err := steward.ValidateCIDRs(in.AllowedCIDRs); err != nil {
		return nil, err
	}
	if in.Type != steward.CredentialTypePrivateKeyJWT && len(in.PublicJWK) > 0 {
		return nil, steward.FieldError("public_jwk", "only a private_key_jwt client registers a public key")
	}
	var out *Issued
	err = b.update(ctx, func(tx steward.BrokerTx) error {
		i, err := tx.GetIdentity(ctx, identityID)
		if err != nil {
			return err
		}
		if err := checkOwns(p, i); err != nil {
			return err
		}
		if err := usable(i); err != nil {
			return err
		}
		scopes := in.Scopes
		if len(scopes) == 0 {
			scopes = i.Scopes
		}
		if w, ok := subset(i.Scopes, scopes); !ok {
			return steward.FieldError("scopes", "%q is not granted to identity %s (granted: %s)", w, i.ID, strings.Join(i.Scopes, " "))
		}
		now := b.now()
		exp, capped, err := b.lifetime(i, in.TTL, now)
		if err != nil {
			return err
		}
		c, secret, err := b.newCredential(i.ID, in.Type, in.PublicJWK, now)
		if err != nil {
			return err
		}
		c.Scopes, c.AllowedCIDRs, c.ExpiresAt = scopes, normalizeCIDRs(in.AllowedCIDRs), exp
		if capped {
			c.Metadata["ttl_capped"] = "true"
		}
		if err := tx.CreateBrokerCredential(ctx, c); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, b.newEvent(p, steward.ActionCredentialIssue, steward.SubjectCredential, c.ID, i.ID, trim(in.Reason), nil, c)); err != nil {
			return err
		}
		out = issued(c, secret)
		out.TTLCapped = capped
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.log.InfoContext(ctx, "credential issued", "credential_id", out.ID, "identity_id", identityID, "type", out.Type, "fingerprint", out.Fingerprint, "actor", p.Actor)
	return out, nil
}

func issued(c *steward.BrokerCredential, secret string) *Issued {
	return &Issued{ID: c.ID, Type: c.Type, Secret: secret, Fingerprint: c.Fingerprint, ExpiresAt: c.ExpiresAt, ClientID: c.ClientID,
		IdentityID: c.IdentityID, Scopes: c.Scopes, AllowedCIDRs: c.AllowedCIDRs, PredecessorID: c.PredecessorID}
}

// newCredential builds a credential record and, for secret types, its
// secret.
func (b *Broker) newCredential(identityID, typ string, jwk json.RawMessage, now time.Time) (*steward.BrokerCredential, string, error) {
	c := &steward.BrokerCredential{Credential: steward.Credential{ID: ids.New(ids.Credential, now), IdentityID: identityID, Type: typ,
		Status: steward.CredentialActive, CreatedAt: now, Metadata: map[string]string{"issuer": "steward"}, Scopes: []string{}}, AllowedCIDRs: []string{}}
	secret := ""
	switch typ {
	case steward.CredentialTypePrivateKeyJWT:
		pub, tp, err := parseClientJWK(jwk)
		if err != nil {
			return nil, "", err
		}
		pj, err := json.Marshal(pub)
		if err != nil {
			return nil, "", err
		}
		c.PublicJWK, c.Fingerprint, c.ClientID = string(pj), tp, ClientIDPrefix+ids.New("", now)
	default:
		secret = NewSecret()
		c.Digest, c.Fingerprint, c.Hint = b.digester.digest(secret), steward.Fingerprint([]byte(secret)), Hint(secret)
		if typ == steward.CredentialTypeClientSecret {
			c.ClientID = ClientIDPrefix + ids.New("", now)
		}
	}
	c.ExternalRef = c.ClientID
	return c, secret, nil
}

func normalizeCIDRs(cs []string) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > steward.MaxTextLen {
		s = s[:steward.MaxTextLen]
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// credReader reads a broker credential and an identity: the store, or a
// transaction.
type credReader interface {
	GetBrokerCredential(ctx context.Context, id string) (*steward.BrokerCredential, error)
	GetIdentity(ctx context.Context, id string) (*steward.Identity, error)
}

// load reads a broker credential and its identity, for a read or a change
// by p.
func (b *Broker) load(ctx context.Context, r credReader, p *steward.Principal, id string) (*steward.BrokerCredential, *steward.Identity, error) {
	c, err := r.GetBrokerCredential(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	i, err := r.GetIdentity(ctx, c.IdentityID)
	if err != nil {
		return nil, nil, err
	}
	if err := checkOwns(p, i); err != nil {
		return nil, nil, err
	}
	return c, i, nil
}

// Get returns a credential's metadata (never a secret or digest).
func (b *Broker) Get(ctx context.Context, id string) (*steward.BrokerCredential, error) {
	p, err := require(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	c, _, err := b.load(ctx, b.store, p, id)
	if err != nil {
		return nil, err
	}
	c.Effective(b.now())
	return c, nil
}

// List returns an identity's credentials.
func (b *Broker) List(ctx context.Context, identityID string) ([]*steward.BrokerCredential, error) {
	p, err := require(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	i, err := b.store.GetIdentity(ctx, identityID)
	if err != nil {
		return nil, err
	}
	if err := checkOwns(p, i); err != nil {
		return nil, err
	}
	cs, err := b.store.ListBrokerCredentials(ctx, identityID)
	if err != nil {
		return nil, err
	}
	now := b.now()
	for _, c := range cs {
		c.Effective(now)
	}
	return cs, nil
}

// loadActive loads a credential Steward issued, and its identity, for a
// change by p that only an active credential allows (verb names it), and
// returns the time it was found active.
func (b *Broker) loadActive(ctx context.Context, tx steward.BrokerTx, p *steward.Principal, id, verb string) (*steward.BrokerCredential, *steward.Identity, time.Time, error) {
	c, i, err := b.load(ctx, tx, p, id)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	if err := brokerIssued(c); err != nil {
		return nil, nil, time.Time{}, err
	}
	now := b.now()
	if !c.ActiveAt(now) {
		return nil, nil, time.Time{}, steward.Errorf(steward.ECONFLICT, "credential %s is %s; only an active credential can be %s", id, state(c, now), verb)
	}
	return c, i, now, nil
}

// brokerIssued refuses credentials Steward did not issue (imported ones
// are only recorded, not managed).
func brokerIssued(c *steward.BrokerCredential) error {
	if c.Digest == "" && c.PublicJWK == "" {
		return steward.Errorf(steward.ECONFLICT, "credential %s was not issued by Steward; rotate it at its provider", c.ID)
	}
	return nil
}

// Rotate issues a successor of a credential; the predecessor stays valid
// for the overlap only. The rotation is recorded with both fingerprints.
func (b *Broker) Rotate(ctx context.Context, id string, in RotateRequest) (*Rotated, error) {
	p, err := require(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	var overlap time.Duration
	if in.Overlap != nil {
		overlap = time.Duration(*in.Overlap)
	}
	if overlap < 0 || overlap > steward.MaxCredentialOverlap {
		return nil, steward.FieldError("overlap", "must be between 0 and %s", steward.Duration(steward.MaxCredentialOverlap))
	}
	var out *Rotated
	err = b.update(ctx, func(tx steward.BrokerTx) error {
		old, i, now, err := b.loadActive(ctx, tx, p, id, "rotated")
		if err != nil {
			return err
		}
		if err := usable(i); err != nil {
			return err
		}
		if old.Type != steward.CredentialTypePrivateKeyJWT && len(in.PublicJWK) > 0 {
			return steward.FieldError("public_jwk", "only a private_key_jwt client registers a public key")
		}
		// The successor lives as long as the predecessor was meant to.
		life := steward.Duration(time.Hour * 24 * 90)
		if old.ExpiresAt != nil {
			life = steward.Duration(old.ExpiresAt.Sub(old.CreatedAt))
		}
		exp, _, err := b.lifetime(i, &life, now)
		if err != nil {
			return err
		}
		n, secret, err := b.newCredential(i.ID, old.Type, in.PublicJWK, now)
		if err != nil {
			return err
		}
		if old.ClientID != "" {
			n.ClientID, n.ExternalRef = old.ClientID, old.ExternalRef
		}
		w, ok := subset(i.Scopes, old.Scopes)
		if !ok {
			return steward.Errorf(steward.ECONFLICT, "scope %q of credential %s is no longer granted to identity %s; issue a new credential instead", w, id, i.ID)
		}
		n.Scopes, n.AllowedCIDRs, n.ExpiresAt, n.PredecessorID, n.LastRotatedAt = old.Scopes, old.AllowedCIDRs, exp, old.ID, &now
		before := *old
		until := now.Add(overlap)
		if old.ExpiresAt != nil && old.ExpiresAt.Before(until) {
			until = *old.ExpiresAt
		}
		// The identity's row first, then the credentials': the order
		// every writer of both follows (sqlstore's last-use flushes, an
		// identity's revocation), so that they cannot deadlock.
		ni := *i
		ni.LastRotatedAt, ni.UpdatedAt, ni.Version = &now, now, i.Version+1
		if err := tx.UpdateIdentity(ctx, &ni); err != nil {
			return err
		}
		old.LastRotatedAt = &now
		if overlap == 0 {
			old.Status, old.RevokedAt, old.RevokedWhere = steward.CredentialRevoked, &now, steward.RevokedSteward
		} else {
			old.OverlapUntil = &until
			old.Metadata["successor_id"] = n.ID
		}
		if err := tx.UpdateBrokerCredential(ctx, old); err != nil {
			return err
		}
		if err := tx.CreateBrokerCredential(ctx, n); err != nil {
			return err
		}
		evidence := map[string]any{"old_credential_id": old.ID, "new_credential_id": n.ID, "old_fingerprint": old.Fingerprint, "new_fingerprint": n.Fingerprint,
			"rotated_at": now, "overlap_until": until, "overlap": steward.Duration(overlap).String()}
		reason := trim(in.Reason)
		if reason == "" {
			reason = "rotation"
		}
		if err := tx.AppendEvent(ctx, b.newEvent(p, steward.ActionCredentialRotate, steward.SubjectCredential, old.ID, i.ID, reason, &before, evidence)); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, b.newEvent(p, steward.ActionCredentialIssue, steward.SubjectCredential, n.ID, i.ID, "rotation of "+old.ID, nil, n)); err != nil {
			return err
		}
		out = &Rotated{Issued: *issued(n, secret), Predecessor: old}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.changed(credentialChange(out.Predecessor))
	b.log.InfoContext(ctx, "credential rotated", "credential_id", id, "successor_id", out.ID, "old_fingerprint", out.Predecessor.Fingerprint, "new_fingerprint", out.Fingerprint, "actor", p.Actor)
	return out, nil
}

// state names why a credential is not active.
func state(c *steward.BrokerCredential, now time.Time) string {
	switch {
	case c.Status != steward.CredentialActive:
		return string(c.Status)
	case c.RevokedAt != nil:
		return "revoked"
	case c.OverlapUntil != nil && !now.Before(*c.OverlapUntil):
		return "replaced (rotation overlap ended)"
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Revoke revokes a credential at once; tokens minted with it stop
// verifying on the next request.
func (b *Broker) Revoke(ctx context.Context, id string, in RevokeRequest) (*steward.BrokerCredential, error) {
	p, err := require(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	return b.revoke(ctx, p, id, in.Reason)
}

func (b *Broker) revoke(ctx context.Context, p *steward.Principal, id, reason string) (*steward.BrokerCredential, error) {
	var out *steward.BrokerCredential
	err := b.update(ctx, func(tx steward.BrokerTx) error {
		c, _, err := b.load(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if c.Status == steward.CredentialRevoked {
			return steward.Errorf(steward.ECONFLICT, "credential %s is already revoked", id)
		}
		before := *c
		now := b.now()
		c.Status, c.RevokedAt, c.RevokedWhere = steward.CredentialRevoked, &now, c.RevocationScope()
		if err := tx.UpdateBrokerCredential(ctx, c); err != nil {
			return err
		}
		reason = trim(reason)
		if reason == "" {
			reason = string(steward.ReasonManual)
		}
		out = c
		return tx.AppendEvent(ctx, b.newEvent(p, steward.ActionCredentialRevoke, steward.SubjectCredential, c.ID, c.IdentityID, reason, &before, c))
	})
	if err != nil {
		return nil, err
	}
	b.changed(credentialChange(out))
	b.log.InfoContext(ctx, "credential revoked", "credential_id", id, "identity_id", out.IdentityID, "fingerprint", out.Fingerprint, "where", out.RevokedWhere, "actor", p.Actor)
	return out, nil
}

// Extend moves a credential's expiry to now+TTL, capped by the tier's
// maximum lifetime; each extension is recorded and counted so that
// standing access shows.
func (b *Broker) Extend(ctx context.Context, id string, in ExtendRequest) (*steward.BrokerCredential, error) {
	p, err := require(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if in.TTL <= 0 {
		return nil, steward.FieldError("ttl", "is required and must be positive, e.g. 720h")
	}
	var out *steward.BrokerCredential
	err = b.update(ctx, func(tx steward.BrokerTx) error {
		c, i, now, err := b.loadActive(ctx, tx, p, id, "extended")
		if err != nil {
			return err
		}
		if c.OverlapUntil != nil {
			return steward.Errorf(steward.ECONFLICT, "credential %s was rotated; its overlap cannot be extended", id)
		}
		if err := usable(i); err != nil {
			return err
		}
		exp, capped, err := b.lifetime(i, &in.TTL, now)
		if err != nil {
			return err
		}
		if c.ExpiresAt != nil && !exp.After(*c.ExpiresAt) {
			why := ""
			if capped {
				why = " (the " + string(i.Sensitivity) + " tier's maximum lifetime, or the identity's expiry, caps it there)"
			}
			return steward.Errorf(steward.ECONFLICT, "credential %s already expires at %s; extending it by %s would end it at %s%s, "+
				"which is not later: an extension only lengthens a lifetime (revoke or rotate the credential to end it sooner)",
				id, c.ExpiresAt.Format(time.RFC3339), in.TTL, exp.Format(time.RFC3339), why)
		}
		before := *c
		before.Metadata = cloneMap(c.Metadata)
		n, _ := strconv.Atoi(c.Metadata["extensions"])
		c.Metadata["extensions"] = strconv.Itoa(n + 1)
		c.Metadata["last_extended_at"] = now.Format(time.RFC3339)
		c.ExpiresAt = exp
		if err := tx.UpdateBrokerCredential(ctx, c); err != nil {
			return err
		}
		reason := trim(in.Reason)
		if capped {
			reason = strings.TrimSpace(reason + " (capped at the " + string(i.Sensitivity) + " tier's maximum lifetime)")
		}
		out = c
		return tx.AppendEvent(ctx, b.newEvent(p, steward.ActionCredentialExtend, steward.SubjectCredential, c.ID, i.ID, reason, &before, c))
	})
	if err != nil {
		return nil, err
	}
	b.changed(credentialChange(out))
	return out, nil
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ExpireDue marks broker-issued credentials whose expiry passed as expired
// and rotated predecessors whose overlap ended as revoked, each with its
// event (actor system:broker). Verification enforces both anyway; this
// keeps the inventory truthful.
func (b *Broker) ExpireDue(ctx context.Context) (int, error) {
	p := steward.SystemPrincipal("broker")
	now := b.now()
	due, err := b.store.ListCredentialsDue(ctx, now, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		err := b.update(ctx, func(tx steward.BrokerTx) error {
			c, err := tx.GetBrokerCredential(ctx, d.ID)
			if err != nil || c.Status != steward.CredentialActive {
				return err
			}
			before := *c
			action, reason := steward.ActionCredentialExpire, "expired"
			if c.OverlapUntil != nil && !now.Before(*c.OverlapUntil) {
				c.Status, c.RevokedAt, c.RevokedWhere = steward.CredentialRevoked, &now, steward.RevokedSteward
				action, reason = steward.ActionCredentialRevoke, string(steward.ReasonRotation)+": overlap ended"
			} else {
				c.Status = steward.CredentialExpired
			}
			if err := tx.UpdateBrokerCredential(ctx, c); err != nil {
				return err
			}
			n++
			return tx.AppendEvent(ctx, b.newEvent(p, action, steward.SubjectCredential, c.ID, c.IdentityID, reason, &before, c))
		})
		if err != nil {
			return n, fmt.Errorf("expire credential %s: %w", d.ID, err)
		}
		b.changed(credentialChange(d))
	}
	return n, nil
}
