package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/storetest"
)

// TestConformance runs every part of the store suite on SQLite, and on
// PostgreSQL when STEWARD_TEST_POSTGRES_URL names a server.
func TestConformance(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("inventory", func(t *testing.T) { storetest.Run(t, e.Store) })
			t.Run("audit", func(t *testing.T) { storetest.RunAudit(t, e.Store) })
			t.Run("broker", func(t *testing.T) { storetest.RunBroker(t, e.Store) })
			t.Run("authz", func(t *testing.T) { storetest.RunAuthz(t, e.Store) })
			t.Run("alerts", func(t *testing.T) { storetest.RunAlerts(t, e.Store) })
			t.Run("posture", func(t *testing.T) { storetest.RunPosture(t, e.Store) })
			t.Run("discovery", func(t *testing.T) { storetest.RunDiscovery(t, e.Store) })
			t.Run("web", func(t *testing.T) { storetest.RunWeb(t, e.Store) })
			t.Run("federation", func(t *testing.T) { storetest.RunFederation(t, e.Store) })
			t.Run("rotation", func(t *testing.T) { storetest.RunRotation(t, e.Store) })
		})
	}
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlstore.OpenDataDir(context.Background(), filepath.Join(dir, "data"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{filepath.Join(dir, "data"), filepath.Join(dir, "data", "steward.db")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", p, got, want)
		}
	}
}

func TestMigrationsAreIdempotentAndChecked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Reopening applies nothing and succeeds.
	s, err = sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if _, err := s.DB().Exec(`UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlstore.Open(ctx, path, sqlstore.Options{})
	if err == nil || !strings.Contains(err.Error(), "was changed after it was applied") {
		t.Fatalf("open with a changed migration: %v", err)
	}
}

func TestSQLiteUsesWALAndForeignKeys(t *testing.T) {
	db := sqltest.SQLite(t).DB()
	var mode string
	var fk int
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v", fk, err)
	}
}

func TestConcurrentAppendsKeepTheChainLinear(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s := eng.Open(t)
			ctx := context.Background()
			const workers, each = 4, 25
			errs := make(chan error, workers)
			for w := 0; w < workers; w++ {
				go func() {
					var err error
					for n := 0; n < each && err == nil; n++ {
						err = s.Update(ctx, func(tx steward.Tx) error {
							return tx.AppendEvent(ctx, &steward.Event{ID: ids.New(ids.Event, sqltest.Base), Time: sqltest.Base, Actor: fmt.Sprint("w", w), Action: "test"})
						})
					}
					errs <- err
				}()
			}
			for w := 0; w < workers; w++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			checkChain(t, s, workers*each)
		})
	}
}

func checkChain(t *testing.T, s steward.Store, want int) {
	t.Helper()
	prev := steward.GenesisHash
	f := steward.EventFilter{Ascending: true, Limit: steward.MaxLimit}
	n := 0
	for {
		page, err := s.ListEvents(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			n++
			h, _ := e.ComputeHash()
			if e.Seq != int64(n) || e.PrevHash != prev || h != e.EntryHash {
				t.Fatalf("chain broken at seq %d", e.Seq)
			}
			prev = e.EntryHash
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if n != want {
		t.Fatalf("%d events, want %d", n, want)
	}
}
