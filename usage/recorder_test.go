package usage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/steward-nhi/steward"
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
