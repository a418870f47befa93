// Package sqltest opens real, empty stores for tests: SQLite in a temporary
// directory, and PostgreSQL in a fresh schema when STEWARD_TEST_POSTGRES_URL
// names a server.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore"
)

// PostgresEnv names the variable holding a PostgreSQL URL for tests.
const PostgresEnv = "STEWARD_TEST_POSTGRES_URL"

// Base is a fixed time for test data.
var Base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// OpenSQLite returns a store on a new SQLite file.
func OpenSQLite(t testing.TB) steward.Store { return SQLite(t) }

// SQLite returns a store on a new SQLite file, with every capability.
func SQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "steward.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL returns a URL to a new, empty schema on the test server, or
// skips the test when no server is configured. The schema is dropped after
// the test.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s not set", PostgresEnv)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres returns a store on a new schema of the test server.
func OpenPostgres(t testing.TB) steward.Store { return Postgres(t) }

// Postgres returns a store on a new schema of the test server, with every
// capability.
func Postgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), PostgresURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Engine is one database engine to run a test on.
type Engine struct {
	Name string
	Open func(t testing.TB) steward.Store
	// Store opens the same store with its concrete type, which implements
	// every capability's store.
	Store func(t testing.TB) *sqlstore.Store
}

// Engines returns SQLite, and PostgreSQL when configured.
func Engines(t testing.TB) []Engine {
	out := []Engine{{"sqlite", OpenSQLite, SQLite}}
	if os.Getenv(PostgresEnv) != "" {
		out = append(out, Engine{"postgres", OpenPostgres, Postgres})
	}
	return out
}
