package usage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
)

// tenGoodOneBad returns ten ordinary decisions and one whose subject, user
// agent, policy and attribute hold a NUL byte or invalid UTF-8, as any PEP
// can send.
func tenGoodOneBad() []steward.UsageEvent {
	var evs []steward.UsageEvent
	for n := range 10 {
		evs = append(evs, steward.UsageEvent{ID: fmt.Sprintf("use_good%02d", n), Kind: steward.UsageDecision, Subject: fmt.Sprintf("User:u%d", n),
			Action: "read", Outcome: "allow"})
	}
	return append(evs, steward.UsageEvent{ID: "use_bad", Kind: steward.UsageDecision, Subject: "User:ev\x00il", Action: "read",
		UserAgent: "curl/\xff", Outcome: "deny", PolicyIDs: []string{"p\x00"}, Attributes: map[string]string{"k\x00": "v\xfe"}})
}

// TestRecorderCleansTextThatPostgresRefuses is the regression test of a
// decision whose subject held U+0000: on PostgreSQL its batch failed and
// took the other decisions with it. Every event is written, on both
// engines, the bad one with U+FFFD in place of what no engine can store.
func TestRecorderCleansTextThatPostgresRefuses(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Store(t)
			rec := usage.NewRecorder(usage.RecorderConfig{Store: s})
			ctx := context.Background()
			evs := tenGoodOneBad()
			for _, ev := range evs {
				rec.Record(ctx, ev)
			}
			rec.Flush(ctx)
			if st := rec.Stats(); st.Written != 11 || st.Failed != 0 || st.Cleaned != 1 {
				t.Fatalf("stats %+v, want 11 written, none failed, 1 cleaned", st)
			}
			if evs[10].Subject != "User:ev\x00il" || evs[10].PolicyIDs[0] != "p\x00" || evs[10].Attributes["k\x00"] != "v\xfe" {
				t.Fatal("cleaning changed the caller's event")
			}
			page, err := s.ListUsage(ctx, steward.UsageFilter{Limit: 50})
			if err != nil || len(page.Items) != 11 {
				t.Fatalf("%d events listed, %v", len(page.Items), err)
			}
			i := slices.IndexFunc(page.Items, func(ev *steward.UsageEvent) bool { return ev.ID == "use_bad" })
			if i < 0 {
				t.Fatal("the cleaned event is missing")
			}
			bad := page.Items[i]
			if bad.Subject != "User:ev\uFFFDil" || bad.UserAgent != "curl/\uFFFD" || bad.PolicyIDs[0] != "p\uFFFD" || bad.Attributes["k\uFFFD"] != "v\uFFFD" {
				t.Fatalf("stored %+v", bad)
			}
		})
	}
}

// pickyStore refuses any batch holding an event whose id starts with
// use_bad, or every batch when down.
type pickyStore struct {
	steward.UsageStore
	calls atomic.Int64
	down  bool
}

func (p *pickyStore) AppendUsage(ctx context.Context, evs []steward.UsageEvent) error {
	p.calls.Add(1)
	if p.down || slices.ContainsFunc(evs, func(ev steward.UsageEvent) bool { return strings.HasPrefix(ev.ID, "use_bad") }) {
		return errors.New("refused")
	}
	return p.UsageStore.AppendUsage(ctx, evs)
}

// TestRecorderRetriesAFailedBatchOneByOne checks that a batch the store
// refuses is written event by event, and that only the refused events are
// counted as failed.
func TestRecorderRetriesAFailedBatchOneByOne(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Store(t)
			ps := &pickyStore{UsageStore: s}
			rec := usage.NewRecorder(usage.RecorderConfig{Store: ps})
			ctx := context.Background()
			for _, ev := range tenGoodOneBad() {
				rec.Record(ctx, ev)
			}
			rec.Flush(ctx)
			if st := rec.Stats(); st.Written != 10 || st.Failed != 1 {
				t.Fatalf("stats %+v, want 10 written and 1 failed", st)
			}
			page, err := s.ListUsage(ctx, steward.UsageFilter{Limit: 50})
			if err != nil || len(page.Items) != 10 {
				t.Fatalf("%d events listed, %v", len(page.Items), err)
			}
		})
	}
}

// TestRecorderGivesUpOnAFailingStore checks that a store refusing every
// write is not tried once per event of a large batch.
func TestRecorderGivesUpOnAFailingStore(t *testing.T) {
	ps := &pickyStore{UsageStore: sqltest.SQLite(t), down: true}
	rec := usage.NewRecorder(usage.RecorderConfig{Store: ps, BatchSize: 1000})
	ctx := context.Background()
	for n := range 1000 {
		rec.Record(ctx, steward.UsageEvent{Kind: steward.UsageDecision, Subject: fmt.Sprint("User:", n), Outcome: "allow"})
	}
	rec.Flush(ctx)
	if st := rec.Stats(); st.Failed != 1000 || st.Written != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n := ps.calls.Load(); n > 20 {
		t.Fatalf("%d writes tried against a failing store", n)
	}
}

// slowStore holds every batch for a moment and records how many were
// being written at once.
type slowStore struct {
	steward.UsageStore
	mu             sync.Mutex
	inFlight, most int
	batches        int
}

func (s *slowStore) AppendUsage(ctx context.Context, evs []steward.UsageEvent) error {
	s.mu.Lock()
	s.inFlight++
	s.batches++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	err := s.UsageStore.AppendUsage(ctx, evs)
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	return err
}

// TestRecorderWritersStoreWhatOneWriterWould checks the recorder's
// concurrent writers (the store's WriteConcurrency: 2 on PostgreSQL): the
// batches of the same identities are written at once, never more than
// Writers at a time, and what is stored is what a single writer stores —
// each event once, every aggregate count, and each identity's last use at
// its latest event whichever batch commits last — with nothing failed
// (two writers lock aggregate and identity rows in one order, so neither
// is aborted as a deadlock).
func TestRecorderWritersStoreWhatOneWriterWould(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Store(t)
			ctx := context.Background()
			base := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
			var idents []string
			if err := s.Update(ctx, func(tx steward.Tx) error {
				for n := range 6 {
					i := &steward.Identity{ID: ids.New(ids.Identity, base), Name: fmt.Sprint("svc-", n), Kind: steward.KindServiceAccount, Provider: "aws",
						Sensitivity: steward.SensitivityLow, Source: steward.SourceImported, Status: steward.StatusActive, CreatedAt: base, UpdatedAt: base,
						Version: 1, Scopes: []string{}, Labels: map[string]string{}}
					idents = append(idents, i.ID)
					if err := tx.CreateIdentity(ctx, i); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, writers := range []int{0, 2} {
				t.Run(fmt.Sprint("writers=", writers), func(t *testing.T) {
					ss := &slowStore{UsageStore: s}
					rec := usage.NewRecorder(usage.RecorderConfig{Store: ss, BatchSize: 100, FlushInterval: time.Millisecond, Writers: writers})
					want := writers
					if want == 0 {
						want = s.WriteConcurrency()
					}
					if rec.Writers() != want {
						t.Fatalf("%d writers, want %d", rec.Writers(), want)
					}
					rctx, stop := context.WithCancel(ctx)
					done := make(chan struct{})
					go func() { rec.Run(rctx); close(done) }()
					const n = 3000
					// Each identity's latest event comes early in the stream
					// (later events are older), so a batch committed later
					// must not move its last use back.
					latest := base.Add(time.Duration(writers+1) * time.Hour)
					for k := range n {
						at := latest.Add(-time.Duration(k) * time.Millisecond)
						rec.Record(ctx, steward.UsageEvent{Time: at, Kind: steward.UsageIngest, IdentityID: idents[k%len(idents)],
							Action: fmt.Sprint("act-", k%3), Source: fmt.Sprint("10.0.0.", k%4), Outcome: "ok"})
						if k%200 == 0 {
							time.Sleep(time.Millisecond) // let batches overlap
						}
					}
					deadline := time.Now().Add(30 * time.Second)
					for rec.Stats().Written+rec.Stats().Failed < n && time.Now().Before(deadline) {
						time.Sleep(2 * time.Millisecond)
					}
					stop()
					<-done
					if st := rec.Stats(); st.Written != n || st.Failed != 0 || st.Dropped != 0 {
						t.Fatalf("stats %+v, want %d written", st, n)
					}
					if ss.most > want || (want > 1 && ss.most < 2) {
						t.Fatalf("at most %d batches written at once over %d, want %d", ss.most, ss.batches, want)
					}
					for k, id := range idents {
						aggs, err := s.UsageAggregates(ctx, id)
						if err != nil {
							t.Fatal(err)
						}
						var all int64
						for _, a := range aggs {
							if a.Dimension == steward.DimAll {
								all = a.Count
								if !a.LastSeen.Equal(latest.Add(-time.Duration(k) * time.Millisecond)) {
									t.Fatalf("%s last seen %v", id, a.LastSeen)
								}
							}
						}
						// Both runs (writers 0 and 2) add to the same identities.
						if runs := int64(slices.Index([]int{0, 2}, writers) + 1); all != runs*n/int64(len(idents)) {
							t.Fatalf("%s: %d events aggregated, want %d", id, all, runs*n/int64(len(idents)))
						}
						i, err := s.GetIdentity(ctx, id)
						if err != nil {
							t.Fatal(err)
						}
						if i.LastUsedAt == nil || !i.LastUsedAt.Equal(latest.Add(-time.Duration(k)*time.Millisecond)) {
							t.Fatalf("%s last used %v, want its latest event", id, i.LastUsedAt)
						}
					}
				})
			}
		})
	}
}
