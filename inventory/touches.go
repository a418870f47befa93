package inventory

import (
	"context"
	"sync"
	"time"
)

// maxPendingTouches bounds the operator tokens whose last use waits to be
// written; a use beyond it is dropped (and counted), never waited for.
const maxPendingTouches = 4096

// touchWriteTimeout bounds one write of pending last-use times.
const touchWriteTimeout = 10 * time.Second

// tokenTouches records operator tokens' last use off the request path:
// uses are coalesced per token (the latest time wins) in a bounded set,
// and one writer goroutine, started when a use arrives and gone when the
// set is empty, writes them. Flush (at shutdown, before the store
// closes) stops new writers, waits for the running one and writes the
// rest.
type tokenTouches struct {
	mu      sync.Mutex
	pending map[string]time.Time
	max     int
	dropped int
	running bool
	closed  bool
	done    *sync.Cond // signalled when the writer stops
	write   func(ctx context.Context, id string, at time.Time) error
	warn    func(msg string, args ...any)
}

func newTokenTouches(max int, write func(ctx context.Context, id string, at time.Time) error, warn func(msg string, args ...any)) *tokenTouches {
	q := &tokenTouches{pending: map[string]time.Time{}, max: max, write: write, warn: warn}
	q.done = sync.NewCond(&q.mu)
	return q
}

// add notes that token id was used at at. It never blocks on the store.
func (q *tokenTouches) add(id string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if prev, ok := q.pending[id]; ok {
		if at.After(prev) {
			q.pending[id] = at
		}
		return
	}
	if len(q.pending) >= q.max {
		q.dropped++
		return
	}
	q.pending[id] = at
	if !q.running && !q.closed {
		q.running = true
		go q.run()
	}
}

// run writes pending uses until none is left.
func (q *tokenTouches) run() {
	for q.writeBatch() {
	}
	q.mu.Lock()
	q.running = false
	q.done.Broadcast()
	q.mu.Unlock()
}

// writeBatch takes what is pending and writes it; false when there was
// nothing to write.
func (q *tokenTouches) writeBatch() bool {
	q.mu.Lock()
	batch, dropped := q.pending, q.dropped
	if len(batch) == 0 && dropped == 0 {
		q.mu.Unlock()
		return false
	}
	q.pending, q.dropped = map[string]time.Time{}, 0
	q.mu.Unlock()
	if dropped > 0 {
		q.warn("operator token last-use times dropped: too many tokens waiting to be written", "dropped", dropped, "limit", q.max)
	}
	ctx, cancel := context.WithTimeout(context.Background(), touchWriteTimeout)
	defer cancel()
	for id, at := range batch {
		if err := q.write(ctx, id, at); err != nil {
			q.warn("record token use", "token_id", id, "err", err)
		}
	}
	return true
}

// flush stops starting writers, waits for the running one, and writes
// what is left; uses noted afterwards are kept but no longer written.
func (q *tokenTouches) flush(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	waited := make(chan struct{})
	go func() {
		q.mu.Lock()
		for q.running {
			q.done.Wait()
		}
		q.mu.Unlock()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		return ctx.Err()
	}
	for q.writeBatch() {
	}
	return nil
}
