// Package sqlstore is Steward's Store on SQLite (embedded, the default) and
// PostgreSQL (several nodes): the queries are written once with '?'
// placeholders and rebound per engine by a small dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/steward-nhi/steward"
)

// Engine names a database engine.
type Engine string

// Engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Store implements steward.Store over database/sql.
type Store struct {
	reader
	engine  Engine
	writeDB *sql.DB
	readDB  *sql.DB
	// Observe, if set, is called with each operation's name and duration.
	observe   func(op string, d time.Duration, err error)
	readStmts *dbStmts
	// writeStmts holds statements prepared on the write pool (batches).
	writeStmts *dbStmts
	// usageCopyFallbacks counts usage batches whose direct COPY met a
	// repeated id and were written through the staging table instead.
	usageCopyFallbacks atomic.Int64
	// ckpt copies SQLite's WAL into the database file off the write path
	// (checkpoint.go); nil on PostgreSQL and on an Inspect store.
	ckpt *checkpointer
}

var _ steward.Store = (*Store)(nil)

// Options configure Open.
type Options struct {
	// Observe receives each store operation's duration (metrics).
	Observe func(op string, d time.Duration, err error)
	// Inspect opens the database as it is, applying no migration (steward
	// doctor reads Migrations instead). Only reads are meant on such a store.
	Inspect bool
}

// Open opens the database named by dsn — a postgres:// or postgresql:// URL,
// or a SQLite file path — and applies pending migrations.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn, opts)
	}
	return openSQLite(ctx, dsn, opts)
}

// OpenDataDir opens (creating it if needed) the SQLite database in dir.
func OpenDataDir(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	return openSQLite(ctx, filepath.Join(dir, "steward.db"), opts)
}

// SQLite page caches, per connection, in KiB. SQLite grows a connection's
// cache up to its bound and keeps it, so the bounds are the steady memory
// of a busy server: one writer plus eight readers. The readers map the
// database file (mmap) and need a cache only for pages still in the WAL.
// A bulk write (DeferIndexes with a large batch) raises the writer's cache
// to bulkCacheKiB for its transaction, and the store puts it back after.
const (
	writeCacheKiB = 32 << 10
	readCacheKiB  = 4 << 10
	bulkCacheKiB  = 256 << 10
	readConns     = 8
)

func openSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	// Create the file with 0600 before the driver does (it would use 0644).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database file %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("restrict database file %s: %w", path, err)
	}
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	w, err := sql.Open("sqlite", u+"?"+pragmas+fmt.Sprintf("&_pragma=cache_size(-%d)", writeCacheKiB)+"&_pragma=temp_store(MEMORY)"+fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", backstopPages)+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", u+"?"+pragmas+"&_pragma=query_only(1)"+fmt.Sprintf("&_pragma=cache_size(-%d)", readCacheKiB)+"&_pragma=mmap_size(268435456)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	r.SetConnMaxLifetime(0)
	s := &Store{engine: SQLite, writeDB: w, readDB: r, observe: opts.Observe}
	s.readStmts = newDBStmts(r)
	s.writeStmts = newDBStmts(w)
	s.reader = reader{q: s.readStmts, d: s.engine, observe: opts.Observe}
	if opts.Inspect {
		return s, nil
	}
	if err := migrate(ctx, w, SQLite); err != nil {
		s.Close()
		return nil, err
	}
	s.prepareUsage(ctx)
	if s.ckpt, err = startCheckpointer(u+"?"+pragmas, checkpointEvery); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: checkpointer: %w", path, err)
	}
	// Keep the planner's statistics current (cheap; only analyses tables
	// whose statistics are stale).
	if _, err := w.ExecContext(ctx, `PRAGMA optimize=0x10002`); err != nil {
		s.Close()
		return nil, fmt.Errorf("optimize: %w", err)
	}
	// Keep the WAL and shared-memory files private too.
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			_ = os.Chmod(path+suffix, 0o600)
		}
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	s := &Store{engine: Postgres, writeDB: db, readDB: db, observe: opts.Observe}
	s.readStmts = newDBStmts(db)
	s.writeStmts = newDBStmts(db)
	s.reader = reader{q: s.readStmts, d: s.engine, observe: opts.Observe}
	if opts.Inspect {
		return s, nil
	}
	if err := migrate(ctx, db, Postgres); err != nil {
		db.Close()
		return nil, err
	}
	s.prepareUsage(ctx)
	return s, nil
}

// WriteConcurrency is how many usage batches may be written at once:
// PostgreSQL runs concurrent write transactions (a batch's time is mostly
// the server's index maintenance, which a second writer overlaps with the
// first's round trips and commit), SQLite has one write connection.
func (s *Store) WriteConcurrency() int {
	if s.engine == Postgres {
		return 2
	}
	return 1
}

// UsageCopyFallbacks returns how many usage batches met a repeated id in
// their direct COPY and were written through the staging table instead
// (PostgreSQL; always 0 on SQLite).
func (s *Store) UsageCopyFallbacks() int64 { return s.usageCopyFallbacks.Load() }

// Engine reports the store's database engine.
func (s *Store) Engine() Engine { return s.engine }

// Rebind writes the '?' placeholders of q as this store's engine wants
// them, for tools and tests that run their own SQL on DB.
func (s *Store) Rebind(q string) string { return rebind(s.engine, q) }

// DB returns the write handle (tests and tools that inspect the database).
func (s *Store) DB() *sql.DB { return s.writeDB }

// Close closes the database handles.
func (s *Store) Close() error {
	var err error
	if s.ckpt != nil {
		err = s.ckpt.stop()
	}
	if s.readStmts != nil {
		s.readStmts.close()
	}
	if s.writeStmts != nil {
		s.writeStmts.close()
	}
	err = errors.Join(err, s.writeDB.Close())
	if s.readDB != s.writeDB {
		err = errors.Join(err, s.readDB.Close())
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.writeDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// DatabaseTime returns the database server's clock (steward doctor compares
// it with this host's: token lifetimes and expiry sweeps assume they agree).
func (s *Store) DatabaseTime(ctx context.Context) (time.Time, error) {
	q := `SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)`
	if s.engine == SQLite {
		q = `SELECT CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)`
	}
	var us int64
	if err := s.readDB.QueryRowContext(ctx, q).Scan(&us); err != nil {
		return time.Time{}, fmt.Errorf("read the database clock: %w", err)
	}
	return fromMicros(us), nil
}

// Update runs fn in one write transaction.
func (s *Store) Update(ctx context.Context, fn func(tx steward.Tx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

// update runs fn in one write transaction on the store's own transaction
// type, which implements every capability's Tx: the typed Update* methods
// hand it on as theirs.
func (s *Store) update(ctx context.Context, fn func(t *tx) error) (err error) {
	start := time.Now()
	defer func() {
		if s.observe != nil {
			s.observe("update", time.Since(start), err)
		}
	}()
	sqltx, conn, release, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer release()
	stmts := newTxStmts(sqltx)
	t := &tx{reader: reader{q: stmts, d: s.engine}, sqltx: sqltx, conn: conn}
	defer func() {
		if t.insertEvent != nil {
			t.insertEvent.Close()
		}
		stmts.close()
		if t.bulkCache {
			// After the commit or rollback, on the same (only) connection.
			_ = sqltx.Rollback()
			s.restoreWriteCache(ctx)
		}
	}()
	if err := fn(t); err != nil {
		_ = sqltx.Rollback()
		return err
	}
	if err := t.rebuildIndexes(ctx); err != nil {
		_ = sqltx.Rollback()
		return err
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// raiseWriteCache gives the rest of a bulk SQLite write transaction the
// larger page cache; update restores the bound when the transaction ends.
func (t *tx) raiseWriteCache(ctx context.Context) error {
	if t.d != SQLite || t.bulkCache {
		return nil
	}
	if _, err := t.sqltx.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", bulkCacheKiB)); err != nil {
		return fmt.Errorf("raise the write cache: %w", err)
	}
	t.bulkCache = true
	return nil
}

// restoreWriteCache puts the writer's cache back to its bound after a
// bulk transaction (committed or not), shrinking it: SQLite frees the
// pages above the new bound. The write pool holds one connection, the
// one the transaction used.
func (s *Store) restoreWriteCache(ctx context.Context) {
	_, err := s.writeDB.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA cache_size = -%d", writeCacheKiB))
	if err != nil && s.observe != nil {
		s.observe("restore_write_cache", 0, err)
	}
}

// Optimize refreshes the query planner's statistics after a bulk import.
// On PostgreSQL it analyses only the inventory tables an import fills, and
// only the columns that queries filter, join or sort on: a bare ANALYZE
// samples every table of the database, in every schema (the usage log,
// other tenants' schemas), and every column, the events' before and after
// documents included, on the import's clock.
func (s *Store) Optimize(ctx context.Context) error {
	q := `ANALYZE ` + importTables
	if s.engine == SQLite {
		q = `PRAGMA optimize`
	}
	if _, err := s.writeDB.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	return nil
}

// importTables are the inventory tables an import fills (owners are only
// read), with the columns that queries select rows by. The events an
// import appends are left to autovacuum, like every other append to the
// chain: their reads go through indexes on equality (identity, subject,
// actor, action) or a time range, which fresh statistics do not change,
// and sampling the wide event rows was 60 % of the refresh.
const importTables = `identities (name, kind, provider, external_ref, owner_id, team, environment, sensitivity, source, status,
		created_at, expires_at, last_rotated_at, last_used_at),
	credentials (identity_id, type, external_ref, fingerprint, status, created_at, expires_at, last_rotated_at, client_id)`

// TouchToken records a token's last use.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.writeDB.ExecContext(ctx, rebind(s.engine, `UPDATE operator_tokens SET last_used_at = ? WHERE id = ?`), micros(at), id)
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// querier is what reads need of *sql.DB and *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// rebind turns '?' placeholders into PostgreSQL's $n.
func rebind(e Engine, q string) string {
	if e != Postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// jsonText encodes v as JSON text for a column, writing empty ("[]" or
// "{}") where v is nil so that the column is never JSON null.
func jsonText(v any, empty string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if string(b) == "null" {
		return empty, nil
	}
	return string(b), nil
}

func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().UnixMicro()
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func notFound(what, id string) error {
	return steward.Errorf(steward.ENOTFOUND, "%s %q not found", what, id)
}

// isUniqueViolation reports a unique-constraint failure on either engine.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// isForeignKeyViolation reports a foreign-key failure on either engine.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "FOREIGN KEY constraint failed") || strings.Contains(msg, "SQLSTATE 23503")
}
