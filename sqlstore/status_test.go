package sqlstore

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// inspectEngines opens one raw database per engine: a SQLite file, and a
// fresh PostgreSQL schema when the test server is configured.
func inspectEngines(t *testing.T) map[string]func(t *testing.T) (dsn string, db *sql.DB, e Engine) {
	out := map[string]func(t *testing.T) (string, *sql.DB, Engine){
		"sqlite": func(t *testing.T) (string, *sql.DB, Engine) {
			path := filepath.Join(t.TempDir(), "steward.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return path, db, SQLite
		},
	}
	if testPostgresURL() != "" {
		out["postgres"] = func(t *testing.T) (string, *sql.DB, Engine) {
			u := freshSchema(t)
			db, err := sql.Open("pgx", u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return u, db, Postgres
		}
	}
	return out
}

func TestMigrationsReportsTheSchemaWithoutChangingIt(t *testing.T) {
	ctx := context.Background()
	for name, open := range inspectEngines(t) {
		t.Run(name, func(t *testing.T) {
			dsn, db, e := open(t)
			all, err := loadMigrations(migrations, e)
			if err != nil {
				t.Fatal(err)
			}
			inspect := func() MigrationStatus {
				t.Helper()
				s, err := Open(ctx, dsn, Options{Inspect: true})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				st, err := s.Migrations(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}

			st := inspect()
			if st.Applied != 0 || len(st.Pending) != len(all) || st.Current() {
				t.Fatalf("empty database: %+v", st)
			}
			if st2 := inspect(); st2.Applied != 0 {
				t.Fatalf("inspecting applied migrations: %+v", st2)
			}

			if err := migrateTo(ctx, db, e, 8); err != nil {
				t.Fatal(err)
			}
			st = inspect()
			if st.Applied != 8 || len(st.Pending) != len(all)-8 || st.Pending[0] != all[8].name {
				t.Fatalf("at migration 8: %+v", st)
			}

			if err := migrate(ctx, db, e); err != nil {
				t.Fatal(err)
			}
			if st = inspect(); !st.Current() || st.Applied != len(all) {
				t.Fatalf("migrated: %+v", st)
			}

			if _, err := db.ExecContext(ctx, `UPDATE schema_migrations SET checksum = 'x' WHERE version = 2`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'y', 0)`); err != nil {
				t.Fatal(err)
			}
			st = inspect()
			if st.Current() || len(st.Changed) != 1 || st.Changed[0] != all[1].name || len(st.Unknown) != 1 || st.Unknown[0] != 9999 {
				t.Fatalf("changed and unknown: %+v", st)
			}
		})
	}
}

func TestDatabaseTimeIsTheServersClock(t *testing.T) {
	ctx := context.Background()
	for name, open := range inspectEngines(t) {
		t.Run(name, func(t *testing.T) {
			dsn, _, _ := open(t)
			s, err := Open(ctx, dsn, Options{Inspect: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := s.DatabaseTime(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The database runs on this machine: its clock is this one's,
			// and a unit mistake (seconds for microseconds) is years off.
			if d := time.Since(got); d < -time.Minute || d > time.Minute {
				t.Fatalf("database time %s, local %s", got, time.Now().UTC())
			}
		})
	}
}

func testPostgresURL() string { return os.Getenv("STEWARD_TEST_POSTGRES_URL") }

// freshSchema returns a URL to a new schema on the test server, dropped
// after the test (sqltest does the same, but imports this package).
func freshSchema(t *testing.T) string {
	t.Helper()
	admin, err := sql.Open("pgx", testPostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	schema := "t_status_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(testPostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
