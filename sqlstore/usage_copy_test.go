package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestUsageBatchWithARepeatedIDFallsBack checks the direct COPY of a usage
// batch on PostgreSQL: a batch whose ids are new is copied straight into
// usage_events; one that repeats an id (stored before, repeated inside the
// batch, or written by a concurrent batch) falls back to the staging path,
// and every id is stored exactly once, nothing lost. SQLite has no COPY
// and must store the same.
func TestUsageBatchWithARepeatedIDFallsBack(t *testing.T) {
	base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	mk := func(prefix string, from, to int) []steward.UsageEvent {
		var evs []steward.UsageEvent
		for n := from; n < to; n++ {
			evs = append(evs, steward.UsageEvent{ID: fmt.Sprintf("use_%s_%05d", prefix, n), Time: base.Add(time.Duration(n) * time.Second),
				Kind: steward.UsageIngest, Subject: prefix, Action: "s3:GetObject", Outcome: "ok"})
		}
		return evs
	}
	cases := []struct {
		name string
		// batches are written in order; concurrent ones at once.
		batches    [][]steward.UsageEvent
		concurrent bool
		// stored is how many distinct ids must be stored.
		stored int
		// fallback reports whether PostgreSQL must have taken the staging path.
		fallback bool
	}{
		{name: "a batch of new ids is copied directly", batches: [][]steward.UsageEvent{mk("new", 0, 300)}, stored: 300},
		{name: "a batch holding an id stored before keeps the others and stores it once",
			batches: [][]steward.UsageEvent{mk("old", 150, 151), mk("old", 0, 300)}, stored: 300, fallback: true},
		{name: "a batch repeating an id stores it once",
			batches: [][]steward.UsageEvent{append(mk("dup", 0, 300), mk("dup", 7, 8)...)}, stored: 300, fallback: true},
		{name: "a batch whose last id was stored before",
			batches: [][]steward.UsageEvent{mk("tail", 299, 300), mk("tail", 0, 300)}, stored: 300, fallback: true},
		{name: "two batches written at once that share ids store each once",
			batches: [][]steward.UsageEvent{mk("race", 0, 400), mk("race", 200, 600)}, concurrent: true, stored: 600, fallback: true},
		{name: "two batches written at once that share ids in opposite orders do not deadlock",
			batches: [][]steward.UsageEvent{mk("cross", 0, 400), reversed(mk("cross", 0, 400))}, concurrent: true, stored: 400, fallback: true},
	}
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Store(t)
			ctx := context.Background()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := s.UsageCopyFallbacks()
					if c.concurrent {
						var wg sync.WaitGroup
						errs := make([]error, len(c.batches))
						for k, b := range c.batches {
							wg.Add(1)
							go func() { defer wg.Done(); errs[k] = s.AppendUsage(ctx, b) }()
						}
						wg.Wait()
						for _, err := range errs {
							if err != nil {
								t.Fatal(err)
							}
						}
					} else {
						for _, b := range c.batches {
							if err := s.AppendUsage(ctx, b); err != nil {
								t.Fatal(err)
							}
						}
					}
					subject := c.batches[0][0].Subject
					seen := map[string]int{}
					f := steward.UsageFilter{Subject: subject, Limit: steward.MaxLimit}
					for {
						page, err := s.ListUsage(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						for _, ev := range page.Items {
							seen[ev.ID]++
						}
						if page.NextCursor == "" {
							break
						}
						f.Cursor = page.NextCursor
					}
					for _, b := range c.batches {
						for _, ev := range b {
							if seen[ev.ID] != 1 {
								t.Fatalf("%s stored %d times, want once", ev.ID, seen[ev.ID])
							}
						}
					}
					if len(seen) != c.stored {
						t.Fatalf("%d events stored, want %d", len(seen), c.stored)
					}
					// Aggregates count every event given, as the per-row
					// path does (insert-or-ignore, then aggregate).
					given := 0
					for _, b := range c.batches {
						given += len(b)
					}
					aggs, err := s.UsageAggregates(ctx, steward.UnknownKey(subject))
					if err != nil {
						t.Fatal(err)
					}
					for _, a := range aggs {
						if a.Dimension == steward.DimAll && a.Count != int64(given) {
							t.Fatalf("aggregate counts %d events, want %d", a.Count, given)
						}
					}
					fell := s.UsageCopyFallbacks() > before
					if want := c.fallback && s.Engine() == sqlstore.Postgres; fell != want {
						t.Fatalf("fell back to staging: %v, want %v", fell, want)
					}
				})
			}
		})
	}
}

// reversed returns evs in reverse order.
func reversed(evs []steward.UsageEvent) []steward.UsageEvent {
	slices.Reverse(evs)
	return evs
}
