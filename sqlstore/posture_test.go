package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

func TestUsageForReadsAggregates(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Store(t)
			ctx := context.Background()
			at := sqltest.Base.UnixMicro()
			for _, r := range []struct{ key, dim, val string }{
				{"nhi_a", "all", ""}, {"nhi_a", "action", "s3:GetObject"}, {"nhi_a", "source", "10.0.0.1"}, {"nhi_a", "environment", "prod"},
				{"nhi_a", "user_agent", "Mozilla/5.0"}, {"nhi_b", "action", "x"},
			} {
				if _, err := s.DB().Exec(s.Rebind(`INSERT INTO usage_aggregates (subject_key, dimension, value, count, first_seen, last_seen) VALUES (?,?,?,?,?,?)`),
					r.key, r.dim, r.val, 3, at, at); err != nil {
					t.Fatal(err)
				}
			}
			m, err := s.UsageFor(ctx, []string{"nhi_a"})
			if err != nil {
				t.Fatal(err)
			}
			u := m["nhi_a"]
			if u == nil || u.Total != 3 || !u.LastSeen.Equal(sqltest.Base) || u.Actions["s3:GetObject"].Count != 3 || len(u.Sources) != 1 ||
				len(u.Environments) != 1 || len(u.UserAgents) != 1 || m["nhi_b"] != nil {
				t.Fatalf("usage %+v", m)
			}
			var many []string
			for n := range 100 {
				many = append(many, "nhi_"+string(rune('a'+n%26))+time.Duration(n).String())
			}
			many = append(many, "nhi_a", "nhi_b")
			sortStrings(many)
			m, _ = s.UsageFor(ctx, many)
			if len(m) != 2 {
				t.Fatalf("range read found %d", len(m))
			}
		})
	}
}

func sortStrings(s []string) { slices.Sort(s) }
