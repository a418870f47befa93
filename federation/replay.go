package federation

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
)

// replayRecord is one federated token to remember until it expires.
type replayRecord struct {
	issuer, key string
	until       time.Time
}

// replayBatcher writes the replay records of concurrent exchanges in one
// transaction (group commit): the first exchange to arrive while no write
// runs writes everything queued; the others wait for it, and the first of
// those queued meanwhile writes the next batch. Each exchange's records
// stay all-or-nothing: a batch refused because one token was already used
// is written again one exchange per transaction.
type replayBatcher struct {
	write func(ctx context.Context, recs []replayRecord) error // one transaction

	mu    sync.Mutex
	busy  bool
	queue []*replayReq
}

type replayReq struct {
	recs []replayRecord
	done chan error
}

// errLead tells a waiting request that it writes the next batch.
var errLead = errors.New("lead the next batch")

// remember records recs, or returns ECONFLICT when one was already used.
func (b *replayBatcher) remember(ctx context.Context, recs []replayRecord) error {
	if len(recs) == 0 {
		return nil
	}
	r := &replayReq{recs: recs, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	if b.busy {
		b.mu.Unlock()
		if err := <-r.done; err != errLead {
			return err
		}
		b.mu.Lock()
	}
	b.busy = true
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()
	// The batch is other exchanges' too: the leader's cancellation must
	// not fail them.
	b.flush(context.WithoutCancel(ctx), batch)
	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].done <- errLead
	} else {
		b.busy = false
	}
	b.mu.Unlock()
	return <-r.done
}

func (b *replayBatcher) flush(ctx context.Context, batch []*replayReq) {
	if len(batch) > 1 {
		var all []replayRecord
		for _, r := range batch {
			all = append(all, r.recs...)
		}
		err := b.write(ctx, all)
		if steward.ErrorCode(err) != steward.ECONFLICT {
			for _, r := range batch {
				r.done <- err
			}
			return
		}
	}
	for _, r := range batch {
		r.done <- b.write(ctx, r.recs)
	}
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
