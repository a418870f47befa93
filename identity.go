package steward

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Kind is what sort of non-human identity a record is.
type Kind string

// Identity kinds.
const (
	KindAPIKey         Kind = "api_key"
	KindServiceAccount Kind = "service_account"
	KindOAuthApp       Kind = "oauth_app"
	KindWorkload       Kind = "workload"
	KindBot            Kind = "bot"
	KindAIAgent        Kind = "ai_agent"
	KindSSHKey         Kind = "ssh_key"
	KindCertificate    Kind = "certificate"
	KindPAT            Kind = "pat"
)

// Kinds lists every valid kind.
var Kinds = []Kind{KindAPIKey, KindServiceAccount, KindOAuthApp, KindWorkload, KindBot, KindAIAgent, KindSSHKey, KindCertificate, KindPAT}

// Sensitivity is an identity's tier; it selects the lifecycle policy.
type Sensitivity string

// Sensitivity tiers.
const (
	SensitivityCritical Sensitivity = "critical"
	SensitivityHigh     Sensitivity = "high"
	SensitivityMedium   Sensitivity = "medium"
	SensitivityLow      Sensitivity = "low"
)

// Sensitivities lists every tier, most sensitive first.
var Sensitivities = []Sensitivity{SensitivityCritical, SensitivityHigh, SensitivityMedium, SensitivityLow}

// Source says how an identity entered the inventory.
type Source string

// Sources.
const (
	SourceRegistered Source = "registered"
	SourceImported   Source = "imported"
	SourceDiscovered Source = "discovered"
)

// Sources lists every source.
var Sources = []Source{SourceRegistered, SourceImported, SourceDiscovered}

// Identity is a non-human identity: one record per machine credential holder.
type Identity struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Kind          Kind              `json:"kind"`
	Provider      string            `json:"provider"`
	ExternalRef   string            `json:"external_ref"`
	OwnerID       string            `json:"owner_id"`
	Team          string            `json:"team"`
	Purpose       string            `json:"purpose"`
	Environment   string            `json:"environment"`
	Scopes        []string          `json:"scopes"`
	Sensitivity   Sensitivity       `json:"sensitivity"`
	VendorManaged bool              `json:"vendor_managed"`
	Source        Source            `json:"source"`
	Status        Status            `json:"status"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	ExpiresAt     *time.Time        `json:"expires_at"`
	LastRotatedAt *time.Time        `json:"last_rotated_at"`
	LastUsedAt    *time.Time        `json:"last_used_at"`
	Labels        map[string]string `json:"labels"`
	// Exception allows an expiry beyond the tier's maximum lifetime.
	Exception *Exception `json:"exception,omitempty"`
	// Version increases with every change; PATCH may send it to detect
	// concurrent edits.
	Version int64 `json:"version"`
	// UnownedReason is written only when registering an identity by hand
	// without an owner: why it has none. It is recorded in the creation
	// event, not stored with the identity.
	UnownedReason string `json:"unowned_reason,omitempty"`
}

// Exception is a recorded, time-bound departure from the lifecycle policy.
type Exception struct {
	Reason   string    `json:"reason"`
	Until    time.Time `json:"until"`
	Approver string    `json:"approver,omitempty"`
}

var (
	providerRE = regexp.MustCompile(`^(steward|aws|gcp|azure|github|gitlab|kubernetes|vault|okta|slack|datadog|other|vendor:[a-z0-9][a-z0-9._-]{0,62})$`)
	envRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)
	scopeRE    = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`)
)

// Limits on free-text fields.
const (
	MaxNameLen    = 200
	MaxTextLen    = 2000
	MaxScopes     = 200
	MaxLabels     = 64
	MaxLabelValue = 256
)

// ValidKind reports whether k is a known kind.
func ValidKind(k Kind) bool { return slices.Contains(Kinds, k) }

// ValidSensitivity reports whether s is a known tier.
func ValidSensitivity(s Sensitivity) bool { return slices.Contains(Sensitivities, s) }

// ValidSource reports whether s is a known source.
func ValidSource(s Source) bool { return slices.Contains(Sources, s) }

// ValidProvider reports whether p is a known provider or vendor:<name>.
func ValidProvider(p string) bool { return providerRE.MatchString(p) }

// Normalize trims text fields and sorts and de-duplicates scopes.
func (i *Identity) Normalize() {
	i.Name = strings.TrimSpace(i.Name)
	i.Team = strings.TrimSpace(i.Team)
	i.Purpose = strings.TrimSpace(i.Purpose)
	i.Environment = strings.ToLower(strings.TrimSpace(i.Environment))
	i.Provider = strings.ToLower(strings.TrimSpace(i.Provider))
	i.ExternalRef = strings.TrimSpace(i.ExternalRef)
	i.OwnerID = strings.TrimSpace(i.OwnerID)
	i.Scopes = NormalizeScopes(i.Scopes)
	if i.Labels == nil {
		i.Labels = map[string]string{}
	}
	for _, t := range []**time.Time{&i.ExpiresAt, &i.LastRotatedAt, &i.LastUsedAt} {
		*t = TruncTime(*t)
	}
	if i.Exception != nil {
		i.Exception.Until = i.Exception.Until.UTC().Truncate(time.Microsecond)
	}
}

// TruncTime returns t in UTC to the microsecond (what the store keeps).
func TruncTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// NormalizeScopes returns the scopes trimmed, sorted and de-duplicated, never nil.
func NormalizeScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Validate checks every field and returns an EINVALID error naming the first
// one at fault.
func (i *Identity) Validate() error {
	switch {
	case i.Name == "":
		return FieldError("name", "is required")
	case len(i.Name) > MaxNameLen:
		return FieldError("name", "is longer than %d characters", MaxNameLen)
	case !ValidKind(i.Kind):
		return FieldError("kind", "%q is not one of %s", i.Kind, joinKinds())
	case !ValidProvider(i.Provider):
		return FieldError("provider", "%q is not a known provider (steward, aws, gcp, azure, github, gitlab, kubernetes, vault, okta, slack, datadog, other, vendor:<name>)", i.Provider)
	case len(i.ExternalRef) > MaxTextLen:
		return FieldError("external_ref", "is longer than %d characters", MaxTextLen)
	case len(i.Team) > MaxNameLen:
		return FieldError("team", "is longer than %d characters", MaxNameLen)
	case len(i.Purpose) > MaxTextLen:
		return FieldError("purpose", "is longer than %d characters", MaxTextLen)
	case i.Environment != "" && !envRE.MatchString(i.Environment):
		return FieldError("environment", "%q must be lowercase letters, digits, '-' or '_' (at most 32)", i.Environment)
	case !ValidSensitivity(i.Sensitivity):
		return FieldError("sensitivity", "%q is not one of critical, high, medium, low", i.Sensitivity)
	case !ValidSource(i.Source):
		return FieldError("source", "%q is not one of registered, imported, discovered", i.Source)
	case !ValidStatus(i.Status):
		return FieldError("status", "%q is not a lifecycle status", i.Status)
	case len(i.Scopes) > MaxScopes:
		return FieldError("scopes", "has more than %d entries", MaxScopes)
	case len(i.Labels) > MaxLabels:
		return FieldError("labels", "has more than %d entries", MaxLabels)
	}
	for n, s := range i.Scopes {
		if !scopeRE.MatchString(s) {
			return FieldError(fmt.Sprintf("scopes[%d]", n), "%q must be 1-200 printable characters without spaces", s)
		}
	}
	for k, v := range i.Labels {
		if !labelKeyRE.MatchString(k) {
			return FieldError("labels."+k, "label key must be letters, digits, '.', '_', '/', '-' (at most 63)")
		}
		if len(v) > MaxLabelValue {
			return FieldError("labels."+k, "label value is longer than %d characters", MaxLabelValue)
		}
	}
	if i.Exception != nil {
		if strings.TrimSpace(i.Exception.Reason) == "" {
			return FieldError("exception.reason", "is required for a policy exception")
		}
		if i.Exception.Until.IsZero() {
			return FieldError("exception.until", "is required for a policy exception")
		}
	}
	return nil
}

// CheckRegisteredOwner enforces accountable ownership on an identity
// registered by hand: it names an owner, or says in UnownedReason why it has
// none. Imports and discovery do not call it; their unowned identities are
// flagged by posture instead.
func (i *Identity) CheckRegisteredOwner() error {
	i.UnownedReason = strings.TrimSpace(i.UnownedReason)
	switch {
	case i.OwnerID != "" && i.UnownedReason != "":
		return FieldError("unowned_reason", "is only for an identity without an owner")
	case i.OwnerID == "" && i.UnownedReason == "":
		return FieldError("owner_id", "is required when registering an identity; name an owner, or give unowned_reason to say why it has none")
	case len(i.UnownedReason) > MaxTextLen:
		return FieldError("unowned_reason", "is longer than %d characters", MaxTextLen)
	}
	return nil
}

func joinKinds() string {
	s := make([]string, len(Kinds))
	for n, k := range Kinds {
		s[n] = string(k)
	}
	return strings.Join(s, ", ")
}

// IdentityFilter selects identities in a list. Empty fields do not filter.
type IdentityFilter struct {
	OwnerID       string // "none" selects identities without an owner
	Team          string
	Kind          Kind
	Provider      string
	Environment   string
	Status        Status
	Sensitivity   Sensitivity
	Source        Source
	ExpiresBefore *time.Time
	UnusedSince   *time.Time // never used, or last used before this time
	Query         string     // text search over name, external_ref, purpose, team
	IDs           []string   // restrict to these ids (owner-scoped tokens)
	OwnedBy       string     // restrict to one owner (owner role); unlike OwnerID it is enforced
	Sort          string     // name, -name, created_at, -created_at, expires_at, -expires_at, last_used_at, -last_used_at
	Limit         int
	Cursor        string
}

// IdentitySorts lists the accepted sort keys (a leading '-' sorts descending).
var IdentitySorts = []string{"name", "created_at", "expires_at", "last_used_at", "last_rotated_at"}

// Page is one page of a list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// List limits.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Validate checks the filter's enumerations and limits.
func (f *IdentityFilter) Validate() error {
	if f.Kind != "" && !ValidKind(f.Kind) {
		return FieldError("kind", "%q is not one of %s", f.Kind, joinKinds())
	}
	if f.Status != "" && !ValidStatus(f.Status) {
		return FieldError("status", "%q is not a lifecycle status", f.Status)
	}
	if f.Sensitivity != "" && !ValidSensitivity(f.Sensitivity) {
		return FieldError("sensitivity", "%q is not one of critical, high, medium, low", f.Sensitivity)
	}
	if f.Source != "" && !ValidSource(f.Source) {
		return FieldError("source", "%q is not one of registered, imported, discovered", f.Source)
	}
	if f.Sort != "" && !slices.Contains(IdentitySorts, strings.TrimPrefix(f.Sort, "-")) {
		return FieldError("sort", "%q is not one of %s (prefix '-' for descending)", f.Sort, strings.Join(IdentitySorts, ", "))
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return FieldError("limit", "must be between 1 and %d", MaxLimit)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	return nil
}

// EachPage calls fn on every item of every page, following the cursor:
// page reads the page that starts at cursor ("" for the first).
func EachPage[T any](page func(cursor string) (*Page[T], error), fn func(T) error) error {
	cursor := ""
	for {
		p, err := page(cursor)
		if err != nil {
			return err
		}
		for _, it := range p.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if p.NextCursor == "" {
			return nil
		}
		cursor = p.NextCursor
	}
}
