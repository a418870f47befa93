package steward

import (
	"context"
	"encoding/json"
	"regexp"
	"time"
)

// AuthzPolicy is one named Cedar policy document (one or more statements).
// Policies are managed data: every change is a new version, kept with the
// actor and the reason, and recorded as an Event.
type AuthzPolicy struct {
	Name      string    `json:"name"`
	Text      string    `json:"text"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	Reason    string    `json:"reason,omitempty"`
	// Deleted marks a version that removed the policy.
	Deleted bool `json:"deleted,omitempty"`
}

// AuthzEntity is one external entity of the policy decision point in the
// Cedar JSON entity format ({"uid":{"type","id"},"attrs":{},"parents":[]}).
type AuthzEntity struct {
	Type string          `json:"type"`
	ID   string          `json:"id"`
	Doc  json.RawMessage `json:"doc"`
}

// AuthzSchema is the Cedar schema policies and entities are validated
// against; Format is "cedar" (human-readable) or "json".
type AuthzSchema struct {
	Text      string    `json:"text"`
	Format    string    `json:"format"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// Event actions and subject types of the authz capability.
const (
	ActionPolicyPut      = "policy.put"
	ActionPolicyDelete   = "policy.delete"
	ActionSchemaPut      = "policy.schema"
	ActionEntitiesPut    = "entities.replace"
	ActionEntitiesPatch  = "entities.upsert"
	SubjectPolicy        = "policy"
	SubjectPolicySchema  = "policy_schema"
	SubjectAuthzEntities = "authz_entities"
)

var policyNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidatePolicyName checks a policy name (it is also a URL path segment).
func ValidatePolicyName(name string) error {
	if name == "schema" || !policyNameRE.MatchString(name) {
		return FieldError("name", "%q must be 1-128 letters, digits, '.', '_' or '-' (and not \"schema\")", name)
	}
	return nil
}

// AuthzReader reads the policy decision point's managed data.
type AuthzReader interface {
	// ListAuthzPolicies returns the current, not deleted policies by name.
	ListAuthzPolicies(ctx context.Context) ([]*AuthzPolicy, error)
	// GetAuthzPolicy returns the current version; ENOTFOUND when missing or deleted.
	GetAuthzPolicy(ctx context.Context, name string) (*AuthzPolicy, error)
	// ListAuthzPolicyVersions returns the history, newest first; name ""
	// lists every policy's history.
	ListAuthzPolicyVersions(ctx context.Context, name string, limit int) ([]*AuthzPolicy, error)
	ListAuthzEntities(ctx context.Context) ([]AuthzEntity, error)
	// GetAuthzSchema returns the schema, or nil when none is set.
	GetAuthzSchema(ctx context.Context) (*AuthzSchema, error)
	// AuthzRevision is a counter that every change of policies, entities
	// or schema increments; nodes poll it to reload.
	AuthzRevision(ctx context.Context) (int64, error)
}

// AuthzTx is a write transaction over the inventory and the authz data.
type AuthzTx interface {
	Tx
	AuthzReader
	// PutAuthzPolicy stores p as the current version and appends it to
	// the history.
	PutAuthzPolicy(ctx context.Context, p *AuthzPolicy) error
	// NextPolicyVersion returns the version the next change of name gets
	// (versions continue across a delete and a re-create).
	NextPolicyVersion(ctx context.Context, name string) (int64, error)
	ReplaceAuthzEntities(ctx context.Context, es []AuthzEntity) error
	UpsertAuthzEntities(ctx context.Context, es []AuthzEntity) error
	PutAuthzSchema(ctx context.Context, s *AuthzSchema) error
	// BumpAuthzRevision increments the revision and returns the new value.
	BumpAuthzRevision(ctx context.Context) (int64, error)
}

// AuthzStore is the persistence of the policy decision point.
type AuthzStore interface {
	AuthzReader
	UpdateAuthz(ctx context.Context, fn func(tx AuthzTx) error) error
	// ChangedIdentities returns the identity ids named by events after
	// seq, and the newest seq (cross-node cache invalidation).
	ChangedIdentities(ctx context.Context, afterSeq int64, limit int) (ids []string, head int64, err error)
	// FindCredentialByExternalRef returns the newest credential with this
	// external reference (an AWS access key id, a Vault accessor).
	FindCredentialByExternalRef(ctx context.Context, ref string) (*Credential, error)
}

// UsageFilter selects usage events. Empty fields do not filter.
type UsageFilter struct {
	IdentityID string
	Subject    string
	Kind       string
	Outcome    string
	Action     string
	// Unknown selects events that matched no identity.
	Unknown bool
	Since   *time.Time
	Until   *time.Time
	Limit   int
	Cursor  string
}

// UsageCount is one aggregate row: how often a subject used a value of a
// dimension (action, resource, source, outcome; "all" holds the totals).
type UsageCount struct {
	Key       string    `json:"key,omitempty"`
	Dimension string    `json:"dimension,omitempty"`
	Value     string    `json:"value"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Usage aggregate dimensions.
const (
	DimAll      = "all"
	DimAction   = "action"
	DimResource = "resource"
	DimSource   = "source"
	DimOutcome  = "outcome"
)

// UnknownKey is the aggregate key of events that matched no identity.
func UnknownKey(subject string) string { return "unknown:" + subject }

// UsageStore persists usage events and their aggregates.
type UsageStore interface {
	// AppendUsage writes events and updates the aggregates in one
	// transaction.
	AppendUsage(ctx context.Context, evs []UsageEvent) error
	ListUsage(ctx context.Context, f UsageFilter) (*Page[*UsageEvent], error)
	// UsageAggregates returns the aggregate rows of one key (an identity
	// id or UnknownKey(subject)).
	UsageAggregates(ctx context.Context, key string) ([]UsageCount, error)
	// UnknownCallers returns the totals of callers that matched no identity,
	// most recently seen first.
	UnknownCallers(ctx context.Context, limit int) ([]UsageCount, error)
	// WriteConcurrency is how many AppendUsage calls the store runs well
	// at once (the usage recorder's writers): 1 for an engine with a
	// single write connection.
	WriteConcurrency() int
}
