// Package usage benchmarks the usage store's write path (the decision log
// and ingested usage): events per second written by AppendUsage in the
// recorder's batch size, on SQLite.
//
//	go test ./bench/usage -run - -bench . -benchtime 60x
package usage

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/sqlstore"
)

// events returns n events shaped like a busy estate's: 240 identities,
// each with a few sources in its own /24, a stable set of actions and
// resources, and one user agent.
func events(n int, seed uint64) []steward.UsageEvent {
	r := rand.New(rand.NewPCG(seed, 1))
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	out := make([]steward.UsageEvent, n)
	for k := range out {
		id := r.IntN(240)
		t = t.Add(time.Duration(r.IntN(2000)) * time.Microsecond)
		out[k] = steward.UsageEvent{ID: ids.New("use_", t), Time: t, Kind: steward.UsageIngest,
			IdentityID: fmt.Sprintf("nhi_%05d", id), Action: fmt.Sprintf("s3:Action%d", r.IntN(6)),
			Resource: fmt.Sprintf("arn:aws:s3:::bucket-%d/%d", id%17, r.IntN(8)),
			Source:   fmt.Sprintf("10.%d.%d.%d", id/200, id%200, 2+r.IntN(4)), UserAgent: "aws-sdk-go-v2/1.30.3 os/linux",
			Outcome: "ok", LatencyMicro: int64(r.IntN(900))}
	}
	return out
}

func BenchmarkAppendUsage(b *testing.B) {
	for _, batch := range []int{500, 4096} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "u.db"), sqlstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			evs := events(batch*b.N, 7)
			b.ResetTimer()
			for k := range b.N {
				if err := st.AppendUsage(ctx, evs[k*batch:(k+1)*batch]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// cpuTime returns the CPU time (user and system) the process has used:
// on a machine shared with other work it moves less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// decisions returns n decision-log events shaped like the authz
// benchmark's: 500 subjects (Steward identities when identities is set,
// so that the aggregates are written; otherwise an application's services,
// which are logged only), 100 resources, one policy id, the request's
// attributes.
func decisions(n int, seed uint64, identities bool) []steward.UsageEvent {
	r := rand.New(rand.NewPCG(seed, 3))
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	out := make([]steward.UsageEvent, n)
	for k := range out {
		t = t.Add(time.Duration(r.IntN(40)) * time.Microsecond)
		sub := r.IntN(500)
		out[k] = steward.UsageEvent{ID: ids.New("dec_", t), Time: t, Kind: steward.UsageDecision, Subject: fmt.Sprintf("Service:svc-%d", sub),
			Action: "write", Resource: fmt.Sprintf("Bucket:bucket-%d", r.IntN(100)), Source: "127.0.0.1", Outcome: "allow", PolicyIDs: []string{"rbac#114"},
			LatencyMicro: 100, Attributes: map[string]string{"caller": "token:tok_01m8f61ysb65bcj7z00fx4d0rr", "request_id": "5aaf5e23fbeb8ef8bd5cf98a"}}
		if identities {
			out[k].IdentityID, out[k].Subject = fmt.Sprintf("nhi_%05d", sub), fmt.Sprintf("nhi:nhi_%05d", sub)
		}
	}
	return out
}

// BenchmarkAppendDecisions writes the PDP's decision log in the
// recorder's batch size, after 100k decisions already logged (so that the
// indexes are not trivially small), and reports the write path's cost per
// decision: ns/event (wall time of AppendUsage on the benchmark's
// goroutine), cpu-ns/event (the process's user and system CPU time,
// which the machine's other load inflates less than wall time) and
// Go allocs/event (SQLite's own memory is not counted).
//
//	go test ./bench/usage -run - -bench AppendDecisions -benchtime 40x
func BenchmarkAppendDecisions(b *testing.B) {
	for _, c := range []struct {
		name       string
		identities bool
	}{{"subjects=services", false}, {"subjects=identities", true}} {
		b.Run(c.name, func(b *testing.B) { benchDecisions(b, c.identities, nil, "") })
	}
}

// BenchmarkDecisionLogVariants measures what each usage_events index and
// the page size cost a logged decision (bench/README.md): the same
// writes as BenchmarkAppendDecisions with one index dropped, or in a new
// database of 16 KiB pages. These are experiments, not configurations
// Steward runs: every index here is used by a query.
//
//	go test ./bench/usage -run - -bench DecisionLogVariants -benchtime 20x
func BenchmarkDecisionLogVariants(b *testing.B) {
	for _, c := range []struct {
		name       string
		identities bool
		drop       []string
		pageSize   string
	}{
		{"services/as-shipped", false, nil, ""},
		{"services/without=usage_events_subject", false, []string{"usage_events_subject"}, ""},
		{"services/without=usage_events_time", false, []string{"usage_events_time"}, ""},
		{"services/page_size=16384", false, nil, "16384"},
		{"identities/as-shipped", true, nil, ""},
		{"identities/without=usage_events_subject", true, []string{"usage_events_subject"}, ""},
		{"identities/without=usage_events_identity", true, []string{"usage_events_identity"}, ""},
	} {
		b.Run(c.name, func(b *testing.B) { benchDecisions(b, c.identities, c.drop, c.pageSize) })
	}
}

// benchDecisions is BenchmarkAppendDecisions, with indexes drop dropped
// and, when pageSize is set, the database created with that page size.
func benchDecisions(b *testing.B, identities bool, drop []string, pageSize string) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "d.db")
	if pageSize != "" {
		// The page size holds from the first table on, before Open's
		// migrations (and before WAL mode, which fixes it).
		db, err := sql.Open("sqlite", path)
		if err != nil {
			b.Fatal(err)
		}
		_, err = db.Exec("PRAGMA page_size = " + pageSize + "; CREATE TABLE bench_page_size (x); DROP TABLE bench_page_size")
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	st, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if pageSize != "" {
		var got string
		if err := st.DB().QueryRowContext(ctx, "PRAGMA page_size").Scan(&got); err != nil || got != pageSize {
			b.Fatalf("page size %s, want %s (%v)", got, pageSize, err)
		}
	}
	for _, ix := range drop {
		if _, err := st.DB().ExecContext(ctx, "DROP INDEX "+ix); err != nil {
			b.Fatal(err)
		}
	}
	const batch, prefill = 4096, 25
	evs := decisions(batch*(prefill+b.N), 7, identities)
	for k := range prefill {
		if err := st.AppendUsage(ctx, evs[k*batch:(k+1)*batch]); err != nil {
			b.Fatal(err)
		}
	}
	evs = evs[prefill*batch:]
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for k := range b.N {
		if err := st.AppendUsage(ctx, evs[k*batch:(k+1)*batch]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	n := float64(batch * b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/event")
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/event")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/n, "B/event")
}
