package inventory

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestTokenTouchesAreBoundedAndCoalesced: uses of one token coalesce to
// the latest time; once the set holds its limit of tokens, a new token's
// use is dropped at once (counted and reported), never waited for; the
// flush writes every kept use exactly once.
func TestTokenTouchesAreBoundedAndCoalesced(t *testing.T) {
	gate := make(chan struct{})
	var mu sync.Mutex
	written := map[string]time.Time{}
	var warnings []string
	q := newTokenTouches(3, func(ctx context.Context, id string, at time.Time) error {
		<-gate
		mu.Lock()
		defer mu.Unlock()
		if _, dup := written[id]; dup {
			t.Errorf("token %s written twice", id)
		}
		written[id] = at
		return nil
	}, func(msg string, args ...any) {
		mu.Lock()
		warnings = append(warnings, fmt.Sprint(msg, args))
		mu.Unlock()
	})
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	// The first use starts the writer, which takes it and waits on the
	// gate; wait until it has, so the set is empty again.
	q.add("first", t0)
	for {
		q.mu.Lock()
		n := len(q.pending)
		q.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	for i := range 3 {
		id := fmt.Sprintf("t%d", i)
		q.add(id, t0.Add(time.Minute))
		q.add(id, t0.Add(3*time.Minute)) // latest wins
		q.add(id, t0.Add(2*time.Minute))
	}
	for i := range 1000 {
		q.add(fmt.Sprintf("extra%d", i), t0) // beyond the bound: dropped
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("adding to a full set took %s: it must drop, not wait", d)
	}
	q.mu.Lock()
	pending, dropped := len(q.pending), q.dropped
	q.mu.Unlock()
	if pending != 3 || dropped != 1000 {
		t.Fatalf("pending %d, dropped %d; want 3 and 1000", pending, dropped)
	}
	close(gate)
	if err := q.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(written) != 4 {
		t.Fatalf("written %v, want first, t0, t1, t2", written)
	}
	for i := range 3 {
		if got := written[fmt.Sprintf("t%d", i)]; !got.Equal(t0.Add(3 * time.Minute)) {
			t.Fatalf("t%d written at %s, want the latest use", i, got)
		}
	}
	if len(warnings) != 1 {
		t.Fatalf("warnings %q, want one reporting the 1000 dropped", warnings)
	}
	// After the flush no writer starts: a late use stays unwritten.
	q.add("late", t0)
	time.Sleep(20 * time.Millisecond)
	if _, ok := written["late"]; ok {
		t.Fatal("a use noted after the flush was written")
	}
}
