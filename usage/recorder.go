// Package usage records and analyses how identities are used: the
// decision log of the PDP and authentication attempts (through a bounded,
// batched Recorder off the request path), external logs (CloudTrail,
// Vault/OpenBao audit, OPA decision logs, gateway logs), per-identity
// aggregates for least-privilege analysis, and the query API.
package usage

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
)

// RecorderConfig configures NewRecorder.
type RecorderConfig struct {
	Store steward.UsageStore
	// QueueSize bounds the events waiting to be written (default 65536).
	// When the queue is full Record drops the event and counts the drop:
	// the decision path never waits for the database.
	QueueSize int
	// BatchSize is the most events written in one transaction (default
	// 4096). Bigger transactions write each per-identity aggregate row once
	// for many events, which is most of the cost of a usage event; the price
	// is that one transaction holds the SQLite write lock longer (about
	// 70 ms for 4,096 events on a 2-core machine).
	BatchSize int
	// FlushInterval is the longest an event waits in a partial batch
	// (default 200 ms).
	FlushInterval time.Duration
	// Writers is how many batches Run writes at once (default: the
	// store's WriteConcurrency, 2 on PostgreSQL, 1 on SQLite). Batches are
	// independent: events are listed by time and id, not by when they
	// were written, aggregates add up and last-use times only move
	// forward, so two writers store what one would.
	Writers int
	Clock   clock.Clock
	Logger  *slog.Logger
}

// Recorder implements steward.UsageRecorder with a bounded queue drained
// in batches by Run.
type Recorder struct {
	cfg     RecorderConfig
	q       chan steward.UsageEvent
	kick    chan struct{} // a full batch is waiting: write before the tick
	dropped atomic.Int64
	written atomic.Int64
	failed  atomic.Int64
	cleaned atomic.Int64
	// slots holds one token per writer: a writer takes one for each
	// drain, Flush takes them all, so that it waits for the batches in
	// flight and writes alone.
	slots   chan struct{}
	flushMu sync.Mutex
	bufs    sync.Pool // *[]steward.UsageEvent of BatchSize capacity
}

var _ steward.UsageRecorder = (*Recorder)(nil)

// NewRecorder returns a recorder; start Run to write.
func NewRecorder(cfg RecorderConfig) *Recorder {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 65536
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 4096
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 200 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Writers <= 0 && cfg.Store != nil {
		cfg.Writers = cfg.Store.WriteConcurrency()
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 1
	}
	r := &Recorder{cfg: cfg, q: make(chan steward.UsageEvent, cfg.QueueSize), kick: make(chan struct{}, 1),
		slots: make(chan struct{}, cfg.Writers)}
	for range cfg.Writers {
		r.slots <- struct{}{}
	}
	r.bufs.New = func() any { b := make([]steward.UsageEvent, 0, cfg.BatchSize); return &b }
	return r
}

// Writers returns how many batches Run writes at once.
func (r *Recorder) Writers() int { return r.cfg.Writers }

// Record queues ev without blocking; a full queue drops it and counts the drop.
func (r *Recorder) Record(_ context.Context, ev steward.UsageEvent) {
	if ev.Time.IsZero() {
		ev.Time = r.cfg.Clock.Now()
	}
	if ev.ID == "" {
		ev.ID = ids.New("use_", ev.Time)
	}
	select {
	case r.q <- ev:
		if len(r.q) == r.cfg.BatchSize {
			r.wake()
		}
	default:
		r.dropped.Add(1)
	}
}

// RecorderStats are the recorder's counters.
type RecorderStats struct {
	Queued  int   `json:"queued"`
	Dropped int64 `json:"dropped"`
	Written int64 `json:"written"`
	Failed  int64 `json:"failed"`
	// Cleaned counts events written with NUL bytes or invalid UTF-8
	// replaced (PostgreSQL refuses both in text).
	Cleaned int64 `json:"cleaned"`
}

// Stats returns the counters (exported as Prometheus counters by httpapi).
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{Queued: len(r.q), Dropped: r.dropped.Load(), Written: r.written.Load(), Failed: r.failed.Load(),
		Cleaned: r.cleaned.Load()}
}

// Dropped returns how many events were dropped because the queue was full.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Run writes queued events in batches until ctx ends, with Writers
// writers. A writer wakes on the flush interval, or when a full batch is
// waiting, never per event: a goroutine woken for every decision would
// cost a scheduler switch on the PDP's request path. A writer that takes
// a full batch and leaves another full one queued wakes the next writer,
// so a second batch is written while the first one commits.
func (r *Recorder) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runWriter(ctx)
		}()
	}
	wg.Wait()
	// A batch in flight is finished even if shutdown begins during its
	// write: a canceled context would fail the batch and lose it.
	r.Flush(context.WithoutCancel(ctx))
}

// runWriter is one of Run's writers.
func (r *Recorder) runWriter(ctx context.Context) {
	t := time.NewTicker(r.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
		select {
		case <-r.slots:
		case <-ctx.Done():
			return
		}
		r.drain(context.WithoutCancel(ctx))
		r.slots <- struct{}{}
	}
}

// Flush writes the events queued when it starts (shutdown, tests), a
// batch per transaction, after the batches in flight: when it returns,
// every event recorded before it was called is written or counted failed.
func (r *Recorder) Flush(ctx context.Context) {
	r.flushMu.Lock() // two Flushes each holding some slots would wait forever
	defer r.flushMu.Unlock()
	for range r.cfg.Writers {
		<-r.slots
	}
	defer func() {
		for range r.cfg.Writers {
			r.slots <- struct{}{}
		}
	}()
	r.drain(ctx)
}

// drain writes the events queued when it starts, a batch at a time; the
// caller holds a writer's slot.
func (r *Recorder) drain(ctx context.Context) {
	bp := r.bufs.Get().(*[]steward.UsageEvent)
	defer r.bufs.Put(bp)
drain:
	for n := len(r.q); n > 0; n-- {
		select {
		case ev := <-r.q:
			if cleanEvent(&ev) {
				r.cleaned.Add(1)
			}
			*bp = append(*bp, ev)
			if len(*bp) >= r.cfg.BatchSize {
				if len(r.q) >= r.cfg.BatchSize {
					r.wake()
				}
				r.write(ctx, bp)
			}
		default:
			break drain
		}
	}
	r.write(ctx, bp)
}

// wake wakes a writer waiting for a full batch.
func (r *Recorder) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// write writes the batch *bp and empties it.
func (r *Recorder) write(ctx context.Context, bp *[]steward.UsageEvent) {
	batch := *bp
	if len(batch) == 0 {
		return
	}
	defer func() {
		clear(batch) // let the events' strings go
		*bp = batch[:0]
	}()
	err := r.cfg.Store.AppendUsage(ctx, batch)
	if err == nil {
		r.written.Add(int64(len(batch)))
		return
	}
	if len(batch) == 1 {
		r.fail(ctx, batch, err)
		return
	}
	// One bad event must not cost the batch its good ones: write them one
	// by one, and count and log only those that fail again. When the first
	// few all fail the database itself is failing, not the events: give up
	// on the rest rather than try each against it.
	r.cfg.Logger.WarnContext(ctx, "write usage events: batch failed, writing one by one", "events", len(batch), "err", err)
	wrote := false
	for k := range batch {
		err := r.cfg.Store.AppendUsage(ctx, batch[k:k+1])
		if err == nil {
			wrote = true
			r.written.Add(1)
			continue
		}
		if (!wrote && k+1 >= maxFailedRetries) || ctx.Err() != nil {
			r.fail(ctx, batch[k:], err)
			return
		}
		r.fail(ctx, batch[k:k+1], err)
	}
}

// maxFailedRetries is how many events in a row, none written, end the
// one-by-one retry of a failed batch.
const maxFailedRetries = 8

// fail counts and logs events that could not be written.
func (r *Recorder) fail(ctx context.Context, evs []steward.UsageEvent, err error) {
	r.failed.Add(int64(len(evs)))
	if len(evs) == 1 {
		r.cfg.Logger.ErrorContext(ctx, "write usage event", "id", evs[0].ID, "kind", evs[0].Kind, "err", err)
		return
	}
	r.cfg.Logger.ErrorContext(ctx, "write usage events", "events", len(evs), "err", err)
}

// cleanEvent replaces NUL bytes and invalid UTF-8 in ev's text with U+FFFD
// so that every engine stores it (PostgreSQL refuses both in text), and
// reports whether it changed anything. The caller may have sent anything:
// a subject id in an AuthZEN request, a user agent, a resource name.
func cleanEvent(ev *steward.UsageEvent) bool {
	changed := false
	for _, f := range []*string{&ev.ID, &ev.Kind, &ev.IdentityID, &ev.CredentialID, &ev.Subject, &ev.Action, &ev.Resource,
		&ev.Source, &ev.UserAgent, &ev.Environment, &ev.Outcome, &ev.Reason} {
		changed = cleanText(f) || changed
	}
	// The slice and the map may still be the caller's: copy before changing.
	if slices.ContainsFunc(ev.PolicyIDs, dirty) {
		ev.PolicyIDs = slices.Clone(ev.PolicyIDs)
		for k := range ev.PolicyIDs {
			cleanText(&ev.PolicyIDs[k])
		}
		changed = true
	}
	for k, v := range ev.Attributes {
		if dirty(k) || dirty(v) {
			attrs := make(map[string]string, len(ev.Attributes))
			for ak, av := range ev.Attributes {
				cleanText(&ak)
				cleanText(&av)
				attrs[ak] = av
			}
			ev.Attributes, changed = attrs, true
			break
		}
	}
	return changed
}

// dirty reports whether s holds a NUL byte or invalid UTF-8.
func dirty(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }

// cleanText replaces NUL bytes and invalid UTF-8 in *s with U+FFFD.
func cleanText(s *string) bool {
	if !dirty(*s) {
		return false
	}
	*s = strings.ReplaceAll(strings.ToValidUTF8(*s, "\uFFFD"), "\x00", "\uFFFD")
	return true
}
