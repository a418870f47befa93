package alerts

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/steward-nhi/steward"
)

// Subject is what the inventory says about the identity an event names.
type Subject struct {
	Identity *steward.Identity
	// OwnerDeparted is set when the identity's owner has left.
	OwnerDeparted bool
	// Credential is the credential the event names, when known.
	Credential *steward.Credential
}

// Limits are the detectors' thresholds.
type Limits struct {
	// AuthFailures within AuthFailureWindow make a burst (default 10 in 1m).
	AuthFailures      int
	AuthFailureWindow time.Duration
	// SpikeZ is the z-score over the EWMA of events per minute that makes
	// a spike (default 6), SpikeMin the fewest events in the minute
	// (default 30) and SpikeFactor the least multiple of the mean (4).
	SpikeZ      float64
	SpikeMin    float64
	SpikeFactor float64
	// SilenceAfter is the shortest gap that can be a silence (default 1h)
	// and SilenceExpected the events the identity would normally have
	// made in it (default 50).
	SilenceAfter    time.Duration
	SilenceExpected float64
}

func (l Limits) withDefaults() Limits {
	l.AuthFailures = positiveOr(l.AuthFailures, 10)
	l.AuthFailureWindow = positiveOr(l.AuthFailureWindow, time.Minute)
	l.SpikeZ = positiveOr(l.SpikeZ, 6)
	l.SpikeMin = positiveOr(l.SpikeMin, 30)
	l.SpikeFactor = positiveOr(l.SpikeFactor, 4)
	l.SilenceAfter = positiveOr(l.SilenceAfter, time.Hour)
	l.SilenceExpected = positiveOr(l.SilenceExpected, 50)
	return l
}

// Input is what a detector sees: one usage event, its subject, the
// identity's baseline before the event, and the event's derived values.
type Input struct {
	Event   *steward.UsageEvent
	Subject *Subject
	Base    *Baseline
	Learned bool
	Limits  Limits

	Network     string
	Agent       string
	Interactive bool
	Resource    string
	Workload    string
	// MinuteCount is the identity's events in the event's minute so far;
	// Failures the failed authentications in the window (same identity,
	// or same source for an unknown client).
	MinuteCount float64
	Failures    int
}

// Signal is a detector's finding about one event.
type Signal struct {
	Severity steward.Severity
	Title    string
	Evidence map[string]any
	// OWASP overrides the detector's OWASP id.
	OWASP string
	// Learn is what marking the alert a false positive teaches the
	// baseline: dimension ("network", "agent", "action", "resource",
	// "environment", "workload", "hour") → value.
	Learn map[string]string
}

// Detector is one small, independently tested anomaly rule.
type Detector struct {
	Name    string
	Summary string
	OWASP   string   // "NHI2:2025"
	CSF     []string // NIST CSF 2.0 subcategories
	// NeedsLearning keeps the detector quiet during the identity's
	// learning period (the detector checks in.Learned itself; this is
	// documentation and a test invariant).
	NeedsLearning bool
	Detect        func(in *Input) *Signal
}

// Detector names.
const (
	DetRevokedUse    = "revoked_use"
	DetHoneytoken    = "honeytoken"
	DetOwnerDeparted = "owner_departed"
	DetAuthFailures  = "auth_failures"
	DetNewNetwork    = "new_network"
	DetNewUserAgent  = "new_user_agent"
	DetNewAction     = "new_action"
	DetNewResource   = "new_resource"
	DetRateSpike     = "rate_spike"
	DetSilence       = "silence"
	DetOffHours      = "off_hours"
	DetSecondEnv     = "second_environment"
	DetSecondWork    = "second_workload"
)

// Detectors lists every event detector, in evaluation order. (Silence is
// found by a sweep over the baselines, not by an event: SilenceDetector.)
func Detectors() []Detector {
	return []Detector{
		{Name: DetRevokedUse, Summary: "a revoked, expired or suspended credential or identity was used", OWASP: "NHI2:2025",
			CSF: []string{"DE.CM-09", "PR.AA-01", "DE.AE-02"}, Detect: detectRevokedUse},
		{Name: DetHoneytoken, Summary: "a decoy identity (label honeytoken=true or decoy=true) was used", OWASP: "NHI2:2025",
			CSF: []string{"DE.CM-09", "DE.AE-02", "DE.AE-08"}, Detect: detectHoneytoken},
		{Name: DetOwnerDeparted, Summary: "an identity whose owner departed is still in use", OWASP: "NHI1:2025",
			CSF: []string{"GV.RR-04", "PR.AA-01", "DE.CM-03"}, Detect: detectOwnerDeparted},
		{Name: DetAuthFailures, Summary: "a burst of failed authentications (credential stuffing)", OWASP: "NHI4:2025",
			CSF: []string{"DE.CM-09", "DE.CM-03", "PR.AA-03"}, Detect: detectAuthFailures},
		{Name: DetNewNetwork, Summary: "use from a source network never seen for the identity", OWASP: "NHI2:2025",
			CSF: []string{"DE.CM-09", "DE.CM-01", "DE.AE-02"}, NeedsLearning: true, Detect: detectNewNetwork},
		{Name: DetNewUserAgent, Summary: "a new user-agent family; an interactive one on a non-human identity is human use", OWASP: "NHI10:2025",
			CSF: []string{"DE.CM-03", "PR.AA-02", "DE.AE-02"}, Detect: detectNewUserAgent},
		{Name: DetNewAction, Summary: "an action the identity never used before", OWASP: "NHI5:2025",
			CSF: []string{"DE.CM-03", "PR.AA-05", "DE.AE-02"}, NeedsLearning: true, Detect: detectNewAction},
		{Name: DetNewResource, Summary: "a resource the identity never used before", OWASP: "NHI5:2025",
			CSF: []string{"DE.CM-03", "PR.AA-05", "DE.AE-02"}, NeedsLearning: true, Detect: detectNewResource},
		{Name: DetRateSpike, Summary: "requests per minute far above the identity's usual rate (z-score over the EWMA)", OWASP: "NHI2:2025",
			CSF: []string{"DE.CM-03", "DE.AE-02"}, NeedsLearning: true, Detect: detectRateSpike},
		{Name: DetOffHours, Summary: "use at an hour or on a day the identity is never active", OWASP: "NHI2:2025",
			CSF: []string{"DE.CM-03", "DE.AE-02"}, NeedsLearning: true, Detect: detectOffHours},
		{Name: DetSecondEnv, Summary: "use from a second environment", OWASP: "NHI8:2025",
			CSF: []string{"PR.IR-01", "DE.CM-09"}, Detect: detectSecondEnv},
		{Name: DetSecondWork, Summary: "use by a second workload", OWASP: "NHI9:2025",
			CSF: []string{"PR.AA-02", "DE.CM-09"}, NeedsLearning: true, Detect: detectSecondWorkload},
	}
}

// SilenceDetector describes the silence sweep.
var SilenceDetector = Detector{Name: DetSilence, Summary: "a normally busy identity went silent", OWASP: "NHI1:2025",
	CSF: []string{"DE.CM-09", "ID.AM-08"}, NeedsLearning: true}

// failedAuth reports an authentication that failed for a reason other than
// the credential's state (which revoked_use reports).
func failedAuth(ev *steward.UsageEvent) bool {
	if ev.Kind != steward.UsageAuth {
		return false
	}
	switch ev.Outcome {
	case "unknown", "bad_signature", "cidr_denied", "error":
		return true
	}
	return false
}

// used reports whether the event shows the credential being used (rather
// than a failed guess).
func used(ev *steward.UsageEvent) bool { return !failedAuth(ev) }

func detectRevokedUse(in *Input) *Signal {
	ev, s := in.Event, in.Subject
	var what, key, state string
	switch {
	case ev.Outcome == "revoked" || ev.Outcome == "expired":
		what = "a " + ev.Outcome + " credential"
	case !used(ev) || s == nil:
		return nil
	case s.Credential != nil && (s.Credential.Status == steward.CredentialRevoked || s.Credential.Status == steward.CredentialExpired):
		what, key, state = "a "+string(s.Credential.Status)+" credential", "credential_status", string(s.Credential.Status)
	case s.Identity != nil && (s.Identity.Status == steward.StatusRevoked || s.Identity.Status == steward.StatusExpired || s.Identity.Status == steward.StatusSuspended):
		what, key, state = "a "+string(s.Identity.Status)+" identity", "identity_status", string(s.Identity.Status)
	default:
		return nil
	}
	evidence := map[string]any{"outcome": ev.Outcome, "source": ev.Source}
	if ev.Reason != "" {
		evidence["reason"] = ev.Reason
	}
	if ev.CredentialID != "" {
		evidence["credential_id"] = ev.CredentialID
	}
	if key != "" {
		evidence[key] = state
	}
	return &Signal{Severity: steward.SeverityCritical, Title: "Use of " + what, Evidence: evidence}
}

func labelTrue(v string) bool {
	switch v {
	case "1", "t", "T", "true", "TRUE", "True", "yes":
		return true
	}
	return false
}

// IsHoneytoken reports whether an identity is a decoy.
func IsHoneytoken(i *steward.Identity) bool {
	return i != nil && (labelTrue(i.Labels["honeytoken"]) || labelTrue(i.Labels["decoy"]))
}

func detectHoneytoken(in *Input) *Signal {
	if in.Subject == nil || !IsHoneytoken(in.Subject.Identity) {
		return nil
	}
	ev := in.Event
	return &Signal{Severity: steward.SeverityCritical, Title: "Honeytoken used: " + in.Subject.Identity.Name,
		Evidence: map[string]any{"outcome": ev.Outcome, "source": ev.Source, "user_agent": ev.UserAgent, "action": ev.Action, "resource": ev.Resource}}
}

func detectOwnerDeparted(in *Input) *Signal {
	if in.Subject == nil || !in.Subject.OwnerDeparted || !used(in.Event) || in.Event.Outcome == "revoked" || in.Event.Outcome == "expired" {
		return nil
	}
	return &Signal{Severity: steward.SeverityHigh, Title: "Identity of a departed owner in use",
		Evidence: map[string]any{"owner_id": in.Subject.Identity.OwnerID, "source": in.Event.Source, "action": in.Event.Action}}
}

func detectAuthFailures(in *Input) *Signal {
	if !failedAuth(in.Event) || in.Failures < in.Limits.AuthFailures {
		return nil
	}
	return &Signal{Severity: steward.SeverityHigh, Title: "Burst of failed authentications",
		Evidence: map[string]any{"failures": in.Failures, "window": in.Limits.AuthFailureWindow.String(), "source": in.Event.Source,
			"outcome": in.Event.Outcome, "subject": in.Event.Subject}}
}

// newValue is the common shape of the "never seen before" detectors.
func newValue(in *Input, set *Set, v, dim, title string) *Signal {
	if !in.Learned || v == "" || set.Full || set.Has(v) || !used(in.Event) {
		return nil
	}
	return &Signal{Severity: steward.SeverityMedium, Title: fmt.Sprintf(title, v),
		Evidence: map[string]any{"new_" + dim: v, "known_" + dim + "s": set.Known(8)}, Learn: map[string]string{dim: v}}
}

func detectNewNetwork(in *Input) *Signal {
	s := newValue(in, &in.Base.Networks, in.Network, "network", "Use from a new network %s")
	if s != nil {
		s.Evidence["source"] = in.Event.Source
	}
	return s
}

// humanKinds are identity kinds a person legitimately drives.
var humanKinds = []steward.Kind{steward.KindPAT, steward.KindSSHKey}

func detectNewUserAgent(in *Input) *Signal {
	if in.Agent == "" || in.Base.Agents.Has(in.Agent) || !used(in.Event) {
		return nil
	}
	nhi := in.Subject != nil && in.Subject.Identity != nil && !slices.Contains(humanKinds, in.Subject.Identity.Kind)
	ev := map[string]any{"new_agent": in.Agent, "user_agent": in.Event.UserAgent, "known_agents": in.Base.Agents.Known(8)}
	learn := map[string]string{"agent": in.Agent}
	switch {
	case in.Interactive && nhi && (in.Agent == "browser" || in.Learned):
		// A browser never drives a non-human identity; other interactive
		// tools do only when the baseline knows them.
		ev["interactive"] = true
		return &Signal{Severity: steward.SeverityHigh, Title: "Human use of a non-human identity (" + in.Agent + ")", Evidence: ev, Learn: learn}
	case in.Learned && !in.Base.Agents.Full:
		return &Signal{Severity: steward.SeverityMedium, Title: "New user-agent family " + in.Agent, Evidence: ev, Learn: learn, OWASP: "NHI2:2025"}
	}
	return nil
}

func detectNewAction(in *Input) *Signal {
	return newValue(in, &in.Base.Actions, in.Event.Action, "action", "First use of action %s")
}

func detectNewResource(in *Input) *Signal {
	return newValue(in, &in.Base.Resources, in.Resource, "resource", "First use of resource %s")
}

func detectRateSpike(in *Input) *Signal {
	b, l := in.Base, in.Limits
	if !in.Learned || b.Samples < 60 || b.SpikedAt == b.Minute || in.MinuteCount < l.SpikeMin {
		return nil
	}
	sd := math.Sqrt(b.Var)
	z := (in.MinuteCount - b.Mean) / max(sd, 0.5)
	if z < l.SpikeZ || in.MinuteCount < l.SpikeFactor*b.Mean {
		return nil
	}
	return &Signal{Severity: steward.SeverityMedium, Title: fmt.Sprintf("Request rate spike: %.0f/min against a usual %.1f/min", in.MinuteCount, b.Mean),
		Evidence: map[string]any{"per_minute": in.MinuteCount, "mean_per_minute": round2(b.Mean), "stddev": round2(sd), "z": round2(z)}}
}

func detectOffHours(in *Input) *Signal {
	b := in.Base
	if !in.Learned || !used(in.Event) {
		return nil
	}
	t := in.Event.Time.UTC()
	h, d := t.Hour(), int(t.Weekday())
	if b.activeHours() < 20 && !b.usualHour(h) {
		return &Signal{Severity: steward.SeverityMedium, Title: fmt.Sprintf("Use at an unusual hour (%02d:00 UTC)", h),
			Evidence: map[string]any{"hour_utc": h, "usual_hours_utc": usualHours(b)}, Learn: map[string]string{"hour": strconv.Itoa(h)}}
	}
	activeDays := 0
	for _, c := range b.Days {
		if c > 0 {
			activeDays++
		}
	}
	if b.Last.Sub(b.First) >= 14*24*time.Hour && activeDays <= 5 && b.Days[d] == 0 {
		return &Signal{Severity: steward.SeverityMedium, Title: "Use on an unusual day (" + t.Weekday().String() + ")",
			Evidence: map[string]any{"weekday": t.Weekday().String()}, Learn: map[string]string{"day": strconv.Itoa(d)}}
	}
	return nil
}

func usualHours(b *Baseline) []int {
	var out []int
	for h, c := range b.Hours {
		if c > 0 {
			out = append(out, h)
		}
	}
	return out
}

func detectSecondEnv(in *Input) *Signal {
	env := in.Event.Environment
	if env == "" || in.Subject == nil || in.Subject.Identity == nil || !used(in.Event) {
		return nil
	}
	home := in.Subject.Identity.Environment
	switch {
	case home != "" && env != home:
	case home == "" && in.Learned && len(in.Base.Envs.M) > 0 && !in.Base.Envs.Has(env) && !in.Base.Envs.Full:
	default:
		return nil
	}
	return &Signal{Severity: steward.SeverityHigh, Title: "Use from a second environment " + env,
		Evidence: map[string]any{"environment": env, "identity_environment": home, "known_environments": in.Base.Envs.Known(8)},
		Learn:    map[string]string{"environment": env}}
}

func detectSecondWorkload(in *Input) *Signal {
	if !in.Learned || in.Workload == "" || len(in.Base.Workloads.M) == 0 || in.Base.Workloads.Full || in.Base.Workloads.Has(in.Workload) || !used(in.Event) {
		return nil
	}
	return &Signal{Severity: steward.SeverityMedium, Title: "Use by a second workload " + in.Workload,
		Evidence: map[string]any{"workload": in.Workload, "known_workloads": in.Base.Workloads.Known(8)}, Learn: map[string]string{"workload": in.Workload}}
}

// detectSilence reports a learned, normally busy identity that has made no
// event since b.Last although its history expects many by now.
func detectSilence(b *Baseline, now time.Time, learned bool, l Limits) *Signal {
	gap := now.Sub(b.Last)
	if !learned || gap < l.SilenceAfter || b.SilentSince == b.Last.Unix() {
		return nil
	}
	expected := 0.0
	for t := b.Last.Truncate(time.Hour).Add(time.Hour); !t.After(now) && t.Sub(b.Last) <= 24*time.Hour; t = t.Add(time.Hour) {
		if b.Days[t.UTC().Weekday()] == 0 {
			continue // a day of the week the identity never works
		}
		expected += b.expectedPerHour(t.UTC().Hour())
	}
	if expected < l.SilenceExpected {
		return nil
	}
	return &Signal{Severity: steward.SeverityLow, Title: fmt.Sprintf("Sudden silence: no use for %s", gap.Truncate(time.Minute)),
		Evidence: map[string]any{"last_seen": b.Last, "expected_events": round2(expected)}}
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// positiveOr returns v, or def when v is not positive (a setting left
// unset or set to nonsense takes its default).
func positiveOr[T int | int64 | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
