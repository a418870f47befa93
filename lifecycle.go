package steward

import (
	"slices"
	"time"
)

// Status is an identity's lifecycle state:
// pending → active ⇄ suspended → revoked, and active → expired. Revoked is final.
type Status string

// Lifecycle states.
const (
	StatusPending   Status = "pending"
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	StatusRevoked   Status = "revoked"
	StatusExpired   Status = "expired"
)

// Statuses lists every state.
var Statuses = []Status{StatusPending, StatusActive, StatusSuspended, StatusRevoked, StatusExpired}

// ValidStatus reports whether s is a lifecycle state.
func ValidStatus(s Status) bool { return slices.Contains(Statuses, s) }

// Transition names a lifecycle operation.
type Transition string

// Lifecycle operations.
const (
	TransitionActivate Transition = "activate"
	TransitionSuspend  Transition = "suspend"
	TransitionResume   Transition = "resume"
	TransitionRevoke   Transition = "revoke"
	TransitionExpire   Transition = "expire"
)

// Transitions lists the operations a caller may request.
var Transitions = []Transition{TransitionActivate, TransitionSuspend, TransitionResume, TransitionRevoke}

// transitions maps (from, operation) to the resulting state.
var transitions = map[Status]map[Transition]Status{
	StatusPending:   {TransitionActivate: StatusActive, TransitionRevoke: StatusRevoked},
	StatusActive:    {TransitionSuspend: StatusSuspended, TransitionRevoke: StatusRevoked, TransitionExpire: StatusExpired},
	StatusSuspended: {TransitionResume: StatusActive, TransitionRevoke: StatusRevoked},
	StatusExpired:   {TransitionRevoke: StatusRevoked},
	StatusRevoked:   {},
}

// Next returns the state that operation t leads to from state s, or an
// ECONFLICT error naming both when the transition is not allowed.
func Next(s Status, t Transition) (Status, error) {
	to, ok := transitions[s][t]
	if !ok {
		if _, known := transitions[s]; !known {
			return "", FieldError("status", "%q is not a lifecycle status", s)
		}
		return "", Errorf(ECONFLICT, "cannot %s an identity that is %s", t, s)
	}
	return to, nil
}

// RevokeReason explains a revocation.
type RevokeReason string

// Revocation reasons.
const (
	ReasonOwnerDeparted  RevokeReason = "owner_departed"
	ReasonIncident       RevokeReason = "incident"
	ReasonDormant        RevokeReason = "dormant"
	ReasonDecommissioned RevokeReason = "decommissioned"
	ReasonRotation       RevokeReason = "rotation"
	ReasonManual         RevokeReason = "manual"
)

// RevokeReasons lists the accepted revocation reasons.
var RevokeReasons = []RevokeReason{ReasonOwnerDeparted, ReasonIncident, ReasonDormant, ReasonDecommissioned, ReasonRotation, ReasonManual}

// TransitionRequest is the body of a lifecycle operation.
type TransitionRequest struct {
	Reason string `json:"reason"`
	Note   string `json:"note"`
}

// Validate checks the reason for operation t: revoke needs one of
// RevokeReasons; the others accept free text.
func (r TransitionRequest) Validate(t Transition) error {
	if !slices.Contains(Transitions, t) {
		return FieldError("operation", "%q is not one of activate, suspend, resume, revoke", t)
	}
	if len(r.Note) > MaxTextLen {
		return FieldError("note", "is longer than %d characters", MaxTextLen)
	}
	if len(r.Reason) > MaxNameLen {
		return FieldError("reason", "is longer than %d characters", MaxNameLen)
	}
	if t == TransitionRevoke && !slices.Contains(RevokeReasons, RevokeReason(r.Reason)) {
		return FieldError("reason", "revoke needs a reason: one of owner_departed, incident, dormant, decommissioned, rotation, manual (got %q)", r.Reason)
	}
	return nil
}

// TierPolicy is the lifecycle policy of one sensitivity tier.
type TierPolicy struct {
	MaxLifetime    Duration `json:"max_lifetime" yaml:"max_lifetime"`
	RotationPeriod Duration `json:"rotation_period" yaml:"rotation_period"`
	Dormancy       Duration `json:"dormancy" yaml:"dormancy"`
	OrphanGrace    Duration `json:"orphan_grace" yaml:"orphan_grace"`
}

// Policy is the lifecycle policy for every tier.
type Policy map[Sensitivity]TierPolicy

const day = 24 * time.Hour

// DefaultPolicy returns DESIGN.md's defaults: maximum lifetime / rotation
// period per tier, dormant after 90 days, 14 days to reassign an orphan.
func DefaultPolicy() Policy {
	mk := func(life, rot int) TierPolicy {
		return TierPolicy{
			MaxLifetime:    Duration(time.Duration(life) * day),
			RotationPeriod: Duration(time.Duration(rot) * day),
			Dormancy:       Duration(90 * day),
			OrphanGrace:    Duration(14 * day),
		}
	}
	return Policy{
		SensitivityCritical: mk(7, 30),
		SensitivityHigh:     mk(30, 90),
		SensitivityMedium:   mk(90, 180),
		SensitivityLow:      mk(365, 365),
	}
}

// Validate checks that every tier has positive durations.
func (p Policy) Validate() error {
	for _, s := range Sensitivities {
		tp, ok := p[s]
		if !ok {
			return FieldError("policy."+string(s), "is missing")
		}
		for name, d := range map[string]Duration{"max_lifetime": tp.MaxLifetime, "rotation_period": tp.RotationPeriod, "dormancy": tp.Dormancy, "orphan_grace": tp.OrphanGrace} {
			if d <= 0 {
				return FieldError("policy."+string(s)+"."+name, "must be a positive duration")
			}
		}
	}
	for s := range p {
		if !ValidSensitivity(s) {
			return FieldError("policy."+string(s), "is not a sensitivity tier")
		}
	}
	return nil
}

// CheckExpiry rejects an expiry beyond the tier's maximum lifetime from now,
// unless a valid exception covers it.
func (p Policy) CheckExpiry(s Sensitivity, expires *time.Time, exc *Exception, now time.Time) error {
	if expires == nil {
		return nil
	}
	if !expires.After(now) {
		return FieldError("expires_at", "must be in the future")
	}
	limit := now.Add(time.Duration(p[s].MaxLifetime))
	if !expires.After(limit) {
		return nil
	}
	if exc == nil {
		return FieldError("expires_at", "%s is beyond the %s tier's maximum lifetime of %s (until %s); give an exception with a reason and an end date",
			expires.UTC().Format(time.RFC3339), s, p[s].MaxLifetime, limit.UTC().Format(time.RFC3339))
	}
	if !exc.Until.After(now) {
		return FieldError("exception.until", "must be in the future")
	}
	if expires.After(exc.Until) {
		return FieldError("exception.until", "ends before expires_at")
	}
	return nil
}
