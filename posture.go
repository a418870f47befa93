package steward

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Severity ranks a finding.
type Severity string

// Severities, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}

// ValidSeverity reports whether s is a severity.
func ValidSeverity(s Severity) bool { return slices.Contains(Severities, s) }

// FindingStatus is where a finding is in its lifecycle:
// open → acknowledged → resolved, or waived until a date (an expired waiver
// reopens the finding). A resolved finding whose condition returns reopens.
type FindingStatus string

// Finding states.
const (
	FindingOpen         FindingStatus = "open"
	FindingAcknowledged FindingStatus = "acknowledged"
	FindingResolved     FindingStatus = "resolved"
	FindingWaived       FindingStatus = "waived"
)

// FindingStatuses lists every finding state.
var FindingStatuses = []FindingStatus{FindingOpen, FindingAcknowledged, FindingResolved, FindingWaived}

// Unresolved reports whether the finding still stands (open, acknowledged
// or waived).
func (s FindingStatus) Unresolved() bool { return s != FindingResolved }

// Finding is one posture result about an identity (and, for some checks,
// one of its credentials): what is wrong, how bad, the OWASP NHI Top 10
// (2025) risk ("NHI1".."NHI10") and the NIST CSF 2.0 subcategories it
// bears on, the evidence, and what to do.
type Finding struct {
	ID           string         `json:"id"`
	Key          string         `json:"key"` // check:identity[:credential]; one finding per key
	Check        string         `json:"check"`
	Title        string         `json:"title"`
	Severity     Severity       `json:"severity"`
	Status       FindingStatus  `json:"status"`
	IdentityID   string         `json:"identity_id"`
	CredentialID string         `json:"credential_id,omitempty"`
	OwnerID      string         `json:"owner_id"`
	Team         string         `json:"team"`
	OWASP        string         `json:"owasp"`
	CSF          []string       `json:"csf"`
	Evidence     map[string]any `json:"evidence"`
	Remediation  string         `json:"remediation"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	// FirstSeen is when the condition was first found; ReopenedAt when it
	// last came back after a resolution.
	FirstSeen      time.Time  `json:"first_seen"`
	ReopenedAt     *time.Time `json:"reopened_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	ResolvedBy     string     `json:"resolved_by,omitempty"`
	// ResolvedSeq is the audit-chain entry that cleared the condition (the
	// newest event of the identity when posture saw it clear), 0 if none.
	ResolvedSeq int64   `json:"resolved_seq,omitempty"`
	Waiver      *Waiver `json:"waiver,omitempty"`
}

// OWASPName returns the full OWASP NHI Top 10 id of the finding, e.g.
// "NHI1:2025".
func (f *Finding) OWASPName() string { return OWASPID(f.OWASP) }

// OWASPID returns the 2025 id of a short OWASP NHI id ("NHI1" → "NHI1:2025").
func OWASPID(short string) string {
	if short == "" || strings.Contains(short, ":") {
		return short
	}
	return short + ":2025"
}

// OWASPRisks names the OWASP Non-Human Identities Top 10 (2025) risks.
var OWASPRisks = map[string]string{
	"NHI1":  "Improper Offboarding",
	"NHI2":  "Secret Leakage",
	"NHI3":  "Vulnerable Third-Party NHI",
	"NHI4":  "Insecure Authentication",
	"NHI5":  "Overprivileged NHI",
	"NHI6":  "Insecure Cloud Deployment Configurations",
	"NHI7":  "Long-Lived Secrets",
	"NHI8":  "Environment Isolation",
	"NHI9":  "NHI Reuse",
	"NHI10": "Human Use of NHI",
}

// OWASPOrder lists the OWASP ids in order.
var OWASPOrder = []string{"NHI1", "NHI2", "NHI3", "NHI4", "NHI5", "NHI6", "NHI7", "NHI8", "NHI9", "NHI10"}

// Waiver is a recorded, time-bound exception for one finding (CSF ID.RA-07).
type Waiver struct {
	ID        string     `json:"id"`
	FindingID string     `json:"finding_id"`
	Reason    string     `json:"reason"`
	Approver  string     `json:"approver"`
	Until     time.Time  `json:"until"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	EndedAt   *time.Time `json:"ended_at"`
	EndReason string     `json:"end_reason,omitempty"` // expired, reopened, resolved
}

// WaiverRequest is the body of a waive: why, who approved, until when.
type WaiverRequest struct {
	Reason   string    `json:"reason"`
	Approver string    `json:"approver"`
	Until    time.Time `json:"until"`
}

// Validate checks the request at now.
func (w *WaiverRequest) Validate(now time.Time) error {
	w.Reason, w.Approver = strings.TrimSpace(w.Reason), strings.TrimSpace(w.Approver)
	switch {
	case w.Reason == "":
		return FieldError("reason", "is required for a waiver")
	case len(w.Reason) > MaxTextLen:
		return FieldError("reason", "is longer than %d characters", MaxTextLen)
	case w.Approver == "":
		return FieldError("approver", "is required for a waiver")
	case len(w.Approver) > MaxNameLen:
		return FieldError("approver", "is longer than %d characters", MaxNameLen)
	case w.Until.IsZero():
		return FieldError("until", "is required: the date the waiver ends")
	case !w.Until.After(now):
		return FieldError("until", "must be in the future")
	case w.Until.After(now.AddDate(1, 0, 0)):
		return FieldError("until", "may be at most one year ahead")
	}
	w.Until = w.Until.UTC().Truncate(time.Microsecond)
	return nil
}

// FindingFilter selects findings. Empty fields do not filter.
type FindingFilter struct {
	Severity   Severity
	OWASP      string // "NHI1" (or "NHI1:2025")
	CSF        string // "PR.AA-01"
	OwnerID    string
	Team       string
	Status     FindingStatus
	IdentityID string
	Check      string
	// Unresolved selects open, acknowledged and waived findings.
	Unresolved bool
	Limit      int
	Cursor     string
}

// Validate checks the enumerations and limits.
func (f *FindingFilter) Validate() error {
	f.OWASP = strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(f.OWASP), ":2025"))
	if f.Severity != "" && !ValidSeverity(f.Severity) {
		return FieldError("severity", "%q is not one of critical, high, medium, low, info", f.Severity)
	}
	if f.Status != "" && !slices.Contains(FindingStatuses, f.Status) {
		return FieldError("status", "%q is not one of open, acknowledged, resolved, waived", f.Status)
	}
	if f.OWASP != "" && OWASPRisks[f.OWASP] == "" {
		return FieldError("owasp", "%q is not an OWASP NHI Top 10 id (NHI1..NHI10)", f.OWASP)
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return FieldError("limit", "must be between 1 and %d", MaxLimit)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	return nil
}

// Event actions and subject types of the posture capability.
const (
	ActionFindingAcknowledge = "finding.acknowledge"
	ActionFindingWaive       = "finding.waive"
	ActionFindingReopen      = "finding.reopen"
	ActionReviewStart        = "review.start"
	ActionReviewDecide       = "review.decide"
	ActionReviewClose        = "review.close"
	ActionOwnerReassign      = "owner.reassign"
	ActionOffboardingStart   = "offboarding.start"
	SubjectFinding           = "finding"
	SubjectReview            = "review"
)

// ReviewDecision is an owner's attestation about one identity.
type ReviewDecision string

// Review decisions.
const (
	DecisionKeep     ReviewDecision = "keep"
	DecisionReduce   ReviewDecision = "reduce"
	DecisionRevoke   ReviewDecision = "revoke"
	DecisionReassign ReviewDecision = "reassign"
)

// ReviewScope selects the identities of a campaign. Empty fields do not
// filter; revoked identities are never reviewed.
type ReviewScope struct {
	Team        string      `json:"team,omitempty"`
	OwnerID     string      `json:"owner_id,omitempty"`
	Sensitivity Sensitivity `json:"sensitivity,omitempty"`
	Provider    string      `json:"provider,omitempty"`
	Environment string      `json:"environment,omitempty"`
	Kind        Kind        `json:"kind,omitempty"`
}

// ReviewRequest opens an access-review campaign.
type ReviewRequest struct {
	Name  string      `json:"name"`
	Scope ReviewScope `json:"scope"`
	// Deadline ends the campaign; default 14 days from now.
	Deadline *time.Time `json:"deadline"`
	// AutoSuspend suspends identities whose item is unanswered past the
	// deadline.
	AutoSuspend bool `json:"auto_suspend"`
}

// ReviewCampaign is an access review: each owner attests, per identity.
type ReviewCampaign struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Scope       ReviewScope    `json:"scope"`
	Status      string         `json:"status"` // open, closed
	CreatedAt   time.Time      `json:"created_at"`
	CreatedBy   string         `json:"created_by"`
	Deadline    time.Time      `json:"deadline"`
	ClosedAt    *time.Time     `json:"closed_at"`
	AutoSuspend bool           `json:"auto_suspend"`
	Counts      map[string]int `json:"counts"` // by item status and decision
	Items       []*ReviewItem  `json:"items,omitempty"`
}

// Review item states.
const (
	ReviewPending = "pending"
	ReviewDecided = "decided"
)

// ReviewItem is one identity of a campaign and the decision about it.
type ReviewItem struct {
	ID            string         `json:"id"`
	CampaignID    string         `json:"campaign_id"`
	IdentityID    string         `json:"identity_id"`
	IdentityName  string         `json:"identity_name"`
	OwnerID       string         `json:"owner_id"`
	Status        string         `json:"status"`
	Decision      ReviewDecision `json:"decision,omitempty"`
	Justification string         `json:"justification,omitempty"`
	Scopes        []string       `json:"scopes,omitempty"` // reduce: the scopes to keep
	NewOwnerID    string         `json:"new_owner_id,omitempty"`
	DecidedBy     string         `json:"decided_by,omitempty"`
	DecidedAt     *time.Time     `json:"decided_at"`
	// EventSeq is the audit-chain entry recording the decision.
	EventSeq int64 `json:"event_seq,omitempty"`
}

// ReviewItemFilter selects a page of one campaign's items: pending items
// first, then decided ones, each in id order.
type ReviewItemFilter struct {
	CampaignID string
	// Status is pending or decided; empty selects both, pending first.
	Status string
	// OwnerID selects one owner's items; empty selects every owner's.
	OwnerID string
	Limit   int
	Cursor  string
}

// Validate checks the filter and sets the default limit.
func (f *ReviewItemFilter) Validate() error {
	switch {
	case f.CampaignID == "":
		return FieldError("campaign_id", "is required")
	case f.Status != "" && f.Status != ReviewPending && f.Status != ReviewDecided:
		return FieldError("status", "%q is not one of pending, decided", f.Status)
	case f.Limit < 0 || f.Limit > MaxLimit:
		return FieldError("limit", "must be between 1 and %d", MaxLimit)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	return nil
}

// ReviewDecisionRequest is the body of a decision.
type ReviewDecisionRequest struct {
	Decision      ReviewDecision `json:"decision"`
	Justification string         `json:"justification"`
	Scopes        []string       `json:"scopes"`
	NewOwnerID    string         `json:"new_owner_id"`
}

// Validate checks the decision's required fields.
func (d *ReviewDecisionRequest) Validate() error {
	d.Justification = strings.TrimSpace(d.Justification)
	if len(d.Justification) > MaxTextLen {
		return FieldError("justification", "is longer than %d characters", MaxTextLen)
	}
	switch d.Decision {
	case DecisionKeep:
		if d.Justification == "" {
			return FieldError("justification", "is required to keep an identity")
		}
	case DecisionReduce:
		if d.Scopes == nil {
			return FieldError("scopes", "lists the scopes to keep when reducing")
		}
		d.Scopes = NormalizeScopes(d.Scopes)
	case DecisionRevoke:
	case DecisionReassign:
		if strings.TrimSpace(d.NewOwnerID) == "" {
			return FieldError("new_owner_id", "is required to reassign")
		}
	default:
		return FieldError("decision", "%q is not one of keep, reduce, revoke, reassign", d.Decision)
	}
	return nil
}

// ReassignRequest moves a (departed) owner's identities to another owner.
type ReassignRequest struct {
	NewOwnerID string `json:"new_owner_id"`
	// IdentityIDs restricts the move to these identities; empty moves all.
	IdentityIDs []string `json:"identity_ids"`
	Reason      string   `json:"reason"`
}

// ReassignResult lists the identities moved.
type ReassignResult struct {
	FromOwnerID string   `json:"from_owner_id"`
	ToOwnerID   string   `json:"to_owner_id"`
	Moved       []string `json:"moved"`
}

// Offboarding is the record of one owner's departure and what posture did
// about it.
type Offboarding struct {
	OwnerID     string     `json:"owner_id"`
	Source      string     `json:"source"` // api, scim, okta, event
	StartedAt   time.Time  `json:"started_at"`
	Deadline    time.Time  `json:"deadline"` // reassign before, else suspend
	Identities  []string   `json:"identities"`
	NotifiedAt  *time.Time `json:"notified_at"`
	Notified    []string   `json:"notified"` // owner ids told (manager, backup)
	CompletedAt *time.Time `json:"completed_at"`
	Suspended   []string   `json:"suspended"`
	Rotated     []string   `json:"rotated"`
}

// ScheduleFilter selects schedule items.
type ScheduleFilter struct {
	Days    int // due (or expiring) within this many days; overdue items always
	OwnerID string
	Team    string
	Limit   int
}

// ScheduleItem is one identity's rotation or expiry due date.
type ScheduleItem struct {
	IdentityID   string      `json:"identity_id"`
	IdentityName string      `json:"identity_name"`
	CredentialID string      `json:"credential_id,omitempty"`
	OwnerID      string      `json:"owner_id"`
	Team         string      `json:"team"`
	Sensitivity  Sensitivity `json:"sensitivity"`
	Basis        *time.Time  `json:"basis"` // last rotation (or creation)
	DueAt        time.Time   `json:"due_at"`
	State        string      `json:"state"` // ok, due, overdue, expiring, expired
	DaysLeft     int         `json:"days_left"`
}

// PostureRun summarises one evaluation.
type PostureRun struct {
	Mode       string         `json:"mode"` // full, incremental
	StartedAt  time.Time      `json:"started_at"`
	Duration   string         `json:"duration"`
	Identities int            `json:"identities"`
	Opened     int            `json:"opened"`
	Reopened   int            `json:"reopened"`
	Resolved   int            `json:"resolved"`
	Unchanged  int            `json:"unchanged"`
	Open       map[string]int `json:"open_by_owasp,omitempty"`
	Actions    []string       `json:"actions,omitempty"` // enforcement taken (or, in dry run, proposed)
	HeadSeq    int64          `json:"head_seq"`
}

// PostureSnapshot is the posture at one full run, kept for trends
// (ownership coverage over time).
type PostureSnapshot struct {
	Time        time.Time      `json:"time"`
	Identities  int64          `json:"identities"` // not revoked
	Owned       int64          `json:"owned"`      // owner active
	Unowned     int64          `json:"unowned"`
	Orphaned    int64          `json:"orphaned"` // owner departed
	OpenByOWASP map[string]int `json:"open_by_owasp"`
}

// UsageStat is how often one value of a usage dimension was seen.
type UsageStat struct {
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// UsageSummary is an identity's usage aggregates by dimension.
type UsageSummary struct {
	Actions      map[string]UsageStat `json:"actions"`
	Resources    map[string]UsageStat `json:"resources"`
	Sources      map[string]UsageStat `json:"sources"`
	Environments map[string]UsageStat `json:"environments"`
	UserAgents   map[string]UsageStat `json:"user_agents"`
	Workloads    map[string]UsageStat `json:"workloads"`
	Total        int64                `json:"total"`
	LastSeen     *time.Time           `json:"last_seen"`
}

// PostureSubject is an identity with everything its checks look at.
type PostureSubject struct {
	Identity    *Identity
	Credentials []*Credential
	// ExpiryExtensions counts recorded extensions of the identity's or its
	// credentials' lifetime.
	ExpiryExtensions int
	// SharedWith lists, per fingerprint of this identity's credentials, the
	// other identities holding the same secret.
	SharedWith map[string][]SharedCredential
	// OverdueReviews are unanswered review items past their deadline.
	OverdueReviews []*ReviewItem
}

// SharedCredential is another identity holding the same fingerprint.
type SharedCredential struct {
	IdentityID  string `json:"identity_id"`
	Environment string `json:"environment"`
}

// FindingWrite is a change to one finding in a batch.
type FindingWrite struct {
	Finding *Finding
	Insert  bool
}

// PostureChange is the part of an event that tells posture what to
// re-evaluate.
type PostureChange struct {
	Seq         int64
	Action      string
	SubjectType string
	SubjectID   string
	IdentityID  string
}

// PostureReader reads posture data in bulk.
type PostureReader interface {
	GetFinding(ctx context.Context, id string) (*Finding, error)
	ListFindings(ctx context.Context, f FindingFilter) (*Page[*Finding], error)
	// FindingsFor returns the findings of these identities.
	FindingsFor(ctx context.Context, identityIDs []string) ([]*Finding, error)
	// FindingsInRange returns the findings whose identity id is in
	// (after, through]; "" leaves an end open.
	FindingsInRange(ctx context.Context, after, through string) ([]*Finding, error)
	// FindingCounts counts unresolved findings by OWASP id.
	FindingCounts(ctx context.Context) (map[string]int, error)
	// FindingMatrix counts unresolved findings by OWASP id (as stored) and
	// severity.
	FindingMatrix(ctx context.Context) (map[string]map[Severity]int, error)
	ListWaivers(ctx context.Context, findingID string) ([]*Waiver, error)

	// ScanSubjects calls fn with batches of identities (by id) and their
	// credentials: those named in ids, or every identity when ids is nil.
	ScanSubjects(ctx context.Context, ids []string, batch int, fn func(is []*Identity, creds map[string][]*Credential) error) error
	// ExpiryExtensions counts lifetime extensions per identity (ids nil: all).
	ExpiryExtensions(ctx context.Context, ids []string) (map[string]int, error)
	// SharedFingerprints returns, for fingerprints held by more than one
	// identity (among fps, or all when fps is nil), the identities.
	SharedFingerprints(ctx context.Context, fps []string) (map[string][]SharedCredential, error)
	// PostureChanges returns events after seq (at most limit) and the head.
	PostureChanges(ctx context.Context, afterSeq int64, limit int) ([]PostureChange, int64, error)
	// LatestSeqs returns the newest event seq of each identity.
	LatestSeqs(ctx context.Context, identityIDs []string) (map[string]int64, error)
	// FindOwnerByRef returns the owner with this email, external ref or id.
	FindOwnerByRef(ctx context.Context, ref string) (*Owner, error)

	GetReview(ctx context.Context, id string) (*ReviewCampaign, error)
	ListReviews(ctx context.Context, since *time.Time) ([]*ReviewCampaign, error)
	// ListReviewItems returns every item of a campaign in id order.
	ListReviewItems(ctx context.Context, campaignID string) ([]*ReviewItem, error)
	// ReviewItems returns a page of a campaign's items (ReviewItemFilter).
	ReviewItems(ctx context.Context, f ReviewItemFilter) (*Page[*ReviewItem], error)
	// GetReviewItem returns one review item.
	GetReviewItem(ctx context.Context, id string) (*ReviewItem, error)
	// ReviewCounts counts the items of each of these campaigns, by status
	// and by decision, in the shape of ReviewCampaign.Counts: "items",
	// "pending" and "decided" always, and each decision taken. A non-empty
	// ownerID counts only that owner's items (a campaign without any has
	// "items" 0). Every campaign asked for is in the result.
	ReviewCounts(ctx context.Context, campaignIDs []string, ownerID string) (map[string]map[string]int, error)
	// OverdueReviewItems returns pending items of open campaigns whose
	// deadline passed (for these identities, or all when ids is nil).
	OverdueReviewItems(ctx context.Context, now time.Time, ids []string) ([]*ReviewItem, error)

	ListSnapshots(ctx context.Context, since, until time.Time) ([]*PostureSnapshot, error)
	GetOffboarding(ctx context.Context, ownerID string) (*Offboarding, error)
	ListOffboardings(ctx context.Context, open bool) ([]*Offboarding, error)
}

// PostureTx is a write transaction over the inventory and posture data.
type PostureTx interface {
	Tx
	PostureReader
	WriteFindings(ctx context.Context, ws []FindingWrite) error
	CreateWaiver(ctx context.Context, w *Waiver) error
	UpdateWaiver(ctx context.Context, w *Waiver) error
	CreateReview(ctx context.Context, c *ReviewCampaign, items []*ReviewItem) error
	UpdateReview(ctx context.Context, c *ReviewCampaign) error
	UpdateReviewItem(ctx context.Context, it *ReviewItem) error
	SaveSnapshot(ctx context.Context, s *PostureSnapshot) error
	SaveOffboarding(ctx context.Context, o *Offboarding) error
	// TryLease takes or renews the named job lease for holder until until;
	// false when another holder has it.
	TryLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
}

// PostureStore persists findings, waivers, reviews and offboardings.
type PostureStore interface {
	Store
	PostureReader
	UpdatePosture(ctx context.Context, fn func(tx PostureTx) error) error
}

// EvidenceFile is one file of an evidence pack.
type EvidenceFile struct {
	Name    string `json:"name"`
	Content []byte `json:"-"`
}
