package usage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/sqlstore"
)

// authEvents returns n successful authentications over the 182 days
// before 2026-11-01: 240 identities in three environments, a third of
// them with exchanged tokens.
func authEvents(n int, seed uint64) []steward.UsageEvent {
	r := rand.New(rand.NewPCG(seed, 5))
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	span := int64(182 * 24 * time.Hour)
	envs := []string{"prod", "staging", "dev"}
	out := make([]steward.UsageEvent, n)
	for k := range out {
		id := r.IntN(240)
		t := end.Add(-time.Duration(span) + time.Duration(int64(k)*span/int64(n)))
		out[k] = steward.UsageEvent{ID: ids.New("use_", t) + fmt.Sprint(k), Time: t, Kind: steward.UsageAuth, Action: "authenticate",
			IdentityID: fmt.Sprintf("nhi_%05d", id), CredentialID: fmt.Sprintf("crd_%05d", id), Environment: envs[id%3],
			Source: fmt.Sprintf("10.%d.%d.%d", id/200, id%200, 2+r.IntN(4)), UserAgent: "steward-client/1", Outcome: "ok", LatencyMicro: 40}
		if id%3 == 0 {
			out[k].Attributes = map[string]string{"federated_iss": "https://k8s.example.com", "federated_sub": "system:serviceaccount:prod:x"}
		}
	}
	return out
}

// BenchmarkAppendAuth writes authentications (the events the
// authentication trend counts) in the recorder's batch size.
//
//	go test ./bench/usage -run - -bench AppendAuth -benchtime 100x
func BenchmarkAppendAuth(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "a.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const batch = 500
	evs := authEvents(batch*b.N, 11)
	b.ResetTimer()
	for k := range b.N {
		if err := st.AppendUsage(ctx, evs[k*batch:(k+1)*batch]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAuthTrend reads the dashboard's 26 weeks of the trend from a
// log of 200,000 authentications, and, for comparison, counts the same
// from the usage log itself. (The parent runs once; the sub-benchmarks
// share its store.)
//
//	go test ./bench/usage -run - -bench AuthTrend -benchtime 10x
func BenchmarkAuthTrend(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "t.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	evs := authEvents(200_000, 13)
	for k := 0; k < len(evs); k += 4096 {
		if err := st.AppendUsage(ctx, evs[k:min(k+4096, len(evs))]); err != nil {
			b.Fatal(err)
		}
	}
	to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	from := to.Add(-26 * 7 * 24 * time.Hour)
	b.Run("aggregates", func(b *testing.B) {
		for range b.N {
			days, err := st.AuthTrend(ctx, from, to)
			if err != nil || len(days) == 0 {
				b.Fatal(days, err)
			}
		}
	})
	b.Run("usage log scan", func(b *testing.B) {
		for range b.N {
			rows, err := st.DB().QueryContext(ctx, `SELECT time / 86400000000, environment, attributes LIKE '%"federated_iss"%', COUNT(*)
				FROM usage_events WHERE kind = 'auth' AND outcome = 'ok' AND time >= ? AND time < ? GROUP BY 1, 2, 3`, from.UnixMicro(), to.UnixMicro())
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if n == 0 {
				b.Fatal("no rows")
			}
		}
	})
}
