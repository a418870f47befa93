package federation

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-nhi/steward"
)

// Replay batching bounds.
const (
	// DefaultReplayWindow is the longest the replay records of a batch
	// wait for exchanges still being verified to join them.
	DefaultReplayWindow = time.Millisecond
	// maxReplayBatch bounds the exchanges written in one transaction.
	maxReplayBatch = 128
	// maxSeen bounds the tokens this node remembers in memory (two
	// generations of half as many each); the shared record decides beyond.
	maxSeen = 1 << 16
)

// replayRecord is one federated token to remember until it expires.
type replayRecord struct {
	issuer, key string
	until       time.Time
}

// replayBatcher writes the replay records of concurrent exchanges in one
// transaction (group commit): the first exchange to arrive while no write
// runs leads the next batch. Before writing, the leader waits (at most
// window) while other exchanges are still being verified, so that they
// join the batch; alone, it writes at once. The others wait for the
// leader, and the first of those queued meanwhile leads the next batch.
// Each exchange's records stay all-or-nothing: a batch refused because one
// token was already used is written again one exchange per transaction.
//
// A token this node remembered is refused without a write (seen); the
// shared record remains the authority across nodes, and an answer is
// given only after the records are durable in the store.
type replayBatcher struct {
	write  func(ctx context.Context, recs []replayRecord) error // one transaction
	now    func() time.Time
	window time.Duration

	mu      sync.Mutex
	busy    bool
	queue   []*replayReq
	coming  int           // exchanges begun that have not reached remember nor ended
	waiting bool          // a leader waits for coming exchanges
	kick    chan struct{} // wakes the waiting leader (buffered, one)
	seen    seenSet

	writes, records atomic.Int64
}

func newReplayBatcher(write func(context.Context, []replayRecord) error, now func() time.Time, window time.Duration) *replayBatcher {
	return &replayBatcher{write: write, now: now, window: window, kick: make(chan struct{}, 1), seen: newSeenSet(maxSeen)}
}

type replayReq struct {
	recs []replayRecord
	done chan error
}

// errLead tells a waiting request that it leads the next batch.
var errLead = errors.New("lead the next batch")

// errSeen is the refusal of a token this node already remembered.
var errSeen = steward.Errorf(steward.ECONFLICT, "the federated token was already exchanged on this node")

// arrival is one exchange's place among those the batcher expects.
type arrival struct {
	b       *replayBatcher
	arrived bool
}

// expect counts an exchange that may bring replay records; its arrival
// (remember, or end for an exchange refused before) is awaited by a
// leader gathering a batch.
func (b *replayBatcher) expect() *arrival {
	b.mu.Lock()
	b.coming++
	b.mu.Unlock()
	return &arrival{b: b}
}

// end marks the exchange gone if it never reached remember.
func (a *arrival) end() {
	if a == nil || a.arrived {
		return
	}
	a.b.mu.Lock()
	a.b.arrive(a)
	a.b.mu.Unlock()
}

// arrive is called with mu held.
func (b *replayBatcher) arrive(a *arrival) {
	if a == nil || a.arrived {
		return
	}
	a.arrived = true
	b.coming--
	b.wake()
}

// wake tells a waiting leader to look again when its wait may be over;
// called with mu held.
func (b *replayBatcher) wake() {
	if b.waiting && (b.coming <= 0 || len(b.queue) >= maxReplayBatch) {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// seenHere reports whether this node wrote one of recs (an early refusal;
// remember decides).
func (b *replayBatcher) seenHere(recs []replayRecord) bool {
	if len(recs) == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen.any(recs, b.now())
}

// remember records recs, or returns ECONFLICT when one was already used.
func (b *replayBatcher) remember(ctx context.Context, a *arrival, recs []replayRecord) error {
	b.mu.Lock()
	b.arrive(a)
	if len(recs) == 0 {
		b.mu.Unlock()
		return nil
	}
	if b.seen.any(recs, b.now()) {
		b.mu.Unlock()
		return errSeen
	}
	r := &replayReq{recs: recs, done: make(chan error, 1)}
	b.queue = append(b.queue, r)
	b.wake()
	if b.busy {
		b.mu.Unlock()
		if err := <-r.done; err != errLead {
			return err
		}
		b.mu.Lock()
	}
	b.busy = true
	b.gather()
	n := min(len(b.queue), maxReplayBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()
	// The batch is other exchanges' too: the leader's cancellation must
	// not fail them.
	b.flush(context.WithoutCancel(ctx), batch)
	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].done <- errLead
	} else {
		b.busy = false
		b.queue = nil
	}
	b.mu.Unlock()
	return <-r.done
}

// gather waits, with mu held, while exchanges are still coming, the batch
// has room and the window is open.
func (b *replayBatcher) gather() {
	if b.window <= 0 || b.coming <= 0 || len(b.queue) >= maxReplayBatch {
		return
	}
	t := time.NewTimer(b.window)
	defer t.Stop()
	for b.coming > 0 && len(b.queue) < maxReplayBatch {
		b.waiting = true
		b.mu.Unlock()
		timeout := false
		select {
		case <-b.kick:
		case <-t.C:
			timeout = true
		}
		b.mu.Lock()
		b.waiting = false
		if timeout {
			return
		}
	}
}

// flush writes a batch: one transaction for all, unless two of them
// present the same token (the later ones are written after, alone) or the
// store refuses one as a replay (then each is written alone). A token
// this node wrote meanwhile is refused without a write.
func (b *replayBatcher) flush(ctx context.Context, batch []*replayReq) {
	var first, later []*replayReq
	var all []replayRecord
	keys := make(map[replayKey]bool, len(batch))
	b.mu.Lock()
	now := b.now()
	for _, r := range batch {
		switch {
		case b.seen.any(r.recs, now):
			r.done <- errSeen
		case anyKey(keys, r.recs):
			later = append(later, r)
		default:
			for _, rec := range r.recs {
				keys[replayKey{rec.issuer, rec.key}] = true
			}
			first = append(first, r)
			all = append(all, r.recs...)
		}
	}
	b.mu.Unlock()
	if len(first) > 1 {
		err := b.written(ctx, all)
		if steward.ErrorCode(err) != steward.ECONFLICT {
			b.done(first, err)
			first = nil
		}
	}
	for _, r := range append(first, later...) {
		b.mu.Lock()
		seen := b.seen.any(r.recs, b.now())
		b.mu.Unlock()
		if seen {
			r.done <- errSeen
			continue
		}
		b.done([]*replayReq{r}, b.written(ctx, r.recs))
	}
}

func (b *replayBatcher) written(ctx context.Context, recs []replayRecord) error {
	b.writes.Add(1)
	b.records.Add(int64(len(recs)))
	return b.write(ctx, recs)
}

// done answers reqs with err, remembering their tokens on this node when
// they were written.
func (b *replayBatcher) done(reqs []*replayReq, err error) {
	if err == nil {
		b.mu.Lock()
		for _, r := range reqs {
			b.seen.add(r.recs)
		}
		b.mu.Unlock()
	}
	for _, r := range reqs {
		r.done <- err
	}
}

type replayKey struct{ issuer, key string }

func anyKey(keys map[replayKey]bool, recs []replayRecord) bool {
	for _, r := range recs {
		if keys[replayKey{r.issuer, r.key}] {
			return true
		}
	}
	return false
}

// seenSet is the tokens this node wrote, until they expire: two
// generations, the older dropped when the newer is full, so memory stays
// bounded and a forgotten token is still refused by the shared record.
type seenSet struct {
	limit    int
	cur, old map[replayKey]time.Time
}

func newSeenSet(limit int) seenSet {
	return seenSet{limit: max(limit/2, 1), cur: map[replayKey]time.Time{}, old: map[replayKey]time.Time{}}
}

func (s *seenSet) any(recs []replayRecord, now time.Time) bool {
	for _, r := range recs {
		k := replayKey{r.issuer, r.key}
		if until, ok := s.cur[k]; ok && now.Before(until) {
			return true
		}
		if until, ok := s.old[k]; ok && now.Before(until) {
			return true
		}
	}
	return false
}

func (s *seenSet) add(recs []replayRecord) {
	for _, r := range recs {
		if len(s.cur) >= s.limit {
			s.old, s.cur = s.cur, make(map[replayKey]time.Time, s.limit)
		}
		s.cur[replayKey{r.issuer, r.key}] = r.until
	}
}

// ReplayWrites reports the replay-record write transactions and the
// records they held since the start (tests and benchmarks).
func (s *Service) ReplayWrites() (writes, records int64) {
	return s.replays.writes.Load(), s.replays.records.Load()
}

// writeReplays remembers records in one transaction.
func (s *Service) writeReplays(ctx context.Context, recs []replayRecord) error {
	return s.cfg.Store.UpdateFederation(ctx, func(tx steward.FederationTx) error {
		for _, r := range recs {
			if err := tx.UseAssertionJTI(ctx, r.issuer, r.key, r.until); err != nil {
				return err
			}
		}
		return nil
	})
}
