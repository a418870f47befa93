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

// The engine's lifecycle: configuration, the queue Record feeds, loading
// what was persisted, and the Run loop that owns all mutable state. The
// work of the loop lives beside this file: examine.go (each event),
// subjects.go (inventory facts), learning.go (baselines), grouping.go
// (incidents) and responses.go (notifications and automatic responses).

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steward-nhi/steward"
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

// Engine runs the detectors. It implements steward.UsagePipeline.
type Engine struct {
	cfg       Config
	detectors []Detector
	queue     chan steward.UsageEvent
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
	input      Input              // reused for every event
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
	cfg.LearningPeriod = positiveOr(cfg.LearningPeriod, 7*24*time.Hour)
	cfg.MinEvents = positiveOr(cfg.MinEvents, 100)
	cfg.Window = positiveOr(cfg.Window, time.Hour)
	cfg.QueueSize = positiveOr(cfg.QueueSize, 65536)
	cfg.ExamineInterval = positiveOr(cfg.ExamineInterval, 5*time.Millisecond)
	cfg.FlushInterval = positiveOr(cfg.FlushInterval, 200*time.Millisecond)
	cfg.BaselineInterval = positiveOr(cfg.BaselineInterval, 30*time.Second)
	cfg.SweepInterval = positiveOr(cfg.SweepInterval, time.Minute)
	cfg.SubjectTTL = positiveOr(cfg.SubjectTTL, 5*time.Second)
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
	e := &Engine{cfg: cfg, queue: make(chan steward.UsageEvent, cfg.QueueSize), kick: make(chan struct{}, 1), feedback: make(chan feedback, 1024),
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
	e.receive(&ev)
	select {
	case e.queue <- ev:
		if len(e.queue) == kickAt {
			e.wake()
		}
	default:
		e.dropped.Add(1)
	}
	e.cfg.Next.Record(ctx, ev)
}

// receive counts ev and stamps it with the time now when it has none.
func (e *Engine) receive(ev *steward.UsageEvent) {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC().Truncate(time.Microsecond)
	}
	e.received.Add(1)
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
	return Stats{Received: e.received.Load(), Processed: e.processed.Load(), Dropped: e.dropped.Load(), Queued: len(e.queue)}
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
			if len(e.queue) > 0 && e.streamTime.Before(now) {
				now = e.streamTime
			}
			e.SweepSilence(ctx, now)
		case f := <-e.feedback:
			e.applyFeedback(f.alert)
		case r := <-e.responses:
			e.applyResponse(ctx, r)
		case r := <-e.raised:
			e.applyRaised(ctx, r)
		case done := <-e.syncs:
			for len(e.feedback) > 0 {
				e.applyFeedback((<-e.feedback).alert)
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
	for n := len(e.queue); n > 0; n-- {
		select {
		case e.cur = <-e.queue:
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
