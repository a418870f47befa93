// Package notify delivers notifications (alerts, posture findings, digests,
// offboarding notices) to people through sinks: a generic webhook (JSON
// signed with HMAC-SHA256), a Slack-compatible incoming webhook, SMTP email
// (STARTTLS) and syslog (RFC 5424 over tcp, udp or unix).
//
// A Dispatcher implements steward.Notifier: Notify routes the notification
// by rules (severity, kind, detector, team, environment, tier) to sinks and
// queues it; it never waits for a sink. Each sink's workers retry with
// exponential backoff and, when every attempt failed (or the sink's queue
// was full), record a dead letter.
//
// # Verifying a webhook
//
// Webhooks follow the Standard Webhooks specification (see
// internal/stdwebhook): every request carries
//
//	webhook-id:        a delivery id, the same on every retry
//	webhook-timestamp: the Unix time of the attempt, in seconds
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
//
// so any Standard Webhooks verifier (npm standardwebhooks, …) accepts them
// with the sink's secret in whsec_ form. A receiver refuses a timestamp
// more than five minutes away from its clock (replays). Verify does
// exactly that. With envelope: cloudevents the body is a CloudEvents 1.0
// structured-mode event whose data is the notification.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// Sink delivers one notification; an error asks for a retry.
type Sink interface {
	Name() string
	Send(ctx context.Context, n steward.Notification) error
}

// DeadLetters keeps what could not be delivered.
type DeadLetters interface {
	AddDeadLetter(ctx context.Context, d *steward.DeadLetter) error
}

// Config configures New.
type Config struct {
	Sinks []Sink
	// Rules route notifications to sinks by name; with no rules every
	// notification goes to every sink. A notification no rule matches
	// goes nowhere.
	Rules       []steward.AlertRule
	DeadLetters DeadLetters
	// Attempts per notification and sink (default 5).
	Attempts int
	// Backoff is the first retry delay, doubled each time up to
	// MaxBackoff (defaults 500ms, 30s), with jitter.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// QueueSize bounds each sink's queue (default 1024); when full the
	// notification becomes a dead letter at once.
	QueueSize int
	// Workers per sink (default 2).
	Workers int
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	Logger  *slog.Logger
	// Delivered, if set, is called after each successful delivery with
	// the time since the notification was queued (metrics, benchmarks).
	Delivered func(sink string, n steward.Notification, waited time.Duration)
}

type job struct {
	n      steward.Notification
	queued time.Time
}

type sinkQueue struct {
	sink Sink
	q    chan job
}

// Dispatcher routes and delivers notifications; it implements
// steward.Notifier. Start it with Run.
type Dispatcher struct {
	cfg    Config
	sinks  map[string]*sinkQueue
	order  []string
	sent   atomic.Int64
	failed atomic.Int64
	dead   atomic.Int64
	wg     sync.WaitGroup
}

var _ steward.Notifier = (*Dispatcher)(nil)

// New returns a dispatcher, refusing rules that name unknown sinks.
func New(cfg Config) (*Dispatcher, error) {
	cfg.Attempts = positiveOr(cfg.Attempts, 5)
	cfg.Backoff = positiveOr(cfg.Backoff, 500*time.Millisecond)
	cfg.MaxBackoff = positiveOr(cfg.MaxBackoff, 30*time.Second)
	cfg.QueueSize = positiveOr(cfg.QueueSize, 1024)
	cfg.Workers = positiveOr(cfg.Workers, 2)
	cfg.Timeout = positiveOr(cfg.Timeout, 10*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{cfg: cfg, sinks: map[string]*sinkQueue{}}
	for _, s := range cfg.Sinks {
		if _, dup := d.sinks[s.Name()]; dup {
			return nil, steward.FieldError("sinks", "sink name %q is used twice", s.Name())
		}
		d.sinks[s.Name()] = &sinkQueue{sink: s, q: make(chan job, cfg.QueueSize)}
		d.order = append(d.order, s.Name())
	}
	for i, r := range cfg.Rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		for _, s := range r.Sinks {
			if d.sinks[s] == nil {
				return nil, steward.FieldError(fmt.Sprintf("rules[%d].sinks", i), "%q is not a configured sink", s)
			}
		}
	}
	return d, nil
}

// Sinks lists the sink names in configuration order.
func (d *Dispatcher) Sinks() []string { return slices.Clone(d.order) }

// Route returns the sinks a notification goes to.
func (d *Dispatcher) Route(n steward.Notification) []string {
	if len(d.cfg.Rules) == 0 {
		return d.Sinks()
	}
	var out []string
	for _, r := range d.cfg.Rules {
		if r.Matches(n) {
			for _, s := range r.Sinks {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// Notify routes n and queues it for each sink; it never blocks. A full
// queue turns the notification into a dead letter.
func (d *Dispatcher) Notify(ctx context.Context, n steward.Notification) error {
	if n.Time.IsZero() {
		n.Time = time.Now().UTC()
	}
	now := time.Now()
	for _, name := range d.Route(n) {
		sq := d.sinks[name]
		select {
		case sq.q <- job{n: n, queued: now}:
		default:
			d.deadLetter(context.WithoutCancel(ctx), name, n, 0, errors.New("sink queue full"))
		}
	}
	return nil
}

// Run delivers queued notifications until ctx ends, then drains what is
// queued with one attempt each.
func (d *Dispatcher) Run(ctx context.Context) {
	for _, name := range d.order {
		sq := d.sinks[name]
		for range d.cfg.Workers {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.work(ctx, sq)
			}()
		}
	}
	d.wg.Wait()
}

func (d *Dispatcher) work(ctx context.Context, sq *sinkQueue) {
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case j := <-sq.q:
					d.deliver(context.WithoutCancel(ctx), sq.sink, j, 1)
				default:
					return
				}
			}
		case j := <-sq.q:
			d.deliver(ctx, sq.sink, j, d.cfg.Attempts)
		}
	}
}

func (d *Dispatcher) deliver(ctx context.Context, s Sink, j job, attempts int) {
	var err error
	delay := d.cfg.Backoff
	for a := 1; a <= attempts; a++ {
		actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
		err = s.Send(actx, j.n)
		cancel()
		if err == nil {
			d.sent.Add(1)
			if d.cfg.Delivered != nil {
				d.cfg.Delivered(s.Name(), j.n, time.Since(j.queued))
			}
			return
		}
		d.failed.Add(1)
		d.cfg.Logger.Warn("notify: delivery failed", "sink", s.Name(), "attempt", a, "kind", j.n.Kind, "err", err)
		if a == attempts {
			break
		}
		wait := delay/2 + time.Duration(rand.Int64N(int64(delay/2)+1))
		select {
		case <-ctx.Done():
			d.deadLetter(context.WithoutCancel(ctx), s.Name(), j.n, a, fmt.Errorf("shutdown during retries: %w", err))
			return
		case <-time.After(wait):
		}
		delay = min(2*delay, d.cfg.MaxBackoff)
	}
	d.deadLetter(ctx, s.Name(), j.n, attempts, err)
}

func (d *Dispatcher) deadLetter(ctx context.Context, sink string, n steward.Notification, attempts int, cause error) {
	d.dead.Add(1)
	d.cfg.Logger.Error("notify: dead letter", "sink", sink, "kind", n.Kind, "title", n.Title, "attempts", attempts, "err", cause)
	if d.cfg.DeadLetters == nil {
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	dl := &steward.DeadLetter{ID: ids.New("dlq_", now), Sink: sink, Notification: n, Error: cause.Error(), Attempts: attempts, CreatedAt: now}
	if err := d.cfg.DeadLetters.AddDeadLetter(ctx, dl); err != nil {
		d.cfg.Logger.Error("notify: record dead letter", "sink", sink, "err", err)
	}
}

// Stats are the dispatcher's counters.
type Stats struct {
	Sent        int64 `json:"sent"`
	Failed      int64 `json:"failed_attempts"`
	DeadLetters int64 `json:"dead_letters"`
}

// Stats returns the counters.
func (d *Dispatcher) Stats() Stats {
	return Stats{Sent: d.sent.Load(), Failed: d.failed.Load(), DeadLetters: d.dead.Load()}
}

// TestResult is one sink's answer to a test notification.
type TestResult = steward.NotificationResult

// SendTest sends n to the named sinks (all when names is empty) at once,
// one attempt each, and reports each result.
func (d *Dispatcher) SendTest(ctx context.Context, n steward.Notification, names []string) ([]TestResult, error) {
	if len(names) == 0 {
		names = d.order
	}
	for _, name := range names {
		if d.sinks[name] == nil {
			return nil, steward.FieldError("sinks", "%q is not a configured sink", name)
		}
	}
	out := make([]TestResult, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
			defer cancel()
			out[i] = TestResult{Sink: name, OK: true}
			if err := d.sinks[name].sink.Send(actx, n); err != nil {
				out[i] = TestResult{Sink: name, Error: err.Error()}
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// positiveOr returns v, or def when v is not positive (a setting left
// unset or set to nonsense takes its default).
func positiveOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
