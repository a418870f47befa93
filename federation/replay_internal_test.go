package federation

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// fakeReplayStore is the shared record as a set: a transaction writes all
// its records or none, and refuses a record already present.
type fakeReplayStore struct {
	mu     sync.Mutex
	stored map[replayKey]bool
	txs    [][]replayRecord
	fail   int // the next fail transactions fail with an internal error
}

func (f *fakeReplayStore) write(_ context.Context, recs []replayRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txs = append(f.txs, recs)
	if f.fail > 0 {
		f.fail--
		return errors.New("disk full")
	}
	for _, r := range recs {
		if f.stored[replayKey{r.issuer, r.key}] {
			return steward.Errorf(steward.ECONFLICT, "%s already used", r.key)
		}
	}
	for _, r := range recs {
		f.stored[replayKey{r.issuer, r.key}] = true
	}
	return nil
}

func rec(key string) replayRecord {
	return replayRecord{issuer: "fed:k8s", key: key, until: time.Unix(2000, 0)}
}

func TestReplayBatcher(t *testing.T) {
	now := func() time.Time { return time.Unix(1000, 0) }
	t.Run("a token remembered on this node is refused without a write", func(t *testing.T) {
		f := &fakeReplayStore{stored: map[replayKey]bool{}}
		b := newReplayBatcher(f.write, now, time.Minute)
		if err := b.remember(context.Background(), b.expect(), []replayRecord{rec("a")}); err != nil {
			t.Fatal(err)
		}
		err := b.remember(context.Background(), b.expect(), []replayRecord{rec("b"), rec("a")})
		if steward.ErrorCode(err) != steward.ECONFLICT || len(f.txs) != 1 {
			t.Fatalf("replay: %v after %d transactions, want ECONFLICT after 1", err, len(f.txs))
		}
		if f.stored[replayKey{"fed:k8s", "b"}] {
			t.Fatal("the refused exchange's other token was recorded")
		}
	})
	t.Run("a token whose write failed can be presented again", func(t *testing.T) {
		f := &fakeReplayStore{stored: map[replayKey]bool{}, fail: 1}
		b := newReplayBatcher(f.write, now, time.Minute)
		if err := b.remember(context.Background(), b.expect(), []replayRecord{rec("a")}); err == nil || steward.ErrorCode(err) == steward.ECONFLICT {
			t.Fatalf("failed write: %v, want the store's error", err)
		}
		if err := b.remember(context.Background(), b.expect(), []replayRecord{rec("a")}); err != nil {
			t.Fatalf("retry: %v", err)
		}
	})
	t.Run("an expired token is forgotten by this node and left to the shared record", func(t *testing.T) {
		f := &fakeReplayStore{stored: map[replayKey]bool{}}
		at := time.Unix(1000, 0)
		b := newReplayBatcher(f.write, func() time.Time { return at }, time.Minute)
		if err := b.remember(context.Background(), b.expect(), []replayRecord{rec("a")}); err != nil {
			t.Fatal(err)
		}
		at = time.Unix(3000, 0)
		err := b.remember(context.Background(), b.expect(), []replayRecord{rec("a")})
		if steward.ErrorCode(err) != steward.ECONFLICT || len(f.txs) != 2 {
			t.Fatalf("after expiry: %v after %d transactions, want the store's ECONFLICT after 2", err, len(f.txs))
		}
	})
	t.Run("a lone exchange does not wait for the window", func(t *testing.T) {
		f := &fakeReplayStore{stored: map[replayKey]bool{}}
		b := newReplayBatcher(f.write, now, time.Hour)
		start := time.Now()
		if err := b.remember(context.Background(), b.expect(), []replayRecord{rec("a")}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("a lone exchange took %s", d)
		}
	})
	t.Run("an exchange that ends before remembering is not waited for", func(t *testing.T) {
		f := &fakeReplayStore{stored: map[replayKey]bool{}}
		b := newReplayBatcher(f.write, now, time.Hour)
		refused := b.expect()
		a := b.expect()
		done := make(chan error, 1)
		go func() { done <- b.remember(context.Background(), a, []replayRecord{rec("a")}) }()
		refused.end()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the leader still waits for an exchange that ended")
		}
	})
	t.Run("concurrent exchanges share a transaction and each token is accepted once", func(t *testing.T) {
		f := &fakeReplayStore{stored: map[replayKey]bool{{"fed:k8s", "used"}: true}}
		b := newReplayBatcher(f.write, now, time.Hour)
		keys := []string{"a", "b", "c", "a", "d", "used", "a", "e"}
		arrivals := make([]*arrival, len(keys))
		for n := range keys {
			arrivals[n] = b.expect()
		}
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		for n, k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[n] = b.remember(context.Background(), arrivals[n], []replayRecord{rec(k)})
			}()
		}
		wg.Wait()
		accepted := map[string]int{}
		for n, err := range errs {
			switch {
			case err == nil:
				accepted[keys[n]]++
			case steward.ErrorCode(err) != steward.ECONFLICT:
				t.Fatalf("%s: %v", keys[n], err)
			}
		}
		for _, k := range []string{"a", "b", "c", "d", "e"} {
			if accepted[k] != 1 {
				t.Errorf("token %s accepted %d times, want once", k, accepted[k])
			}
		}
		if accepted["used"] != 0 {
			t.Error("a token already in the shared record was accepted")
		}
		// All eight waited for each other: the first write holds every
		// distinct token; the store refuses it for "used", so the six
		// distinct ones are written alone and both copies of "a" are
		// refused without a write.
		if len(f.txs) != 1+6 || len(f.txs[0]) != 6 {
			t.Errorf("%d transactions, want 7 with 6 in the first: %v", len(f.txs), f.txs)
		}
		if w, r := b.writes.Load(), b.records.Load(); w != int64(len(f.txs)) || r != 12 {
			t.Errorf("counted %d writes of %d records; the store saw %d transactions, want 12 records", w, r, len(f.txs))
		}
	})
}

func TestSeenSetStaysBounded(t *testing.T) {
	s := newSeenSet(8)
	until := time.Unix(2000, 0)
	for n := range 100 {
		s.add([]replayRecord{{issuer: "fed:k8s", key: string(rune('A' + n)), until: until}})
		if len(s.cur)+len(s.old) > 8 {
			t.Fatalf("after %d tokens the set holds %d", n+1, len(s.cur)+len(s.old))
		}
	}
	last := replayRecord{issuer: "fed:k8s", key: string(rune('A' + 99)), until: until}
	if !s.any([]replayRecord{last}, time.Unix(1000, 0)) {
		t.Fatal("the newest token is forgotten")
	}
	if s.any([]replayRecord{{issuer: "fed:k8s", key: "A"}}, time.Unix(1000, 0)) {
		t.Fatal("the oldest token is still held")
	}
}
