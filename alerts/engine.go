// Package alerts finds anomalous use of non-human identities: it learns
// each identity's behaviour from its usage events (source networks, user
// agents, actions, resources, hours, request rate, environments,
// workloads) and raises alerts when an identity is used in a way its
// baseline has never seen, or in a way that is always wrong (a revoked
// credential, a honeytoken, an identity of a departed owner).
//
// The Engine wraps the server's usage recorder: Record hands each event to
// the detectors through a bounded queue (never blocking; drops are
// counted) and forwards it. One goroutine (Run) owns the baselines and the
// grouping index, so detectors need no locks; alerts are grouped per
// identity and detector within a window, stored, routed to people through
// a steward.Notifier and, when a rule says so, answered by suspending the
// identity or revoking the credential.
package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// Inventory is what the engine reads about identities.
type Inventory interface {
	GetIdentity(ctx context.Context, id string) (*steward.Identity, error)
	GetOwner(ctx context.Context, id string) (*steward.Owner, error)
	GetCredential(ctx context.Context, id string) (*steward.Credential, error)
}

// Responder takes the automatic responses, recorded with reason incident.
type Responder interface {
	SuspendIdentity(ctx context.Context, identityID, note string) error
	RevokeCredential(ctx context.Context, credentialID, note string) error
}

// Tester sends a test notification to sinks at once.
type Tester interface {
	SendTest(ctx context.Context, n steward.Notification, sinks []string) ([]steward.NotificationResult, error)
}

// DeadLetterLister lists undelivered notifications.
type DeadLetterLister interface {
	ListDeadLetters(ctx context.Context, limit int) ([]*steward.DeadLetter, error)
}

// Config configures New.
type Config struct {
	Store     steward.AlertStore
	Inventory Inventory
	// Next receives every event after the detectors' queue (the usage
	// store's recorder).
	Next     steward.UsagePipeline
	Notifier steward.Notifier
	Tester   Tester
	// Rules with a Response trigger it for each new matching alert.
	Rules     []steward.AlertRule
	Responder Responder

	// LearningPeriod is how long an identity is watched before the
	// learning detectors speak (default 7 days), and MinEvents the fewest
	// events it must have made (default 100).
	LearningPeriod time.Duration
	MinEvents      int64
	// Window groups occurrences of one detector on one identity into one
	// alert (default 1h, by event time).
	Window time.Duration
	Limits Limits
	// Disabled names detectors to skip.
	Disabled []string

	// QueueSize bounds the events waiting for the detectors (default 65536).
	QueueSize int
	// ExamineInterval is how often the detectors take the queued events
	// (default 5ms; sooner when 256 are waiting). Waking per event would
	// cost a goroutine switch per decision on the PDP's request path.
	ExamineInterval time.Duration
	// FlushInterval is how often new alerts are written (default 200ms);
	// BaselineInterval how often changed baselines are written and the
	// silence sweep runs (default 30s).
	FlushInterval    time.Duration
	BaselineInterval time.Duration
	// SweepInterval is how often the silence sweep runs (default 1m).
	SweepInterval time.Duration
	// SubjectTTL bounds how long an identity's inventory facts are cached
	// (default 5s).
	SubjectTTL time.Duration
	// Now is the clock of the silence sweep (default time.Now); a replay
	// sets it to the stream's time.
	Now      func() time.Time
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

type subjectEntry struct {
	s  Subject
	at time.Time
}

type credEntry struct {
	c  *steward.Credential
	at time.Time
}

type failWindow struct {
	times []time.Time
}

type feedback struct {
	a *steward.Alert
}

type response struct {
	alertID string
	text    string
}

type agentInfo struct {
	family      string
	interactive bool
}

// Engine runs the detectors. It implements steward.UsagePipeline.
type Engine struct {
	cfg       Config
	detectors []Detector
	q         chan steward.UsageEvent
	kick      chan struct{} // a batch is waiting: examine before the tick
	feedback  chan feedback
	responses chan response
	syncs     chan chan struct{}
	raised    chan raisedAlert

	// Owned by the Run goroutine.
	baselines  map[string]*Baseline
	dirtyBase  map[string]bool
	subjects   map[string]*subjectEntry
	creds      map[string]*credEntry
	live       map[string]*steward.Alert // by key
	byID       map[string]*steward.Alert
	dirtyAlert map[string]*steward.Alert
	failures   map[string]*failWindow
	agents     map[string]agentInfo
	networks   map[string]string
	resources  map[string]string
	streamTime time.Time
	in         Input              // reused for every event
	cur        steward.UsageEvent // the event being examined
	clock      time.Time          // wall time, refreshed per batch of events

	received  atomic.Int64
	dropped   atomic.Int64
	processed atomic.Int64

	mAlerts      *prometheus.CounterVec
	mOccurrences *prometheus.CounterVec
	mResponses   *prometheus.CounterVec
}

var _ steward.UsagePipeline = (*Engine)(nil)

// New returns an engine; call Load, then Run.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Inventory == nil {
		return nil, fmt.Errorf("alerts: a store and an inventory are required")
	}
	if cfg.Next == nil {
		cfg.Next = steward.DiscardUsage{}
	}
	if cfg.Notifier == nil {
		cfg.Notifier = steward.DiscardNotifier{}
	}
	if cfg.LearningPeriod <= 0 {
		cfg.LearningPeriod = 7 * 24 * time.Hour
	}
	if cfg.MinEvents <= 0 {
		cfg.MinEvents = 100
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Hour
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 65536
	}
	if cfg.ExamineInterval <= 0 {
		cfg.ExamineInterval = 5 * time.Millisecond
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 200 * time.Millisecond
	}
	if cfg.BaselineInterval <= 0 {
		cfg.BaselineInterval = 30 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.SubjectTTL <= 0 {
		cfg.SubjectTTL = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Limits = cfg.Limits.withDefaults()
	for i, r := range cfg.Rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("alerts rules[%d]: %w", i, err)
		}
	}
	e := &Engine{cfg: cfg, q: make(chan steward.UsageEvent, cfg.QueueSize), kick: make(chan struct{}, 1), feedback: make(chan feedback, 1024),
		responses: make(chan response, 1024), syncs: make(chan chan struct{}), raised: make(chan raisedAlert),
		baselines: map[string]*Baseline{}, dirtyBase: map[string]bool{}, subjects: map[string]*subjectEntry{}, creds: map[string]*credEntry{},
		live: map[string]*steward.Alert{}, byID: map[string]*steward.Alert{}, dirtyAlert: map[string]*steward.Alert{},
		failures: map[string]*failWindow{}, agents: map[string]agentInfo{}, networks: map[string]string{}, resources: map[string]string{}}
	known := map[string]bool{DetSilence: true}
	for _, d := range Detectors() {
		known[d.Name] = true
		if !slices.Contains(cfg.Disabled, d.Name) {
			e.detectors = append(e.detectors, d)
		}
	}
	for _, n := range cfg.Disabled {
		if !known[n] {
			return nil, steward.FieldError("alerts.disabled", "%q is not a detector", n)
		}
	}
	e.mAlerts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_alerts_total", Help: "Alerts raised, by detector and severity."}, []string{"detector", "severity"})
	e.mOccurrences = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_alert_occurrences_total", Help: "Detector hits, grouped or not, by detector."}, []string{"detector"})
	e.mResponses = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steward_alert_responses_total", Help: "Automatic responses, by kind and result."}, []string{"response", "result"})
	if cfg.Registry != nil {
		events := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_alerts_usage_events_total", Help: "Usage events the detectors examined."},
			func() float64 { return float64(e.processed.Load()) })
		drops := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_alerts_usage_events_dropped_total", Help: "Usage events the detectors missed because their queue was full."},
			func() float64 { return float64(e.dropped.Load()) })
		for _, c := range []prometheus.Collector{e.mAlerts, e.mOccurrences, e.mResponses, events, drops} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("alerts metrics: %w", err)
			}
		}
	}
	return e, nil
}

// Record queues ev for the detectors without blocking (a full queue drops
// it for the detectors and counts the drop) and forwards it to Next.
func (e *Engine) Record(ctx context.Context, ev steward.UsageEvent) {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC().Truncate(time.Microsecond)
	}
	e.received.Add(1)
	select {
	case e.q <- ev:
		if len(e.q) == kickAt {
			select {
			case e.kick <- struct{}{}:
			default:
			}
		}
	default:
		e.dropped.Add(1)
	}
	e.cfg.Next.Record(ctx, ev)
}

// kickAt is the queue length at which Record wakes the detectors before
// their next tick.
const kickAt = 256

// Stats are the engine's counters.
type Stats struct {
	Received  int64 `json:"received"`
	Processed int64 `json:"processed"`
	Dropped   int64 `json:"dropped"`
	Queued    int   `json:"queued"`
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	return Stats{Received: e.received.Load(), Processed: e.processed.Load(), Dropped: e.dropped.Load(), Queued: len(e.q)}
}

// Load reads the persisted baselines and the live alerts (the grouping
// index), so a restart neither relearns nor re-alerts.
func (e *Engine) Load(ctx context.Context) error {
	n := 0
	err := e.cfg.Store.LoadBaselines(ctx, func(b steward.Baseline) error {
		var bl Baseline
		if err := json.Unmarshal(b.Data, &bl); err != nil {
			e.cfg.Logger.Warn("alerts: unreadable baseline; relearning", "identity_id", b.IdentityID, "err", err)
			return nil
		}
		e.baselines[b.IdentityID] = &bl
		n++
		return nil
	})
	if err != nil {
		return err
	}
	live, err := e.cfg.Store.LiveAlerts(ctx, time.Now().Add(-e.cfg.Window))
	if err != nil {
		return err
	}
	for _, a := range live {
		e.live[a.Key], e.byID[a.ID] = a, a
	}
	e.cfg.Logger.Info("alerts: loaded", "baselines", n, "live_alerts", len(live))
	return nil
}

// Run examines queued events until ctx ends, then drains the queue and
// writes what is pending.
func (e *Engine) Run(ctx context.Context) {
	examine := time.NewTicker(e.cfg.ExamineInterval)
	defer examine.Stop()
	flush := time.NewTicker(e.cfg.FlushInterval)
	defer flush.Stop()
	base := time.NewTicker(e.cfg.BaselineInterval)
	defer base.Stop()
	sweep := time.NewTicker(e.cfg.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			wctx := context.WithoutCancel(ctx)
			e.drain(wctx)
			e.flushAlerts(wctx)
			e.flushBaselines(wctx)
			return
		case <-examine.C:
			e.drain(ctx)
		case <-e.kick:
			e.drain(ctx)
		case <-flush.C:
			e.flushAlerts(ctx)
		case <-base.C:
			e.flushBaselines(ctx)
			e.prune()
		case <-sweep.C:
			// While events wait in the queue the baselines lag the clock:
			// judge silence at the time of the last event examined.
			now := e.cfg.Now()
			if len(e.q) > 0 && e.streamTime.Before(now) {
				now = e.streamTime
			}
			e.SweepSilence(ctx, now)
		case f := <-e.feedback:
			e.applyFeedback(f.a)
		case r := <-e.responses:
			e.applyResponse(ctx, r)
		case r := <-e.raised:
			e.applyRaised(ctx, r)
		case done := <-e.syncs:
			for len(e.feedback) > 0 {
				e.applyFeedback((<-e.feedback).a)
			}
			e.drain(ctx)
			e.flushAlerts(ctx)
			close(done)
		}
	}
}

// drain examines the events queued when it starts (not those that keep
// arriving, so the other cases of Run get their turn).
func (e *Engine) drain(ctx context.Context) {
	e.clock = time.Now()
	for n := len(e.q); n > 0; n-- {
		select {
		case e.cur = <-e.q:
			e.process(ctx, &e.cur)
		default:
			return
		}
	}
}

// Sync waits until every event queued before the call has been examined
// and the resulting alerts written (tests, benchmarks).
func (e *Engine) Sync(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case e.syncs <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) baseline(id string) *Baseline {
	b := e.baselines[id]
	if b == nil {
		b = &Baseline{}
		e.baselines[id] = b
	}
	return b
}

func (e *Engine) subject(ctx context.Context, id, credID string) *Subject {
	now := e.clock
	if now.IsZero() {
		now = time.Now()
	}
	ent := e.subjects[id]
	if ent == nil || now.Sub(ent.at) > e.cfg.SubjectTTL {
		var s Subject
		if i, err := e.cfg.Inventory.GetIdentity(ctx, id); err == nil {
			s.Identity = i
			if i.OwnerID != "" {
				if o, err := e.cfg.Inventory.GetOwner(ctx, i.OwnerID); err == nil && o.Status == steward.OwnerDeparted {
					s.OwnerDeparted = true
				}
			}
		} else if steward.ErrorCode(err) != steward.ENOTFOUND {
			e.cfg.Logger.Warn("alerts: read identity", "identity_id", id, "err", err)
		}
		ent = &subjectEntry{s: s, at: now}
		e.subjects[id] = ent
	}
	if credID == "" {
		return &ent.s
	}
	s := ent.s
	ce := e.creds[credID]
	if ce == nil || now.Sub(ce.at) > e.cfg.SubjectTTL {
		c, err := e.cfg.Inventory.GetCredential(ctx, credID)
		if err != nil {
			c = nil
		}
		ce = &credEntry{c: c, at: now}
		e.creds[credID] = ce
	}
	s.Credential = ce.c
	return &s
}

// cached returns f(k) through a bounded cache.
func cached(m map[string]string, k string, f func(string) string) string {
	if v, ok := m[k]; ok {
		return v
	}
	v := f(k)
	if len(m) >= 10000 {
		clear(m)
	}
	m[k] = v
	return v
}

func (e *Engine) agent(ua string) (string, bool) {
	if a, ok := e.agents[ua]; ok {
		return a.family, a.interactive
	}
	f, i := UAFamily(ua)
	if len(e.agents) > 10000 {
		clear(e.agents)
	}
	e.agents[ua] = agentInfo{f, i}
	return f, i
}

// countFailure records a failed authentication and returns how many fell
// in the window ending at t.
func (e *Engine) countFailure(key string, t time.Time) int {
	w := e.failures[key]
	if w == nil {
		w = &failWindow{}
		e.failures[key] = w
	}
	cut := t.Add(-e.cfg.Limits.AuthFailureWindow)
	k := 0
	for k < len(w.times) && !w.times[k].After(cut) {
		k++
	}
	w.times = append(w.times[k:], t)
	if len(w.times) > 4*e.cfg.Limits.AuthFailures {
		w.times = w.times[len(w.times)-4*e.cfg.Limits.AuthFailures:]
	}
	return len(w.times)
}

var emptyBaseline Baseline

func (e *Engine) process(ctx context.Context, ev *steward.UsageEvent) {
	e.processed.Add(1)
	if ev.Time.After(e.streamTime) {
		e.streamTime = ev.Time
	}
	in := &e.in
	*in = Input{Event: ev, Limits: e.cfg.Limits, Base: &emptyBaseline}
	var b *Baseline
	if ev.IdentityID != "" {
		in.Subject = e.subject(ctx, ev.IdentityID, ev.CredentialID)
		b = e.baseline(ev.IdentityID)
		in.Base = b
		in.Learned = b.Learned(e.cfg.LearningPeriod, e.cfg.MinEvents, ev.Time)
	}
	in.Network = cached(e.networks, ev.Source, Network)
	in.Agent, in.Interactive = e.agent(ev.UserAgent)
	in.Resource = cached(e.resources, ev.Resource, normalizeResource)
	in.Workload = workloadOf(ev.Attributes)
	stateUse := ev.Outcome == "revoked" || ev.Outcome == "expired"
	if failedAuth(ev) {
		key := ev.IdentityID
		if key == "" {
			key = "src:" + ev.Source
		}
		in.Failures = e.countFailure(key, ev.Time)
	} else if b != nil && !stateUse {
		in.MinuteCount = b.observeRate(ev.Time)
	}
	var skip map[string]bool
	for i := range e.detectors {
		d := &e.detectors[i]
		if b == nil && d.Name != DetAuthFailures {
			continue
		}
		s := d.Detect(in)
		if s == nil {
			continue
		}
		if d.Name == DetRateSpike {
			b.SpikedAt = b.Minute
		}
		for dim := range s.Learn {
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[dim] = true
		}
		if b != nil && e.pending(b, s) {
			continue
		}
		if a := e.raise(ctx, d, s, in); a != nil && b != nil && len(s.Learn) > 0 && len(b.Pending) < maxPending {
			if b.Pending == nil {
				b.Pending = map[string]string{}
			}
			for dim, v := range s.Learn {
				b.Pending[pendingKey(dim, v)] = a.ID
			}
			e.dirtyBase[ev.IdentityID] = true
		}
	}
	if b == nil || !used(ev) || stateUse {
		return
	}
	e.learn(b, in, skip)
	e.dirtyBase[ev.IdentityID] = true
}

// learn adds the event to the baseline, except the values an alert just
// called new: those are learned only when a person marks the alert a
// false positive.
func (e *Engine) learn(b *Baseline, in *Input, skip map[string]bool) {
	ev := in.Event
	if b.Events == 0 || ev.Time.Before(b.First) {
		b.First = ev.Time
	}
	if ev.Time.After(b.Last) {
		b.Last = ev.Time
	}
	b.Events++
	if skip == nil {
		b.Networks.Add(in.Network)
		b.Agents.Add(in.Agent)
		b.Actions.Add(ev.Action)
		b.Resources.Add(in.Resource)
		b.Envs.Add(ev.Environment)
		b.Workloads.Add(in.Workload)
	} else {
		for _, d := range []struct {
			dim string
			s   *Set
			v   string
		}{{"network", &b.Networks, in.Network}, {"agent", &b.Agents, in.Agent}, {"action", &b.Actions, ev.Action},
			{"resource", &b.Resources, in.Resource}, {"environment", &b.Envs, ev.Environment}, {"workload", &b.Workloads, in.Workload}} {
			if !skip[d.dim] {
				d.s.Add(d.v)
			}
		}
	}
	t := ev.Time.UTC()
	if !skip["hour"] && !skip["day"] {
		b.Hours[t.Hour()]++
		b.Days[t.Weekday()]++
	}
}

func bump(s steward.Severity) steward.Severity {
	switch s {
	case steward.SeverityMedium:
		return steward.SeverityHigh
	case steward.SeverityLow:
		return steward.SeverityMedium
	}
	return s
}

// raise groups s into the live alert of its detector and subject, or
// opens, notifies and answers a new alert, which it returns.
func (e *Engine) raise(ctx context.Context, d *Detector, s *Signal, in *Input) *steward.Alert {
	ev := in.Event
	e.mOccurrences.WithLabelValues(d.Name).Inc()
	subjectKey := ev.IdentityID
	if subjectKey == "" {
		subjectKey = "src:" + ev.Source
	}
	key := d.Name + ":" + subjectKey
	sev := s.Severity
	var ident *steward.Identity
	if in.Subject != nil {
		ident = in.Subject.Identity
	}
	if ident != nil && ident.Sensitivity == steward.SensitivityCritical {
		sev = bump(sev)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if a := e.live[key]; a != nil && a.Status.Live() && ev.Time.Sub(a.LastSeen) < e.cfg.Window && a.FirstSeen.Sub(ev.Time) < e.cfg.Window {
		a.Count++
		if ev.Time.After(a.LastSeen) {
			a.LastSeen = ev.Time
		}
		if steward.SeverityRank(sev) > steward.SeverityRank(a.Severity) {
			a.Severity = sev
		}
		a.UpdatedAt = now
		e.dirtyAlert[a.ID] = a
		return nil
	}
	evidence := maps.Clone(s.Evidence)
	if evidence == nil {
		evidence = map[string]any{}
	}
	if len(s.Learn) > 0 {
		evidence["learn"] = s.Learn
	}
	evidence["event_time"] = ev.Time
	if ev.Kind != "" {
		evidence["event_kind"] = ev.Kind
	}
	owasp := d.OWASP
	if s.OWASP != "" {
		owasp = s.OWASP
	}
	at := ev.Time.UTC().Truncate(time.Microsecond)
	a := &steward.Alert{ID: ids.New("alr_", now), Key: key, Detector: d.Name, Title: s.Title, Severity: sev, Status: steward.AlertOpen,
		IdentityID: ev.IdentityID, CredentialID: ev.CredentialID, Environment: ev.Environment, Evidence: evidence, OWASP: owasp,
		CSF: slices.Clone(d.CSF), FirstSeen: at, LastSeen: at, Count: 1, UpdatedAt: now}
	if ident != nil {
		a.OwnerID, a.Team, a.Sensitivity = ident.OwnerID, ident.Team, ident.Sensitivity
		if ident.Environment != "" {
			a.Environment = ident.Environment
		}
	}
	e.live[key], e.byID[a.ID], e.dirtyAlert[a.ID] = a, a, a
	e.mAlerts.WithLabelValues(d.Name, string(sev)).Inc()
	n := Notification(a, ident)
	if err := e.cfg.Notifier.Notify(ctx, n); err != nil {
		e.cfg.Logger.Warn("alerts: notify", "alert_id", a.ID, "err", err)
	}
	e.respond(ctx, a, n)
	return a
}

// pending reports whether every value s calls new already has an unjudged
// alert; the occurrence is then counted in that alert when it is in
// memory.
func (e *Engine) pending(b *Baseline, s *Signal) bool {
	if len(s.Learn) == 0 || len(b.Pending) == 0 {
		return false
	}
	id := ""
	for dim, v := range s.Learn {
		a, ok := b.Pending[pendingKey(dim, v)]
		if !ok {
			return false
		}
		id = a
	}
	if a := e.byID[id]; a != nil && a.Status.Live() {
		a.Count++
		if t := e.in.Event.Time; t.After(a.LastSeen) {
			a.LastSeen = t
		}
		a.UpdatedAt = e.clock
		e.dirtyAlert[a.ID] = a
	}
	return true
}

// Notification renders an alert for people.
func Notification(a *steward.Alert, ident *steward.Identity) steward.Notification {
	name := a.IdentityID
	if ident != nil {
		name = ident.Name + " (" + ident.ID + ")"
	}
	body := a.Title + " on " + name
	if name == "" {
		body = a.Title
	}
	if b, err := json.Marshal(a.Evidence); err == nil {
		body += "\nevidence: " + string(b)
	}
	return steward.Notification{Kind: "alert", Severity: string(a.Severity), Title: a.Title, Body: body, IdentityID: a.IdentityID,
		OwnerID: a.OwnerID, Team: a.Team, Environment: a.Environment, Sensitivity: a.Sensitivity, Time: a.FirstSeen,
		Fields: map[string]string{"alert_id": a.ID, "key": a.Key, "detector": a.Detector, "owasp": a.OWASP, "csf": joinComma(a.CSF),
			"credential_id": a.CredentialID, "count": strconv.FormatInt(a.Count, 10)}}
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// respond takes the automatic responses of the rules that match n, off
// the detectors' goroutine.
func (e *Engine) respond(ctx context.Context, a *steward.Alert, n steward.Notification) {
	if e.cfg.Responder == nil {
		return
	}
	var todo []string
	for _, r := range e.cfg.Rules {
		if r.Response != "" && r.Matches(n) && !slices.Contains(todo, r.Response) {
			todo = append(todo, r.Response)
		}
	}
	if len(todo) == 0 || a.IdentityID == "" {
		return
	}
	id, ident, cred := a.ID, a.IdentityID, a.CredentialID
	note := fmt.Sprintf("alert %s: %s", a.ID, a.Title)
	go func() {
		rctx := context.WithoutCancel(ctx)
		var done []string
		for _, r := range todo {
			var err error
			var what string
			switch r {
			case steward.ResponseSuspend:
				what = "suspended identity " + ident
				err = e.cfg.Responder.SuspendIdentity(rctx, ident, note)
			case steward.ResponseRevokeCredential:
				if cred == "" {
					continue
				}
				what = "revoked credential " + cred
				err = e.cfg.Responder.RevokeCredential(rctx, cred, note)
			}
			result := "ok"
			if err != nil {
				result = "error"
				what = r + " failed: " + steward.ErrorMessage(err)
				e.cfg.Logger.Warn("alerts: automatic response", "alert_id", id, "response", r, "err", err)
			} else {
				e.cfg.Logger.Info("alerts: automatic response", "alert_id", id, "response", r, "identity_id", ident)
			}
			e.mResponses.WithLabelValues(r, result).Inc()
			done = append(done, what)
		}
		if len(done) > 0 {
			e.responses <- response{alertID: id, text: joinSemi(done)}
		}
	}()
}

func joinSemi(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

func (e *Engine) applyResponse(ctx context.Context, r response) {
	if a := e.byID[r.alertID]; a != nil {
		a.Response = r.text
		e.dirtyAlert[a.ID] = a
		return
	}
	if _, err := e.cfg.Store.UpdateAlert(ctx, r.alertID, func(_ steward.Tx, a *steward.Alert) error { a.Response = r.text; return nil }); err != nil {
		e.cfg.Logger.Warn("alerts: record response", "alert_id", r.alertID, "err", err)
	}
}

func (e *Engine) flushAlerts(ctx context.Context) {
	if len(e.dirtyAlert) == 0 {
		return
	}
	batch := make([]*steward.Alert, 0, len(e.dirtyAlert))
	for _, a := range e.dirtyAlert {
		c := *a
		batch = append(batch, &c)
	}
	if err := e.cfg.Store.SaveAlerts(ctx, batch); err != nil {
		e.cfg.Logger.Error("alerts: save", "alerts", len(batch), "err", err)
		return
	}
	clear(e.dirtyAlert)
}

func (e *Engine) flushBaselines(ctx context.Context) {
	if len(e.dirtyBase) == 0 {
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]steward.Baseline, 0, len(e.dirtyBase))
	for id := range e.dirtyBase {
		data, err := json.Marshal(e.baselines[id])
		if err != nil {
			continue
		}
		batch = append(batch, steward.Baseline{IdentityID: id, Data: data, UpdatedAt: now})
	}
	if err := e.cfg.Store.SaveBaselines(ctx, batch); err != nil {
		e.cfg.Logger.Error("alerts: save baselines", "baselines", len(batch), "err", err)
		return
	}
	clear(e.dirtyBase)
}

// SweepSilence raises a silence alert for each learned, normally busy
// identity that has been quiet since long before now.
func (e *Engine) SweepSilence(ctx context.Context, now time.Time) {
	if slices.Contains(e.cfg.Disabled, DetSilence) {
		return
	}
	for id, b := range e.baselines {
		s := detectSilence(b, now, b.Learned(e.cfg.LearningPeriod, e.cfg.MinEvents, now), e.cfg.Limits)
		if s == nil {
			continue
		}
		b.SilentSince = b.Last.Unix()
		e.dirtyBase[id] = true
		ev := &steward.UsageEvent{Time: now, IdentityID: id}
		in := Input{Event: ev, Base: b, Subject: e.subject(ctx, id, ""), Learned: true, Limits: e.cfg.Limits}
		e.raise(ctx, &SilenceDetector, s, &in)
	}
}

// prune forgets grouping entries and failure windows that are over.
func (e *Engine) prune() {
	now := e.streamTime
	if wall := e.cfg.Now(); wall.After(now) {
		now = wall
	}
	for k, a := range e.live {
		if now.Sub(a.LastSeen) > e.cfg.Window || !a.Status.Live() {
			delete(e.live, k)
			if e.dirtyAlert[a.ID] == nil {
				delete(e.byID, a.ID)
			}
		}
	}
	for k, w := range e.failures {
		if len(w.times) == 0 || now.Sub(w.times[len(w.times)-1]) > e.cfg.Limits.AuthFailureWindow {
			delete(e.failures, k)
		}
	}
}

// applyFeedback takes a person's verdict on an alert: a final status ends
// the grouping; a false positive teaches the baseline what the alert
// called new.
func (e *Engine) applyFeedback(a *steward.Alert) {
	if cur := e.live[a.Key]; cur != nil && cur.ID == a.ID && !a.Status.Live() {
		delete(e.live, a.Key)
	}
	if m := e.byID[a.ID]; m != nil {
		m.Status = a.Status
	}
	if a.Status.Live() || a.IdentityID == "" {
		return
	}
	b := e.baseline(a.IdentityID)
	for k, id := range b.Pending {
		if id == a.ID {
			delete(b.Pending, k)
			e.dirtyBase[a.IdentityID] = true
		}
	}
	if a.Status != steward.AlertFalsePositive {
		return
	}
	learn, _ := a.Evidence["learn"].(map[string]any)
	if learn == nil {
		if m, ok := a.Evidence["learn"].(map[string]string); ok {
			learn = map[string]any{}
			for k, v := range m {
				learn[k] = v
			}
		}
	}
	for dim, v := range learn {
		s, _ := v.(string)
		switch dim {
		case "network":
			b.Networks.Add(s)
		case "agent":
			b.Agents.Add(s)
		case "action":
			b.Actions.Add(s)
		case "resource":
			b.Resources.Add(s)
		case "environment":
			b.Envs.Add(s)
		case "workload":
			b.Workloads.Add(s)
		case "hour":
			if h, err := strconv.Atoi(s); err == nil && h >= 0 && h < 24 {
				b.Hours[h]++
			}
		case "day":
			if d, err := strconv.Atoi(s); err == nil && d >= 0 && d < 7 {
				b.Days[d]++
			}
		}
	}
	if a.Detector == DetRateSpike {
		// A legitimate burst: widen the spread the z-score divides by.
		b.Var = max(b.Var*4, b.Mean*b.Mean)
	}
	e.dirtyBase[a.IdentityID] = true
}
