package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// txStmts prepares each statement once per transaction: imports and
// batched appends run the same few statements thousands of times, and
// SQLite would otherwise parse each one every time.
type txStmts struct {
	tx *sql.Tx
	m  map[string]*sql.Stmt
}

func newTxStmts(tx *sql.Tx) *txStmts { return &txStmts{tx: tx, m: map[string]*sql.Stmt{}} }

const maxCachedStatements = 256

func (c *txStmts) stmt(ctx context.Context, q string) (*sql.Stmt, bool) {
	if s, ok := c.m[q]; ok {
		return s, true
	}
	if len(c.m) >= maxCachedStatements {
		return nil, false
	}
	s, err := c.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, false
	}
	c.m[q] = s
	return s, true
}

func (c *txStmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s, ok := c.stmt(ctx, q); ok {
		return s.ExecContext(ctx, args...)
	}
	return c.tx.ExecContext(ctx, q, args...)
}

func (c *txStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s, ok := c.stmt(ctx, q); ok {
		return s.QueryContext(ctx, args...)
	}
	return c.tx.QueryContext(ctx, q, args...)
}

func (c *txStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s, ok := c.stmt(ctx, q); ok {
		return s.QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, q, args...)
}

func (c *txStmts) close() {
	for _, s := range c.m {
		s.Close()
	}
}

// dbStmts caches prepared statements on a connection pool for the fixed
// queries of point reads (database/sql re-prepares them per connection as
// needed).
type dbStmts struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newDBStmts(db *sql.DB) *dbStmts { return &dbStmts{db: db, m: map[string]*sql.Stmt{}} }

func (c *dbStmts) stmt(ctx context.Context, q string) (*sql.Stmt, bool) {
	c.mu.RLock()
	s, ok := c.m[q]
	c.mu.RUnlock()
	if ok {
		return s, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[q]; ok {
		return s, true
	}
	if len(c.m) >= maxCachedStatements {
		return nil, false
	}
	s, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, false
	}
	c.m[q] = s
	return s, true
}

// cached returns a statement prepared earlier, never preparing one.
func (c *dbStmts) cached(q string) (*sql.Stmt, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[q]
	return s, ok
}

func (c *dbStmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, q, args...)
}

func (c *dbStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s, ok := c.stmt(ctx, q); ok {
		return s.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, q, args...)
}

func (c *dbStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s, ok := c.stmt(ctx, q); ok {
		return s.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c *dbStmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	clear(c.m)
}
