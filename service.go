package steward

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// IdentityService manages the inventory of identities. Each call acts as the
// Principal in ctx and is refused when its role may not.
type IdentityService interface {
	CreateIdentity(ctx context.Context, i *Identity) (*Identity, error)
	GetIdentity(ctx context.Context, id string) (*Identity, error)
	ListIdentities(ctx context.Context, f IdentityFilter) (*Page[*Identity], error)
	UpdateIdentity(ctx context.Context, id string, p IdentityPatch) (*Identity, error)
	DeleteIdentity(ctx context.Context, id string) error
	TransitionIdentity(ctx context.Context, id string, t Transition, r TransitionRequest) (*Identity, error)
	ListEvents(ctx context.Context, f EventFilter) (*Page[*Event], error)
	ListCredentials(ctx context.Context, identityID string) ([]*Credential, error)
}

// OwnerService manages owners.
type OwnerService interface {
	CreateOwner(ctx context.Context, o *Owner) (*Owner, error)
	GetOwner(ctx context.Context, id string) (*Owner, error)
	ListOwners(ctx context.Context, f OwnerFilter) (*Page[*Owner], error)
	UpdateOwner(ctx context.Context, id string, p OwnerPatch) (*Owner, error)
	DepartOwner(ctx context.Context, id string, reason string) (*Departure, error)
}

// TokenService manages operator tokens.
type TokenService interface {
	CreateToken(ctx context.Context, t TokenCreate) (*CreatedToken, error)
	ListTokens(ctx context.Context) ([]*OperatorToken, error)
	RevokeToken(ctx context.Context, id string) (*OperatorToken, error)
}

// ImportService loads a provider's export into the inventory.
type ImportService interface {
	Import(ctx context.Context, format string, r io.Reader, opts ImportOptions) (*ImportSummary, error)
}

// Opt is an optional JSON field of a patch: Set when present, Null when
// present as null.
type Opt[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Some returns a set option.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// UnmarshalJSON records presence and nullness.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// MarshalJSON writes the value, or null.
func (o Opt[T]) MarshalJSON() ([]byte, error) {
	if !o.Set || o.Null {
		return []byte("null"), nil
	}
	return json.Marshal(o.Value)
}

// IsZero lets omitzero drop unset options.
func (o Opt[T]) IsZero() bool { return !o.Set }

// IdentityPatch changes some fields of an identity. Status changes go
// through TransitionIdentity.
type IdentityPatch struct {
	Name          Opt[string]      `json:"name,omitzero"`
	Kind          Opt[Kind]        `json:"kind,omitzero"`
	Provider      Opt[string]      `json:"provider,omitzero"`
	ExternalRef   Opt[string]      `json:"external_ref,omitzero"`
	OwnerID       Opt[string]      `json:"owner_id,omitzero"`
	Team          Opt[string]      `json:"team,omitzero"`
	Purpose       Opt[string]      `json:"purpose,omitzero"`
	Environment   Opt[string]      `json:"environment,omitzero"`
	Scopes        Opt[[]string]    `json:"scopes,omitzero"`
	Sensitivity   Opt[Sensitivity] `json:"sensitivity,omitzero"`
	VendorManaged Opt[bool]        `json:"vendor_managed,omitzero"`
	ExpiresAt     Opt[time.Time]   `json:"expires_at,omitzero"`
	LastRotatedAt Opt[time.Time]   `json:"last_rotated_at,omitzero"`
	Labels        Opt[LabelPatch]  `json:"labels,omitzero"`
	Exception     Opt[Exception]   `json:"exception,omitzero"`
	Reason        string           `json:"reason,omitempty"`
	// Version, when set, must equal the stored version (optimistic locking).
	Version int64 `json:"version,omitempty"`
}

// LabelPatch is a JSON merge patch (RFC 7386) of an identity's labels: a key
// with a value sets that label, a key set to null (a nil pointer) removes it,
// and labels not named are kept. A patch whose labels member is itself null
// removes every label.
type LabelPatch map[string]*string

// SetLabels returns a patch that sets each label of m and keeps the others.
func SetLabels(m map[string]string) LabelPatch {
	p := make(LabelPatch, len(m))
	for k, v := range m {
		p[k] = &v
	}
	return p
}

// Apply merges the patch into labels and returns the result; labels is not
// modified.
func (p LabelPatch) Apply(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels)+len(p))
	for k, v := range labels {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out
}

// OwnerPatch changes some fields of an owner.
type OwnerPatch struct {
	Name          Opt[string] `json:"name,omitzero"`
	Email         Opt[string] `json:"email,omitzero"`
	Team          Opt[string] `json:"team,omitzero"`
	ManagerID     Opt[string] `json:"manager_id,omitzero"`
	BackupOwnerID Opt[string] `json:"backup_owner_id,omitzero"`
	ExternalRef   Opt[string] `json:"external_ref,omitzero"`
	Version       int64       `json:"version,omitempty"`
}

// ImportOptions tune an import.
type ImportOptions struct {
	// Partial imports the good records and reports the bad ones; otherwise
	// one bad record rejects the whole file.
	Partial bool
	// Defaults fill fields the export does not carry.
	OwnerID     string
	Environment string
	Sensitivity Sensitivity
}

// ImportSummary reports what an import did.
type ImportSummary struct {
	Format    string `json:"format"`
	Records   int    `json:"records"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Rejected  int    `json:"rejected"`
	Unowned   int    `json:"unowned"`
	// Errors lists the first MaxImportErrors bad records; Rejected counts
	// them all.
	Errors []RecordError `json:"errors"`
	// Stopped says why the import gave up before the end of the file (too
	// many bad records for the import to succeed); nothing was imported.
	Stopped string `json:"stopped,omitempty"`
}

// MaxImportErrors bounds the bad records an import summary lists.
const MaxImportErrors = 100

// RecordError names a bad record of an import.
type RecordError struct {
	Record  int    `json:"record"`
	Line    int    `json:"line,omitempty"`
	Ref     string `json:"ref,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ImportRecord is one identity read from an export, with its credentials.
type ImportRecord struct {
	Line        int
	Identity    Identity
	Credentials []Credential
	// OwnerEmail, when the export names an owner, is matched to an owner.
	OwnerEmail string
}
