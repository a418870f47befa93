package steward

import (
	"context"
	"time"
)

// Reader reads the inventory. Every method returns an ENOTFOUND error for a
// missing record.
type Reader interface {
	GetIdentity(ctx context.Context, id string) (*Identity, error)
	// FindIdentityByRef returns the identity with this provider and
	// external reference.
	FindIdentityByRef(ctx context.Context, provider, externalRef string) (*Identity, error)
	ListIdentities(ctx context.Context, f IdentityFilter) (*Page[*Identity], error)
	InventoryStats(ctx context.Context, now time.Time) (*InventoryStats, error)

	GetOwner(ctx context.Context, id string) (*Owner, error)
	ListOwners(ctx context.Context, f OwnerFilter) (*Page[*Owner], error)

	GetCredential(ctx context.Context, id string) (*Credential, error)
	ListCredentials(ctx context.Context, identityID string) ([]*Credential, error)
	FindCredentialByRef(ctx context.Context, identityID, externalRef string) (*Credential, error)

	ListEvents(ctx context.Context, f EventFilter) (*Page[*Event], error)
	// LastEvent returns the newest chain entry, or nil when the chain is empty.
	LastEvent(ctx context.Context) (*Event, error)

	GetToken(ctx context.Context, id string) (*OperatorToken, error)
	FindTokenByDigest(ctx context.Context, digest string) (*OperatorToken, error)
	ListTokens(ctx context.Context) ([]*OperatorToken, error)
}

// Tx is one write transaction: its writes and the events that record them
// commit together or not at all.
type Tx interface {
	Reader
	CreateIdentity(ctx context.Context, i *Identity) error
	// UpdateIdentity writes i if its stored version is i.Version-1 after
	// the caller incremented it; otherwise ECONFLICT.
	UpdateIdentity(ctx context.Context, i *Identity) error
	DeleteIdentity(ctx context.Context, id string) error

	CreateOwner(ctx context.Context, o *Owner) error
	UpdateOwner(ctx context.Context, o *Owner) error

	CreateCredential(ctx context.Context, c *Credential) error
	UpdateCredential(ctx context.Context, c *Credential) error

	// AppendEvent assigns the event its sequence number and previous hash,
	// computes its entry hash and appends it to the chain.
	AppendEvent(ctx context.Context, e *Event) error

	CreateToken(ctx context.Context, t *OperatorToken) error
	UpdateToken(ctx context.Context, t *OperatorToken) error

	// Bulk forms for imports: many rows per statement. CreateIdentities
	// and CreateCredentials fail as a whole (ECONFLICT, EINVALID naming the
	// field) without saying which row; AppendEvents chains the events in
	// order exactly as AppendEvent would one by one.
	CreateIdentities(ctx context.Context, is []*Identity) error
	CreateCredentials(ctx context.Context, cs []*Credential) error
	AppendEvents(ctx context.Context, es []*Event) error
	// FindIdentitiesByRefs returns provider's identities with these
	// external references, keyed by reference (absent: none).
	FindIdentitiesByRefs(ctx context.Context, provider string, refs []string) (map[string]*Identity, error)
	// DeferIndexes lets the store skip maintaining table's secondary
	// indexes while this transaction writes about newRows rows, rebuilding
	// them before it commits, when that is cheaper (it reports whether it
	// did). Queries inside the transaction stay correct, only slower.
	DeferIndexes(ctx context.Context, table string, newRows int) (bool, error)
}

// Store is the persistent inventory.
type Store interface {
	Reader
	// Update runs fn in one write transaction, committed if fn returns nil.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// TouchToken records a token's last use outside any event.
	TouchToken(ctx context.Context, id string, at time.Time) error
	Ping(ctx context.Context) error
	Close() error
}

// InventoryStats are the counts behind dashboards and metrics gauges.
type InventoryStats struct {
	Identities    int64            `json:"identities"`
	ByStatus      map[string]int64 `json:"by_status"`
	ByKind        map[string]int64 `json:"by_kind"`
	ByProvider    map[string]int64 `json:"by_provider"`
	BySensitivity map[string]int64 `json:"by_sensitivity"`
	ByEnvironment map[string]int64 `json:"by_environment"`
	Unowned       int64            `json:"unowned"`
	Orphaned      int64            `json:"orphaned"`
	Expired       int64            `json:"expired"`
	Owners        int64            `json:"owners"`
	Departed      int64            `json:"departed_owners"`
	Events        int64            `json:"events"`
}
