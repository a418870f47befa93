package steward

import (
	"context"
	"slices"
	"strings"
	"time"
)

// AlertStatus is where an alert is in its lifecycle: open → acknowledged →
// resolved or false_positive (both final: a recurrence opens a new alert).
type AlertStatus string

// Alert states.
const (
	AlertOpen          AlertStatus = "open"
	AlertAcknowledged  AlertStatus = "acknowledged"
	AlertResolved      AlertStatus = "resolved"
	AlertFalsePositive AlertStatus = "false_positive"
)

// AlertStatuses lists every alert state.
var AlertStatuses = []AlertStatus{AlertOpen, AlertAcknowledged, AlertResolved, AlertFalsePositive}

// Live reports whether the alert still stands (open or acknowledged): new
// occurrences are grouped into it.
func (s AlertStatus) Live() bool { return s == AlertOpen || s == AlertAcknowledged }

// Alert is one anomaly about an identity (or, for failed authentications
// of an unknown client, a source address): which detector saw it, how bad,
// what is new against the identity's baseline, and the OWASP NHI Top 10
// (2025) and NIST CSF 2.0 ids it bears on. Occurrences of the same
// detector on the same identity within the grouping window are counted in
// one alert.
type Alert struct {
	ID           string         `json:"id"`
	Key          string         `json:"key"` // detector:identity (or detector:src:address)
	Detector     string         `json:"detector"`
	Title        string         `json:"title"`
	Severity     Severity       `json:"severity"`
	Status       AlertStatus    `json:"status"`
	IdentityID   string         `json:"identity_id"`
	CredentialID string         `json:"credential_id,omitempty"`
	OwnerID      string         `json:"owner_id,omitempty"`
	Team         string         `json:"team,omitempty"`
	Environment  string         `json:"environment,omitempty"`
	Sensitivity  Sensitivity    `json:"sensitivity,omitempty"`
	Evidence     map[string]any `json:"evidence"`
	OWASP        string         `json:"owasp"` // "NHI2:2025"
	CSF          []string       `json:"csf"`
	FirstSeen    time.Time      `json:"first_seen"`
	LastSeen     time.Time      `json:"last_seen"`
	Count        int64          `json:"count"`
	// Response is the automatic response taken, if any ("suspended
	// identity", "revoked credential crd_…", or the error).
	Response   string     `json:"response,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ActedAt    *time.Time `json:"acted_at"`
	ActedBy    string     `json:"acted_by,omitempty"`
	ActionNote string     `json:"action_note,omitempty"`
}

// AlertFilter selects alerts, newest first. Empty fields do not filter.
type AlertFilter struct {
	IdentityID string
	Detector   string
	Severity   Severity
	Status     AlertStatus
	// OwnerID restricts to one owner's identities (the owner role).
	OwnerID string
	Limit   int
	Cursor  string
}

// Validate checks the enumerations and limits.
func (f *AlertFilter) Validate() error {
	if f.Severity != "" && !ValidSeverity(f.Severity) {
		return FieldError("severity", "%q is not one of critical, high, medium, low, info", f.Severity)
	}
	if f.Status != "" && !slices.Contains(AlertStatuses, f.Status) {
		return FieldError("status", "%q is not one of open, acknowledged, resolved, false_positive", f.Status)
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return FieldError("limit", "must be between 1 and %d", MaxLimit)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	return nil
}

// AlertAction is what a person does with an alert.
type AlertAction string

// Alert actions.
const (
	AlertActAck           AlertAction = "ack"
	AlertActResolve       AlertAction = "resolve"
	AlertActFalsePositive AlertAction = "false-positive"
)

// AlertActionRequest is the body of an ack, resolve or false-positive.
type AlertActionRequest struct {
	Note string `json:"note"`
}

// Validate checks the note.
func (r *AlertActionRequest) Validate() error {
	r.Note = strings.TrimSpace(r.Note)
	if len(r.Note) > MaxTextLen {
		return FieldError("note", "is longer than %d characters", MaxTextLen)
	}
	return nil
}

// NextAlertStatus is the state after action, or ECONFLICT.
func NextAlertStatus(s AlertStatus, a AlertAction) (AlertStatus, error) {
	if !s.Live() {
		return "", Errorf(ECONFLICT, "the alert is %s already; a recurrence opens a new alert", s)
	}
	switch a {
	case AlertActAck:
		if s == AlertAcknowledged {
			return "", Errorf(ECONFLICT, "the alert is acknowledged already")
		}
		return AlertAcknowledged, nil
	case AlertActResolve:
		return AlertResolved, nil
	case AlertActFalsePositive:
		return AlertFalsePositive, nil
	}
	return "", FieldError("action", "%q is not one of ack, resolve, false-positive", a)
}

// Event actions and subject type of the alerts capability.
const (
	ActionAlertAcknowledge   = "alert.acknowledge"
	ActionAlertResolve       = "alert.resolve"
	ActionAlertFalsePositive = "alert.false_positive"
	SubjectAlert             = "alert"
)

// AlertRule routes notifications to sinks and, for alerts, may take an
// automatic response. Empty match lists match everything.
type AlertRule struct {
	Name string `json:"name" yaml:"name"`
	// MinSeverity matches notifications at least this severe.
	MinSeverity  Severity      `json:"min_severity,omitempty" yaml:"min_severity"`
	Kinds        []string      `json:"kinds,omitempty" yaml:"kinds"` // alert, finding, digest, offboarding, test
	Detectors    []string      `json:"detectors,omitempty" yaml:"detectors"`
	Teams        []string      `json:"teams,omitempty" yaml:"teams"`
	Environments []string      `json:"environments,omitempty" yaml:"environments"`
	Tiers        []Sensitivity `json:"tiers,omitempty" yaml:"tiers"`
	Sinks        []string      `json:"sinks" yaml:"sinks"`
	// Response is taken once per new alert that matches: "suspend" the
	// identity or "revoke_credential" (reason incident).
	Response string `json:"response,omitempty" yaml:"response"`
}

// Automatic responses.
const (
	ResponseSuspend          = "suspend"
	ResponseRevokeCredential = "revoke_credential"
)

// SeverityRank orders severities: critical 4 … info 0, unknown -1.
func SeverityRank(s Severity) int {
	if i := slices.Index(Severities, s); i >= 0 {
		return len(Severities) - 1 - i
	}
	return -1
}

// Validate checks the rule.
func (r *AlertRule) Validate() error {
	switch {
	case r.Name == "":
		return FieldError("name", "is required")
	case r.MinSeverity != "" && !ValidSeverity(r.MinSeverity):
		return FieldError("min_severity", "%q is not one of critical, high, medium, low, info", r.MinSeverity)
	case r.Response != "" && r.Response != ResponseSuspend && r.Response != ResponseRevokeCredential:
		return FieldError("response", "%q is not one of suspend, revoke_credential", r.Response)
	case len(r.Sinks) == 0 && r.Response == "":
		return FieldError("sinks", "a rule needs sinks or a response")
	}
	for _, t := range r.Tiers {
		if !ValidSensitivity(t) {
			return FieldError("tiers", "%q is not one of critical, high, medium, low", t)
		}
	}
	return nil
}

// Matches reports whether the rule applies to n (alert fields travel in
// n.Fields: "detector").
func (r *AlertRule) Matches(n Notification) bool {
	if r.MinSeverity != "" && SeverityRank(Severity(n.Severity)) < SeverityRank(r.MinSeverity) {
		return false
	}
	match := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return match(r.Kinds, n.Kind) && match(r.Detectors, n.Fields["detector"]) && match(r.Teams, n.Team) &&
		match(r.Environments, n.Environment) && (len(r.Tiers) == 0 || slices.Contains(r.Tiers, n.Sensitivity))
}

// Baseline is one identity's learned behaviour, opaque to the store.
type Baseline struct {
	IdentityID string    `json:"identity_id"`
	Data       []byte    `json:"data"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// DeadLetter is a notification a sink could not deliver after its retries.
type DeadLetter struct {
	ID           string       `json:"id"`
	Sink         string       `json:"sink"`
	Notification Notification `json:"notification"`
	Error        string       `json:"error"`
	Attempts     int          `json:"attempts"`
	CreatedAt    time.Time    `json:"created_at"`
}

// NotificationResult is one sink's answer to a test notification.
type NotificationResult struct {
	Sink  string `json:"sink"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// AlertStore keeps alerts, baselines and dead letters.
type AlertStore interface {
	// SaveAlerts inserts or replaces alerts by id.
	SaveAlerts(ctx context.Context, as []*Alert) error
	GetAlert(ctx context.Context, id string) (*Alert, error)
	ListAlerts(ctx context.Context, f AlertFilter) (*Page[*Alert], error)
	// LiveAlerts returns the open and acknowledged alerts last seen at or
	// after since (the grouping index at start).
	LiveAlerts(ctx context.Context, since time.Time) ([]*Alert, error)
	// UpdateAlert runs fn on the stored alert in one transaction with tx,
	// saving the alert fn returns and the events fn appends.
	UpdateAlert(ctx context.Context, id string, fn func(tx Tx, a *Alert) error) (*Alert, error)

	SaveBaselines(ctx context.Context, bs []Baseline) error
	LoadBaselines(ctx context.Context, fn func(b Baseline) error) error

	AddDeadLetter(ctx context.Context, d *DeadLetter) error
	ListDeadLetters(ctx context.Context, limit int) ([]*DeadLetter, error)
}

// RaisedAlert is an alert from outside the usage detectors: a leaked
// governed credential, a broken audit chain. It is grouped, notified and
// answered like any other.
type RaisedAlert struct {
	Detector     string         `json:"detector"` // "secret_leaked", "audit_chain"
	Title        string         `json:"title"`
	Severity     Severity       `json:"severity"`
	IdentityID   string         `json:"identity_id,omitempty"`
	CredentialID string         `json:"credential_id,omitempty"`
	Evidence     map[string]any `json:"evidence,omitempty"`
	OWASP        string         `json:"owasp"`
	CSF          []string       `json:"csf"`
	Time         time.Time      `json:"time"`
}

// AlertRaiser raises alerts that no usage event carries.
type AlertRaiser interface {
	RaiseAlert(ctx context.Context, r RaisedAlert) (*Alert, error)
}
