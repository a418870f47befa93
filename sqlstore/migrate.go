package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrations embed.FS

// migrationLockID is the PostgreSQL advisory lock held while migrating.
const migrationLockID = 0x5374657761726401

type migration struct {
	version  int
	name     string
	sql      string
	checksum string
}

// commonMigrations holds the migrations written once for every engine;
// migrations/<engine> holds those that differ beyond a type name. A version
// is in one of the two folders, never both. A common file may name a type
// that differs between the engines as {{name}} (dialectTypes); the runner
// applies, and checksums, the text with the engine's type in its place, so
// the checksum of a migration is that of the SQL the engine ran, wherever
// its file lives and however it is written.
const commonMigrations = "migrations/common"

// dialectTypes are the type names a common migration writes as {{name}}.
var dialectTypes = map[Engine]*strings.Replacer{
	// int_key: a 64-bit integer primary key (on SQLite, INTEGER PRIMARY
	// KEY is the rowid). small_int: a small integer.
	SQLite:   strings.NewReplacer("{{int_key}}", "INTEGER", "{{small_int}}", "INTEGER"),
	Postgres: strings.NewReplacer("{{int_key}}", "BIGINT", "{{small_int}}", "SMALLINT"),
}

// loadMigrations reads e's migrations from fsys (the embedded files but in
// tests), in version order.
func loadMigrations(fsys fs.FS, e Engine) ([]migration, error) {
	var out []migration
	seen := map[int]string{}
	for _, dir := range []string{commonMigrations, "migrations/" + string(e)} {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("read migrations: %w", err)
		}
		for _, ent := range entries {
			name := ent.Name()
			if !strings.HasSuffix(name, ".sql") {
				continue
			}
			num, _, ok := strings.Cut(name, "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil {
				return nil, fmt.Errorf("migration %s: name must start with a number and '_'", name)
			}
			if prev, dup := seen[v]; dup {
				return nil, fmt.Errorf("migration %d is both %s and %s/%s", v, prev, dir, name)
			}
			seen[v] = dir + "/" + name
			b, err := fs.ReadFile(fsys, dir+"/"+name)
			if err != nil {
				return nil, err
			}
			text := dialectTypes[e].Replace(string(b))
			if i := strings.Index(text, "{{"); i >= 0 {
				return nil, fmt.Errorf("migration %s/%s: unknown dialect name at %q", dir, name, text[i:min(len(text), i+24)])
			}
			sum := sha256.Sum256([]byte(text))
			out = append(out, migration{version: v, name: name, sql: text, checksum: hex.EncodeToString(sum[:])})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies pending migrations, one transaction per file, and refuses
// to start when an applied migration's file has changed.
func migrate(ctx context.Context, db *sql.DB, e Engine) error { return migrateTo(ctx, db, e, 0) }

// migrateTo is migrate stopping after version upTo (0: the last); upgrade
// tests build an older schema with it.
func migrateTo(ctx context.Context, db *sql.DB, e Engine, upTo int) error {
	ms, err := loadMigrations(migrations, e)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if e == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLockID)); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLockID))
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
		if upTo > 0 && m.version > upTo {
			continue
		}
		if sum, ok := applied[m.version]; ok {
			if sum != m.checksum {
				return fmt.Errorf("migrate: migration %s was changed after it was applied (checksum %s, database has %s); refusing to start", m.name, m.checksum[:12], sum[:min(12, len(sum))])
			}
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, rebind(e, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`),
			m.version, m.name, m.checksum, time.Now().UnixMicro()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("migrate: the database has migration %d, which this binary does not know; it was written by a newer Steward", v)
		}
	}
	return nil
}

// appliedMigrations reads schema_migrations: version → checksum.
func appliedMigrations(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (map[int]string, error) {
	applied := map[int]string{}
	rows, err := q.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		applied[v] = sum
	}
	return applied, rows.Err()
}

// MigrationStatus compares a database's schema with this binary's
// migrations.
type MigrationStatus struct {
	Applied int      // migrations the database records
	Known   int      // migrations this binary carries
	Pending []string // this binary's migrations the database has not run, in order
	Changed []string // migrations applied with another text than this binary's
	Unknown []int    // versions the database ran that this binary does not know (a newer Steward)
}

// Current reports whether the schema is exactly this binary's.
func (m MigrationStatus) Current() bool {
	return len(m.Pending) == 0 && len(m.Changed) == 0 && len(m.Unknown) == 0
}

// Migrations reads the database's migration state without changing it.
func (s *Store) Migrations(ctx context.Context) (MigrationStatus, error) {
	ms, err := loadMigrations(migrations, s.engine)
	if err != nil {
		return MigrationStatus{}, err
	}
	exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if s.engine == Postgres {
		exists = `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'`
	}
	var n int
	if err := s.readDB.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return MigrationStatus{}, fmt.Errorf("read migrations: %w", err)
	}
	applied := map[int]string{}
	if n > 0 {
		if applied, err = appliedMigrations(ctx, s.readDB); err != nil {
			return MigrationStatus{}, fmt.Errorf("read migrations: %w", err)
		}
	}
	st := MigrationStatus{Applied: len(applied), Known: len(ms)}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
		sum, ok := applied[m.version]
		switch {
		case !ok:
			st.Pending = append(st.Pending, m.name)
		case sum != m.checksum:
			st.Changed = append(st.Changed, m.name)
		}
	}
	for v := range applied {
		if !known[v] {
			st.Unknown = append(st.Unknown, v)
		}
	}
	sort.Ints(st.Unknown)
	return st, nil
}
