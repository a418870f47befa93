package steward

import (
	"context"
	"time"
)

// Rotation states and steps. The steps follow the four-step model of AWS
// Secrets Manager rotation functions: create the pending secret, set it
// at the provider, test it, finish by promoting it and retiring the old.
const (
	RotationRunning    = "running"
	RotationSucceeded  = "succeeded"
	RotationFailed     = "failed"
	RotationRolledBack = "rolled_back"

	StepCreate = "create"
	StepSet    = "set"
	StepTest   = "test"
	StepFinish = "finish"
)

// RotationSteps are the steps in order.
var RotationSteps = []string{StepCreate, StepSet, StepTest, StepFinish}

// Rotator is a configured connection to a provider that can rotate
// secrets (a PostgreSQL server, a Redis server, an owner's webhook).
// Config never holds a secret: the provider's admin secret is a
// credential in custody (AdminCredentialID).
type Rotator struct {
	Name              string            `json:"name"`
	Kind              string            `json:"kind"`
	Config            map[string]string `json:"config"`
	AdminIdentityID   string            `json:"admin_identity_id,omitempty"`
	AdminCredentialID string            `json:"admin_credential_id,omitempty"`
	CreatedAt         time.Time         `json:"created_at"`
}

// Rotation is the persisted state of one rotation of a secret in custody.
// Step is the last step completed; a rerun resumes after it.
type Rotation struct {
	ID             string     `json:"id"`
	CredentialID   string     `json:"credential_id"`
	IdentityID     string     `json:"identity_id"`
	Rotator        string     `json:"rotator"`
	Status         string     `json:"status"`
	Step           string     `json:"step"`
	Overlap        Duration   `json:"overlap"`
	DryRun         bool       `json:"dry_run,omitempty"`
	OldVersion     int64      `json:"old_version"`
	NewVersion     int64      `json:"new_version"`
	OldFingerprint string     `json:"old_fingerprint"`
	NewFingerprint string     `json:"new_fingerprint,omitempty"`
	ProviderAnswer string     `json:"provider_answer,omitempty"`
	TestResult     string     `json:"test_result,omitempty"`
	Proof          string     `json:"proof,omitempty"`
	Error          string     `json:"error,omitempty"`
	Node           string     `json:"node"`
	Actor          string     `json:"actor"`
	Attempts       int        `json:"attempts"`
	StartedAt      time.Time  `json:"started_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	// Seqs are the audit sequence numbers of the rotation's events.
	Seqs []int64 `json:"seqs,omitempty"`
}

// Lease states.
const (
	LeaseActive  = "active"
	LeaseRevoked = "revoked"
	LeaseExpired = "expired"
)

// Lease is a dynamic credential: a role created at the provider for an
// identity, dropped when the lease expires or is revoked.
type Lease struct {
	ID           string     `json:"id"`
	IdentityID   string     `json:"identity_id"`
	Rotator      string     `json:"rotator"`
	Username     string     `json:"username"`
	Fingerprint  string     `json:"fingerprint"`
	Status       string     `json:"status"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	MaxExpiresAt time.Time  `json:"max_expires_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokedWhere string     `json:"revoked_where,omitempty"`
	RevokeError  string     `json:"revoke_error,omitempty"`
	Actor        string     `json:"actor"`
}

// RotationReader reads rotators, rotations and leases.
type RotationReader interface {
	GetRotator(ctx context.Context, name string) (*Rotator, error)
	ListRotators(ctx context.Context) ([]*Rotator, error)
	GetRotation(ctx context.Context, id string) (*Rotation, error)
	// ListRotations returns a credential's rotations, newest first (all
	// credentials when credentialID is empty), at most limit.
	ListRotations(ctx context.Context, credentialID, status string, limit int) ([]*Rotation, error)
	// FailedRotations returns, for each credential of these identities
	// (every identity when identityIDs is nil), its latest rotation when
	// that one failed or rolled back and no rotation has succeeded since,
	// ordered by credential. Dry runs count for neither.
	FailedRotations(ctx context.Context, identityIDs []string) ([]*Rotation, error)
	GetLease(ctx context.Context, id string) (*Lease, error)
	// ListLeases returns leases, newest first, filtered by identity and
	// status when those are set.
	ListLeases(ctx context.Context, identityID, status string, limit int) ([]*Lease, error)
	// ListLeasesDue returns active leases expired at now, oldest first.
	ListLeasesDue(ctx context.Context, now time.Time, limit int) ([]*Lease, error)
}

// RotationTx writes rotation state alongside custody and the inventory.
type RotationTx interface {
	CustodyTx
	RotationReader
	CreateRotator(ctx context.Context, r *Rotator) error
	// CreateRotation records a new running rotation; ECONFLICT when the
	// credential already has one running.
	CreateRotation(ctx context.Context, r *Rotation) error
	UpdateRotation(ctx context.Context, r *Rotation) error
	PutLease(ctx context.Context, l *Lease) error
	// TryLease takes or renews the named job lease (one node at a time).
	TryLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
}

// RotationStore is a Store whose transactions are RotationTx.
type RotationStore interface {
	CustodyStore
	RotationReader
	UpdateRotations(ctx context.Context, fn func(tx RotationTx) error) error
}
