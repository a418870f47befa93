package steward

import (
	"context"
	"time"
)

// WebSession is a signed-in web console session. The browser holds a random
// session id in an HttpOnly cookie; the store keeps only its SHA-256 digest,
// the operator token it was opened with, the session's CSRF token and its
// expiry. Role and OwnerID are read from the token on every lookup, so
// revoking the token ends its sessions at once, on every node.
type WebSession struct {
	Digest    string    // SHA-256 hex of the session id
	TokenID   string    // the operator token used to sign in
	CSRF      string    // the session's CSRF token (random)
	CreatedAt time.Time //
	ExpiresAt time.Time // absolute end of the session
	Role      Role      // from the token, filled on read
	OwnerID   string    // from the token, filled on read
}

// Principal returns the caller a session acts as: the token's principal.
func (s *WebSession) Principal() *Principal {
	return &Principal{Actor: "token:" + s.TokenID, Role: s.Role, OwnerID: s.OwnerID, TokenID: s.TokenID}
}

// WebSessionStore persists web console sessions.
type WebSessionStore interface {
	CreateWebSession(ctx context.Context, s *WebSession) error
	// WebSession returns the live session with this digest; ENOTFOUND when
	// it is missing or expired, or when its token is revoked or expired.
	WebSession(ctx context.Context, digest string, now time.Time) (*WebSession, error)
	DeleteWebSession(ctx context.Context, digest string) error
	// DeleteExpiredWebSessions removes sessions that ended before now.
	DeleteExpiredWebSessions(ctx context.Context, now time.Time) (int64, error)
}

// DashboardCounts are the dashboard's numbers beyond InventoryStats,
// computed by aggregate queries (never by listing identities).
type DashboardCounts struct {
	// Active identities expiring within 7 and 30 days of now.
	Expiring7  int64 `json:"expiring_7d"`
	Expiring30 int64 `json:"expiring_30d"`
	// Active identities not rotated within their tier's rotation period
	// (never rotated counts from creation), by tier.
	RotationOverdue map[Sensitivity]int64 `json:"rotation_overdue"`
	// Active identities not used within their tier's dormancy period
	// (never used counts from creation), by tier.
	Dormant map[Sensitivity]int64 `json:"dormant"`
	// Active credentials by age since creation or last rotation.
	CredentialAge []Bucket `json:"credential_age"`
	// Identities created per week, oldest first.
	CreatedPerWeek []TimePoint `json:"created_per_week"`
	// Recorded changes and revocations per week, oldest first.
	ChangesPerWeek     []TimePoint `json:"changes_per_week"`
	RevocationsPerWeek []TimePoint `json:"revocations_per_week"`
}

// Bucket is one bar of a histogram.
type Bucket struct {
	Label string `json:"label"`
	Count int64  `json:"count"`
}

// TimePoint is one point of a time series.
type TimePoint struct {
	Time  time.Time `json:"time"`
	Value int64     `json:"value"`
}

// DailyStats is one day's snapshot of the inventory, kept for trends.
type DailyStats struct {
	Day        time.Time `json:"day"`
	Identities int64     `json:"identities"`
	Live       int64     `json:"live"` // not revoked
	Unowned    int64     `json:"unowned"`
	Orphaned   int64     `json:"orphaned"`
	Expired    int64     `json:"expired"`
	// OpenFindings counts unresolved posture findings, SevereFindings the
	// critical and high ones among them; -1 when posture was not running.
	OpenFindings   int64 `json:"open_findings"`
	SevereFindings int64 `json:"severe_findings"`
}

// Coverage returns the share of live identities that have an owner, 0..1.
func (d DailyStats) Coverage() float64 {
	if d.Live <= 0 {
		return 1
	}
	return float64(d.Live-d.Unowned) / float64(d.Live)
}

// DashboardStore computes the dashboard's aggregates.
type DashboardStore interface {
	// DashboardCounts computes the counts at now under policy p; trends
	// cover the given number of weeks before now.
	DashboardCounts(ctx context.Context, now time.Time, p Policy, weeks int) (*DashboardCounts, error)
	// OwnerIdentityCounts returns how many identities each owner owns.
	OwnerIdentityCounts(ctx context.Context, ownerIDs []string) (map[string]int64, error)
	// RecordDailyStats stores (or replaces) the snapshot of d.Day.
	RecordDailyStats(ctx context.Context, d DailyStats) error
	// ListDailyStats returns snapshots since the given day, oldest first.
	ListDailyStats(ctx context.Context, since time.Time) ([]DailyStats, error)
	// AuthTrend returns the successful authentications of each UTC day
	// in [from, to) by environment, federated against static; days and
	// environments without any are absent. It reads per-day counts the
	// usage write path keeps, never the usage log.
	AuthTrend(ctx context.Context, from, to time.Time) ([]AuthDay, error)
}

// AuthDay counts one UTC day's successful authentications (usage events
// of kind auth with outcome ok) in one environment, by how the caller
// proved who it is.
type AuthDay struct {
	Day         time.Time `json:"day"`
	Environment string    `json:"environment"` // the identity's; "" when unknown
	// Federated counts token exchanges and uses of the tokens they issued
	// (federated workload tokens and delegation to agents): events with
	// federated_iss or act_sub among their attributes.
	Federated int64 `json:"federated"`
	// Static counts the rest: API keys, client secrets and the tokens
	// obtained with them.
	Static int64 `json:"static"`
}

// AuthFederated reports whether a successful authentication used a
// federated or exchanged token rather than a static secret.
func AuthFederated(e UsageEvent) bool {
	return e.Attributes["federated_iss"] != "" || e.Attributes["act_sub"] != ""
}
