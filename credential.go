package steward

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"time"
)

// CredentialStatus is a credential's state.
type CredentialStatus string

// Credential states.
const (
	CredentialActive   CredentialStatus = "active"
	CredentialInactive CredentialStatus = "inactive"
	CredentialRevoked  CredentialStatus = "revoked"
	CredentialExpired  CredentialStatus = "expired"
)

// Credential is a secret that authenticates an identity. Steward keeps its
// fingerprint (SHA-256 of the secret) and metadata, never the secret.
type Credential struct {
	ID            string           `json:"id"`
	IdentityID    string           `json:"identity_id"`
	Type          string           `json:"type"`
	ExternalRef   string           `json:"external_ref"`
	Fingerprint   string           `json:"fingerprint"`
	Hint          string           `json:"hint"`
	Status        CredentialStatus `json:"status"`
	Scopes        []string         `json:"scopes"`
	CreatedAt     time.Time        `json:"created_at"`
	ExpiresAt     *time.Time       `json:"expires_at"`
	LastRotatedAt *time.Time       `json:"last_rotated_at"`
	LastUsedAt    *time.Time       `json:"last_used_at"`
	RevokedAt     *time.Time       `json:"revoked_at"`
	// RevokedWhere says where a revocation took effect: RevokedSteward,
	// RevokedProvider or RevokedInventoryOnly; empty while not revoked.
	RevokedWhere string `json:"revoked_where,omitempty"`
	// OverlapUntil is when a rotated credential stops working (its
	// successor took over); nil for one never rotated with an overlap.
	OverlapUntil *time.Time `json:"overlap_until,omitempty"`
	// ClientID is the OAuth2 client id of a client secret or
	// private_key_jwt client that Steward issued.
	ClientID string            `json:"client_id,omitempty"`
	Metadata map[string]string `json:"metadata"`
}

var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Fingerprint returns the lowercase SHA-256 hex of a secret.
func Fingerprint(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}

// ValidFingerprint reports whether s is a lowercase SHA-256 hex digest.
func ValidFingerprint(s string) bool { return fingerprintRE.MatchString(s) }

// Effective sets the status the credential has at now, whether or not a
// sweep recorded it yet: an active credential past its rotation overlap
// reads revoked (at the end of the overlap), one past its expiry reads
// expired.
func (c *Credential) Effective(now time.Time) {
	if c.Status != CredentialActive {
		return
	}
	switch {
	case c.OverlapUntil != nil && !now.Before(*c.OverlapUntil):
		end := *c.OverlapUntil
		c.Status, c.RevokedAt, c.RevokedWhere = CredentialRevoked, &end, RevokedSteward
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		c.Status = CredentialExpired
	}
}

// Normalize truncates times to what the store keeps.
func (c *Credential) Normalize() {
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Microsecond)
	for _, t := range []**time.Time{&c.ExpiresAt, &c.LastRotatedAt, &c.LastUsedAt, &c.RevokedAt} {
		*t = TruncTime(*t)
	}
}

// Validate checks the credential's fields.
func (c *Credential) Validate() error {
	switch {
	case c.IdentityID == "":
		return FieldError("identity_id", "is required")
	case c.Type == "" || len(c.Type) > 64:
		return FieldError("type", "is required (at most 64 characters)")
	case c.Fingerprint != "" && !ValidFingerprint(c.Fingerprint):
		return FieldError("fingerprint", "must be a lowercase SHA-256 hex digest")
	case len(c.ExternalRef) > MaxTextLen:
		return FieldError("external_ref", "is longer than %d characters", MaxTextLen)
	case len(c.Hint) > 16:
		return FieldError("hint", "is longer than 16 characters")
	}
	switch c.Status {
	case CredentialActive, CredentialInactive, CredentialRevoked, CredentialExpired:
	default:
		return FieldError("status", "%q is not one of active, inactive, revoked, expired", c.Status)
	}
	return nil
}
