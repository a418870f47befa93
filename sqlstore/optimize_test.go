package sqlstore_test

import (
	"context"
	"testing"

	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestOptimizeAnalysesTheImportTablesOnly checks that the statistics
// refresh after an import analyses the inventory tables an import fills,
// and not the rest of the database (a bare ANALYZE sampled every table of every
// schema, the usage log included, on the import's clock).
func TestOptimizeAnalysesTheImportTablesOnly(t *testing.T) {
	s := sqltest.Postgres(t)
	ctx := context.Background()
	if err := s.Optimize(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		table    string
		analysed bool
	}{
		{"identities", true},
		{"credentials", true},
		{"events", false}, // left to autovacuum (see importTables)
		{"usage_events", false},
		{"usage_aggregates", false},
		{"owners", false},
	} {
		t.Run(c.table, func(t *testing.T) {
			// reltuples is -1 until a table is first analysed (or
			// vacuumed), and is set in the analysing transaction.
			var tuples float64
			if err := s.DB().QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)`, c.table).Scan(&tuples); err != nil {
				t.Fatal(err)
			}
			if analysed := tuples >= 0; analysed != c.analysed {
				t.Fatalf("analysed: %v (reltuples %v), want %v", analysed, tuples, c.analysed)
			}
		})
	}
}
