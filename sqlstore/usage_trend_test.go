package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestAuthTrendReadsThePrimaryKey checks that the dashboard's
// authentication trend is a range scan of the aggregates' primary key on
// both engines (a few rows per day), never a scan of the table or of the
// usage log.
func TestAuthTrendReadsThePrimaryKey(t *testing.T) {
	args := []string{"'usage:auth:0'", "'usage:auth:1'", "'usage:auth:2'", "'usage:auth:3'", "'auth_day'", "'2026-06-01'", "'2026-12-07'"}
	q := sqlstore.AuthTrendSQL
	for _, a := range args {
		q = strings.Replace(q, "?", a, 1)
	}
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s := eng.Store(t)
			ctx := context.Background()
			conn, err := s.DB().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			explain, want := `EXPLAIN QUERY PLAN `, "USING PRIMARY KEY|USING INDEX sqlite_autoindex_usage_aggregates"
			if eng.Name == "postgres" {
				// On an empty table the planner rightly prefers a sequential
				// scan; forbid it to see that the index serves the query.
				if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
					t.Fatal(err)
				}
				explain, want = `EXPLAIN `, "usage_aggregates_pkey"
			}
			got := sqlstore.QueryPlan(ctx, t, conn, explain+q)
			t.Logf("plan:\n%s", got)
			ok := false
			for _, w := range strings.Split(want, "|") {
				ok = ok || strings.Contains(got, w)
			}
			if !ok || strings.Contains(got, "SCAN usage_aggregates\n") || strings.HasSuffix(got, "SCAN usage_aggregates") || strings.Contains(got, "usage_events") {
				t.Errorf("plan does not range-scan the primary key:\n%s", got)
			}
		})
	}
}
