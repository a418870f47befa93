package steward

import (
	"context"
	"strconv"
	"time"
)

// CredentialTypePassword is an external secret (a database password, a
// third-party key) that Steward keeps in custody and may rotate.
const CredentialTypePassword = "password"

// Event actions recorded by custody and rotation.
const (
	ActionSecretStore          = "credential.secret_store"
	ActionSecretRead           = "credential.secret_read"
	ActionSecretDestroy        = "credential.secret_destroy"
	ActionRotationStart        = "rotation.start"
	ActionRotationStep         = "rotation.step"
	ActionRotationFinish       = "rotation.finish"
	ActionRotationFail         = "rotation.fail"
	ActionRevocationProven     = "credential.revocation_proven"
	ActionRotatorCreate        = "rotator.create"
	ActionLeaseCreate          = "lease.create"
	ActionLeaseRenew           = "lease.renew"
	ActionLeaseRevoke          = "lease.revoke"
	SubjectRotator             = "rotator"
	SubjectRotation            = "rotation"
	SubjectLease               = "lease"
	UsageSecretRead            = "secret_read"
	ActionReadSecretPermission = "credential:read_secret"
)

// Where a revocation took effect, said by every revoke answer and event.
const (
	RevokedSteward       = "steward"        // Steward enforces it (it verifies the credential)
	RevokedProvider      = "provider"       // the provider confirmed it (a dropped role, a refused password)
	RevokedInventoryOnly = "inventory only" // only marked here; the secret may still work where it is used
)

// States of a secret version.
const (
	SecretPending   = "pending"   // created, not yet the one the provider honours
	SecretCurrent   = "current"   // the one in force
	SecretPrevious  = "previous"  // retired; readable by the owner until RetireAt
	SecretDestroyed = "destroyed" // ciphertext erased; the row is the record
)

// CustodySecret is an external secret in custody: which credential it is,
// which version is current, and the rotator that can rotate it.
type CustodySecret struct {
	CredentialID   string    `json:"credential_id"`
	IdentityID     string    `json:"identity_id"`
	Rotator        string    `json:"rotator"`
	CurrentVersion int64     `json:"current_version"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// SecretVersion is one version of a secret in custody. Sealed is the
// envelope-encrypted secret (empty once destroyed); it never leaves the
// store through JSON.
type SecretVersion struct {
	CredentialID string     `json:"credential_id"`
	IdentityID   string     `json:"identity_id"`
	Version      int64      `json:"version"`
	Sealed       string     `json:"-"`
	Fingerprint  string     `json:"fingerprint"`
	State        string     `json:"state"`
	CreatedAt    time.Time  `json:"created_at"`
	RetireAt     *time.Time `json:"retire_at,omitempty"`
	DestroyedAt  *time.Time `json:"destroyed_at,omitempty"`
}

// SecretAD is the additional data a secret version is sealed with: it
// binds the ciphertext to its identity, credential and version.
func SecretAD(identityID, credentialID string, version int64) []byte {
	return []byte("steward-custody:" + identityID + ":" + credentialID + ":" + strconv.FormatInt(version, 10))
}

// CustodyReader reads secrets in custody.
type CustodyReader interface {
	GetCustodySecret(ctx context.Context, credentialID string) (*CustodySecret, error)
	// ListSecretVersions returns a credential's versions, newest first.
	ListSecretVersions(ctx context.Context, credentialID string) ([]*SecretVersion, error)
	// ListSecretVersionsDue returns retired versions whose overlap ended
	// at now and whose ciphertext is still there.
	ListSecretVersionsDue(ctx context.Context, now time.Time, limit int) ([]*SecretVersion, error)
}

// CustodyTx writes secrets in custody with their events.
type CustodyTx interface {
	Tx
	CustodyReader
	PutCustodySecret(ctx context.Context, s *CustodySecret) error
	PutSecretVersion(ctx context.Context, v *SecretVersion) error
}

// CustodyStore is a Store whose transactions are CustodyTx.
type CustodyStore interface {
	Store
	CustodyReader
	UpdateCustody(ctx context.Context, fn func(tx CustodyTx) error) error
}

// SecretSource reads the current secret of a credential in custody for a
// component of Steward (the gateway injecting an upstream secret). It
// records the read as a usage event; an error says clearly when the
// credential has no secret in custody.
type SecretSource interface {
	CurrentSecret(ctx context.Context, credentialID string) ([]byte, error)
}

type componentKey struct{}

// WithComponent names the Steward component acting in ctx (recorded by
// in-process secret reads).
func WithComponent(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, componentKey{}, name)
}

// ComponentFrom returns the component named in ctx, or "".
func ComponentFrom(ctx context.Context) string {
	s, _ := ctx.Value(componentKey{}).(string)
	return s
}
