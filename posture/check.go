// Package posture evaluates Steward's inventory, usage aggregates and
// discovery results against a list of small checks and keeps the findings'
// lifecycle (open → acknowledged → resolved, or waived until a date); it
// runs offboarding, dormancy enforcement, rotation schedules and access
// reviews. Every change to an identity goes through the inventory service
// so that it is recorded in the audit chain.
package posture

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Check is one posture rule: adding a check is one file and one entry in
// Checks.
type Check struct {
	ID    string
	Title string
	OWASP string   // "NHI1".."NHI10"
	CSF   []string // NIST CSF 2.0 subcategories
	Eval  func(in *Input) []Result
}

// Result is one thing a check found about a subject.
type Result struct {
	CredentialID string
	Severity     steward.Severity
	Title        string // overrides the check's title when set
	Evidence     map[string]any
	Remediation  string
}

// Input is one identity with everything a check may look at.
type Input struct {
	*steward.PostureSubject
	Owner  *steward.Owner // nil when unowned or unknown
	Backup *steward.Owner // the owner's backup, nil when none
	// Usage is nil when no usage source is configured: usage-based checks
	// then produce nothing.
	Usage *steward.UsageSummary
	// Discoveries is nil when no discovery source is configured.
	Discoveries []steward.Sighting
	// Federation is nil when federation is not configured.
	Federation *Federation
	Now        time.Time
	Tier       steward.TierPolicy
	Config     *Config

	// FailedRotations are the identity's credentials' latest rotations
	// that failed with none succeeding since; nil when rotation is not
	// configured.
	FailedRotations []*steward.Rotation
}

// Config holds the checks' thresholds.
type Config struct {
	// UnusedScopeDays is how long a granted scope may go unused (NHI5).
	UnusedScopeDays int
	// ReuseSources is how many distinct sources or workloads make a
	// credential shared (NHI9).
	ReuseSources int
	// OfficeCIDRs are the organisation's office networks; use of a machine
	// identity from them suggests a person (NHI10).
	OfficeCIDRs []netip.Prefix
	// MaxExtensions is how many lifetime extensions make standing access.
	MaxExtensions int
}

// DefaultConfig returns the default thresholds.
func DefaultConfig() Config {
	return Config{UnusedScopeDays: 90, ReuseSources: 3, MaxExtensions: 3}
}

// Checks returns every check, in a fixed order.
func Checks() []Check {
	return []Check{
		checkOwnerMissing,
		checkOwnerDeparted,
		checkBackupMissing,
		checkSecretLeaked,
		checkThirdParty,
		checkStaticSecret,
		checkDeprecatedAuth,
		checkUnusedScopes,
		checkCIStaticCloud,
		checkNoExpiry,
		checkBeyondMaxLifetime,
		checkRotationOverdue,
		checkRotationFailed,
		checkLifetimeExtended,
		checkMultipleActiveKeys,
		checkEnvShared,
		checkCredentialReuse,
		checkHumanUse,
		checkDormant,
		checkCredentialDormant,
		checkReviewOverdue,
		checkBindingBroad,
		checkIssuerUnrestricted,
		checkStaticSecretRetained,
		checkAgentStandingWrite,
	}
}

// CheckByID returns the check with this id.
func CheckByID(id string) (Check, bool) {
	for _, c := range Checks() {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// live reports whether the identity can still be used or brought back:
// pending, active or suspended.
func (in *Input) live() bool {
	switch in.Identity.Status {
	case steward.StatusActive, steward.StatusPending, steward.StatusSuspended:
		return true
	}
	return false
}

func (in *Input) active() bool { return in.Identity.Status == steward.StatusActive }

// activeCredentials returns the credentials that can authenticate.
func (in *Input) activeCredentials() []*steward.Credential {
	var out []*steward.Credential
	for _, c := range in.Credentials {
		if c.Status == steward.CredentialActive && (c.ExpiresAt == nil || c.ExpiresAt.After(in.Now)) {
			out = append(out, c)
		}
	}
	return out
}

// lastUsed is the newest use of the identity or any of its credentials.
func (in *Input) lastUsed() *time.Time {
	t := in.Identity.LastUsedAt
	for _, c := range in.Credentials {
		if c.LastUsedAt != nil && (t == nil || c.LastUsedAt.After(*t)) {
			t = c.LastUsedAt
		}
	}
	if in.Usage != nil && in.Usage.LastSeen != nil && (t == nil || in.Usage.LastSeen.After(*t)) {
		t = in.Usage.LastSeen
	}
	return t
}

// tierSeverity maps a tier to a severity, raised by bump levels.
func tierSeverity(t steward.Sensitivity, bump int) steward.Severity {
	order := []steward.Severity{steward.SeverityLow, steward.SeverityMedium, steward.SeverityHigh, steward.SeverityCritical}
	n := map[steward.Sensitivity]int{steward.SensitivityLow: 0, steward.SensitivityMedium: 1, steward.SensitivityHigh: 2, steward.SensitivityCritical: 3}[t]
	return order[max(0, min(3, n+bump))]
}

func days(d time.Duration) int { return int(d / (24 * time.Hour)) }

func rfc(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "y":
		return true
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(ks)
	return ks
}
