package steward

import (
	"context"
	"net/netip"
	"strconv"
	"time"
)

// Credential types issued by Steward's credential broker.
const (
	CredentialTypeAPIKey        = "api_key"
	CredentialTypeClientSecret  = "client_secret"
	CredentialTypePrivateKeyJWT = "private_key_jwt"
)

// Event actions recorded by the credential broker.
const (
	ActionCredentialIssue       = "credential.issue"
	ActionCredentialRotate      = "credential.rotate"
	ActionCredentialRevoke      = "credential.revoke"
	ActionCredentialExtend      = "credential.extend"
	ActionCredentialExpire      = "credential.expire"
	ActionAccessTokenRevoke     = "access_token.revoke"
	ActionSigningKeyCreate      = "signing_key.create"
	ActionSigningKeyRotate      = "signing_key.rotate"
	SubjectSigningKey           = "signing_key"
	SubjectAccessToken          = "access_token"
	MaxAllowedCIDRs             = 64
	MaxCredentialOverlap        = 30 * day
	DefaultAccessTokenLifetime  = 10 * time.Minute
	MaxAccessTokenLifetimeLimit = 24 * time.Hour
)

// BrokerCredential is a credential that Steward issued, with what it needs
// to verify it. The secret itself is never kept: Digest is a keyed digest
// (HMAC-SHA256 with the server's pepper) and Fingerprint its SHA-256.
type BrokerCredential struct {
	Credential
	Digest        string   `json:"-"`
	AllowedCIDRs  []string `json:"allowed_cidrs"`
	PublicJWK     string   `json:"public_jwk,omitempty"`
	PredecessorID string   `json:"predecessor_id,omitempty"`
}

// RevocationScope says where revoking the credential takes effect: Steward
// enforces it for what Steward verifies itself (the keys and client secrets
// it issued, private_key_jwt clients, federation bindings); any other
// credential (imported, or a password in custody) is only marked in the
// inventory and may still work where it is used.
func (c *BrokerCredential) RevocationScope() string {
	if c.Digest != "" || c.PublicJWK != "" || c.Type == CredentialTypeFederated {
		return RevokedSteward
	}
	return RevokedInventoryOnly
}

// Normalize truncates times to what the store keeps.
func (c *BrokerCredential) Normalize() {
	c.Credential.Normalize()
	c.OverlapUntil = TruncTime(c.OverlapUntil)
	if c.AllowedCIDRs == nil {
		c.AllowedCIDRs = []string{}
	}
}

// ValidateCIDRs checks a list of allowed source networks.
func ValidateCIDRs(cidrs []string) error {
	if len(cidrs) > MaxAllowedCIDRs {
		return FieldError("allowed_cidrs", "has more than %d entries", MaxAllowedCIDRs)
	}
	for n, c := range cidrs {
		if _, err := netip.ParsePrefix(c); err != nil {
			if _, err2 := netip.ParseAddr(c); err2 != nil {
				return FieldError("allowed_cidrs["+strconv.Itoa(n)+"]", "%q is not a CIDR prefix like 10.0.0.0/8", c)
			}
		}
	}
	return nil
}

// ActiveAt reports whether the credential may authenticate at now: active,
// not revoked and not past its expiry (which includes the end of a
// rotation overlap).
func (c *BrokerCredential) ActiveAt(now time.Time) bool {
	if c.Status != CredentialActive || c.RevokedAt != nil {
		return false
	}
	if c.ExpiresAt != nil && !now.Before(*c.ExpiresAt) {
		return false
	}
	if c.OverlapUntil != nil && !now.Before(*c.OverlapUntil) {
		return false
	}
	return true
}

// SigningKey is a key the broker signs access tokens with. The private key
// is sealed with the master key (internal/secretbox); the public key is
// served in the JWKS until every token it signed has expired.
type SigningKey struct {
	KID           string     `json:"kid"`
	Algorithm     string     `json:"alg"`
	PublicJWK     string     `json:"public_jwk"`
	PrivateSealed string     `json:"-"`
	Status        string     `json:"status"` // active (signs), retired (verifies only)
	CreatedAt     time.Time  `json:"created_at"`
	RetiredAt     *time.Time `json:"retired_at"`
	// PublishUntil is when a retired key leaves the JWKS: its retirement
	// plus the longest access-token lifetime.
	PublishUntil *time.Time `json:"publish_until"`
}

// Signing key states.
const (
	SigningKeyActive  = "active"
	SigningKeyRetired = "retired"
)

// RevokedJTI is an access token revoked before its expiry: it stays on the
// deny list until ExpiresAt.
type RevokedJTI struct {
	JTI          string    `json:"jti"`
	CredentialID string    `json:"credential_id"`
	IdentityID   string    `json:"identity_id"`
	ExpiresAt    time.Time `json:"expires_at"`
	RevokedAt    time.Time `json:"revoked_at"`
	// RevokedWhere is always RevokedSteward (Steward's deny list refuses
	// the token); said in the revocation's event, not stored.
	RevokedWhere string `json:"revoked_where,omitempty"`
}

// ChangeRef is the part of an event that tells a cache what to forget.
type ChangeRef struct {
	Seq         int64
	Action      string
	SubjectType string
	SubjectID   string
	IdentityID  string
}

// BrokerReader reads the broker's state.
type BrokerReader interface {
	GetBrokerCredential(ctx context.Context, id string) (*BrokerCredential, error)
	// FindCredentialByDigest returns the credential whose keyed digest is
	// digest, or ENOTFOUND.
	FindCredentialByDigest(ctx context.Context, digest string) (*BrokerCredential, error)
	// FindCredentialsByClientID returns every credential of an OAuth2
	// client (several during a rotation overlap), newest first.
	FindCredentialsByClientID(ctx context.Context, clientID string) ([]*BrokerCredential, error)
	ListBrokerCredentials(ctx context.Context, identityID string) ([]*BrokerCredential, error)
	// ListCredentialsDue returns active broker-issued credentials whose
	// expiry or rotation overlap has passed at now.
	ListCredentialsDue(ctx context.Context, now time.Time, limit int) ([]*BrokerCredential, error)
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	// ListRevokedJTIs returns deny-list entries that have not expired at now.
	ListRevokedJTIs(ctx context.Context, now time.Time) ([]*RevokedJTI, error)
	// ChangesSince returns the events after seq, oldest first.
	ChangesSince(ctx context.Context, seq int64, limit int) ([]ChangeRef, error)
}

// BrokerTx is what the broker writes inside a transaction; the store's Tx
// implements it alongside Tx.
type BrokerTx interface {
	Tx
	BrokerReader
	CreateBrokerCredential(ctx context.Context, c *BrokerCredential) error
	UpdateBrokerCredential(ctx context.Context, c *BrokerCredential) error
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	UpdateSigningKey(ctx context.Context, k *SigningKey) error
	RevokeJTI(ctx context.Context, r *RevokedJTI) error
	// UseAssertionJTI records a client assertion's jti; a second use of the
	// same (client, jti) before expiry is ECONFLICT.
	UseAssertionJTI(ctx context.Context, clientID, jti string, expires time.Time) error
}

// BrokerStore is a Store whose transactions are BrokerTx.
type BrokerStore interface {
	Store
	BrokerReader
	// UpdateBroker runs fn in one write transaction with the broker's
	// methods, committed if fn returns nil.
	UpdateBroker(ctx context.Context, fn func(tx BrokerTx) error) error
	// SettingStore keeps the issuer every node shares.
	SettingStore
	// TouchCredentials records last use of credentials and identities in
	// one batch, never moving a time backwards.
	TouchCredentials(ctx context.Context, credentials, identities map[string]time.Time) error
	// PurgeExpired drops deny-list and assertion entries expired at now.
	PurgeExpired(ctx context.Context, now time.Time) error
}

// RequestSource is where a request came from, for credentials bound to
// networks and for usage events.
type RequestSource struct {
	Addr      string
	UserAgent string
}

type sourceKey struct{}

// WithRequestSource returns ctx carrying the request's source.
func WithRequestSource(ctx context.Context, s RequestSource) context.Context {
	return context.WithValue(ctx, sourceKey{}, s)
}

// RequestSourceFrom returns the request's source in ctx, if any.
func RequestSourceFrom(ctx context.Context) RequestSource {
	s, _ := ctx.Value(sourceKey{}).(RequestSource)
	return s
}
