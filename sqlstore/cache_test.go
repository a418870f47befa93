package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// cacheKiB reads a SQLite connection's page-cache bound in KiB (the
// pragma answers a negative number for a size in KiB).
func cacheKiB(t *testing.T, q interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}) int {
	t.Helper()
	var n int
	if err := q.QueryRowContext(context.Background(), `PRAGMA cache_size`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return -n
}

// TestSQLitePageCachesAreBounded: the writer's and each reader's page
// cache are bounded, a bulk write transaction raises the writer's for its
// own duration only, whether it commits or fails, and a small batch
// leaves it alone.
func TestSQLitePageCachesAreBounded(t *testing.T) {
	ctx := context.Background()
	s, err := OpenDataDir(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if got := cacheKiB(t, s.writeDB); got != writeCacheKiB {
		t.Fatalf("writer cache %d KiB, want %d", got, writeCacheKiB)
	}
	// Hold every reader at once so that each connection is asked.
	var conns []*sql.Conn
	for range readConns {
		c, err := s.readDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if got := cacheKiB(t, c); got != readCacheKiB {
			t.Fatalf("reader cache %d KiB, want %d", got, readCacheKiB)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		rows   int
		fail   error
		during int
	}{
		{"a bulk batch that commits raises it", minDeferRows, nil, bulkCacheKiB},
		{"a bulk batch that fails raises it", 2 * minDeferRows, boom, bulkCacheKiB},
		{"a small batch leaves it", minDeferRows - 1, nil, writeCacheKiB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var during int
			err := s.update(ctx, func(tx *tx) error {
				if _, err := tx.DeferIndexes(ctx, "identities", tc.rows); err != nil {
					return err
				}
				// twice: the second call must not raise it again or fail
				if _, err := tx.DeferIndexes(ctx, "identities", tc.rows); err != nil {
					return err
				}
				during = cacheKiB(t, tx.sqltx)
				return tc.fail
			})
			if !errors.Is(err, tc.fail) {
				t.Fatalf("update: %v, want %v", err, tc.fail)
			}
			if during != tc.during {
				t.Fatalf("cache during the transaction %d KiB, want %d", during, tc.during)
			}
			if got := cacheKiB(t, s.writeDB); got != writeCacheKiB {
				t.Fatalf("writer cache after the transaction %d KiB, want %d restored", got, writeCacheKiB)
			}
		})
	}
}
