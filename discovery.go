package steward

import (
	"context"
	"fmt"
	"time"
)

// DiscoveryItem is one secret found in code, history or a pipeline, as a
// scanner reports it: the fingerprint (SHA-256 hex of the secret) and where
// it was, never the secret.
type DiscoveryItem struct {
	Rule        string     `json:"rule"`
	Repository  string     `json:"repository,omitempty"`
	File        string     `json:"file"`
	Line        int        `json:"line"`
	Column      int        `json:"column"`
	Commit      string     `json:"commit"`
	Author      string     `json:"author,omitempty"`
	Email       string     `json:"email,omitempty"`
	Date        *time.Time `json:"date,omitempty"`
	Context     string     `json:"context,omitempty"`
	Severity    string     `json:"severity,omitempty"`
	Fingerprint string     `json:"fingerprint"`
	// OwnerHint is a suggested owner's email (from CODEOWNERS or the
	// commit author).
	OwnerHint string `json:"owner_hint,omitempty"`
}

// DiscoveryReport is a batch of items from one scan.
type DiscoveryReport struct {
	Source     string          `json:"source"` // steward-scan, gitleaks, trufflehog, github-secret-scanning
	Repository string          `json:"repository"`
	Items      []DiscoveryItem `json:"findings"`
}

// Limits of a discovery report.
const MaxDiscoveryItems = 100000

// Validate checks every item and names the first one at fault.
func (r *DiscoveryReport) Validate() error {
	if len(r.Items) > MaxDiscoveryItems {
		return FieldError("findings", "has more than %d entries", MaxDiscoveryItems)
	}
	if len(r.Source) > 64 || len(r.Repository) > MaxTextLen {
		return FieldError("source", "source or repository is too long")
	}
	for n, it := range r.Items {
		f := fmt.Sprintf("findings[%d].", n)
		switch {
		case !ValidFingerprint(it.Fingerprint):
			return FieldError(f+"fingerprint", "must be the lowercase SHA-256 hex of the secret (never the secret itself)")
		case it.Rule == "" || len(it.Rule) > 200:
			return FieldError(f+"rule", "is required (at most 200 characters)")
		case len(it.File) > MaxTextLen || len(it.Context) > MaxTextLen || len(it.Repository) > MaxTextLen:
			return FieldError(f+"file", "file, context or repository is too long")
		case it.Line < 0 || it.Column < 0:
			return FieldError(f+"line", "must not be negative")
		case len(it.Commit) > 64 || len(it.Author) > MaxNameLen || len(it.Email) > MaxNameLen || len(it.OwnerHint) > MaxNameLen:
			return FieldError(f+"commit", "commit, author, email or owner_hint is too long")
		}
	}
	return nil
}

// Sighting is a stored sighting of a secret at one location.
type Sighting struct {
	ID             string    `json:"id"`
	Fingerprint    string    `json:"fingerprint"`
	Rule           string    `json:"rule"`
	Source         string    `json:"source"`
	Repository     string    `json:"repository"`
	File           string    `json:"file"`
	Line           int       `json:"line"`
	Column         int       `json:"column"`
	Commit         string    `json:"commit"`
	Author         string    `json:"author"`
	Email          string    `json:"email"`
	Context        string    `json:"context"`
	Severity       string    `json:"severity"`
	Managed        bool      `json:"managed"` // the secret is a credential Steward knows
	CredentialID   string    `json:"credential_id"`
	IdentityID     string    `json:"identity_id"`
	SuggestedOwner string    `json:"suggested_owner"`
	Status         string    `json:"status"` // open, resolved
	FirstSeen      time.Time `json:"first_seen"`
	LastSeen       time.Time `json:"last_seen"`
	Occurrences    int       `json:"occurrences"`
	AutoRevoked    bool      `json:"auto_revoked"`
}

// SightingFilter selects sightings.
type SightingFilter struct {
	IdentityID  string
	Fingerprint string
	Repository  string
	Managed     *bool
	Status      string
	Limit       int
	Cursor      string
}

// DiscoverySummary reports what an ingest did.
type DiscoverySummary struct {
	Findings int `json:"findings"`
	// Duplicates counts items dropped because another item reported the
	// same secret at the same location (another rule matched it).
	Duplicates       int      `json:"duplicates"`
	New              int      `json:"new"`
	Seen             int      `json:"seen_before"`
	ManagedLeaks     int      `json:"managed_leaks"`
	Unmanaged        int      `json:"unmanaged"`
	IdentitiesNew    int      `json:"identities_created"`
	AutoRevoked      int      `json:"auto_revoked"`
	LeakedIdentities []string `json:"leaked_identities"`
}

// DiscoveryReader reads discoveries.
type DiscoveryReader interface {
	ListSightings(ctx context.Context, f SightingFilter) (*Page[*Sighting], error)
	// FindCredentialsByFingerprint returns the credentials whose secret has
	// this SHA-256 fingerprint.
	FindCredentialsByFingerprint(ctx context.Context, fingerprint string) ([]*Credential, error)
}

// DiscoveryTx is a write transaction over the inventory and the
// discoveries.
type DiscoveryTx interface {
	Tx
	DiscoveryReader
	// UpsertSighting inserts d, or updates the row with the same
	// fingerprint, repository and file (last seen, occurrences); it reports
	// whether the row is new and returns the stored row.
	UpsertSighting(ctx context.Context, d *Sighting) (created bool, err error)
}

// DiscoveryStore persists discoveries next to the inventory.
type DiscoveryStore interface {
	Store
	DiscoveryReader
	// UpdateDiscovery runs fn in one write transaction with the discovery
	// methods, committed if fn returns nil.
	UpdateDiscovery(ctx context.Context, fn func(tx DiscoveryTx) error) error
}

// DiscoveryService ingests scanner reports and lists discoveries.
type DiscoveryService interface {
	Ingest(ctx context.Context, r *DiscoveryReport) (*DiscoverySummary, error)
	ListSightings(ctx context.Context, f SightingFilter) (*Page[*Sighting], error)
}
