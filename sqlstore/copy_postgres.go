package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/steward-nhi/steward"
)

// PostgreSQL bulk writes with COPY. Every other statement goes through the
// one database/sql query layer shared with SQLite; only the bulk paths —
// an import's identities, credentials and events, and batches of usage
// events — stream their rows with the COPY protocol (pgx's CopyFrom), in
// the same transaction as the rest of the write: a write transaction on
// PostgreSQL runs on a dedicated connection (*sql.Conn), and CopyFrom runs
// on that connection's pgx handle while the transaction is open on it, so
// an import stays all-or-nothing and the chain stays linear under the
// advisory lock that AppendEvents takes first.
//
// SQLite keeps its multi-row statements.

// copyMinRows is the smallest batch written with COPY: below it, the
// multi-row INSERT (one round trip) costs no more than COPY's (describe,
// copy, its own round trips).
const copyMinRows = 64

// beginWrite starts a write transaction. On PostgreSQL it runs on a
// connection of its own, returned so that bulk writes can use COPY on it;
// release ends the transaction if it is still open (a panic) and hands
// the connection back to the pool.
func (s *Store) beginWrite(ctx context.Context) (*sql.Tx, *sql.Conn, func(), error) {
	if s.engine != Postgres {
		sqltx, err := s.writeDB.BeginTx(ctx, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		return sqltx, nil, func() {}, nil
	}
	conn, err := s.writeDB.Conn(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	sqltx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	return sqltx, conn, func() {
		// After a commit or rollback this is ErrTxDone, and harmless; the
		// connection cannot close while a transaction holds it.
		_ = sqltx.Rollback()
		conn.Close()
	}, nil
}

// copyFrom streams rows into table's columns with COPY on conn, inside
// whatever transaction is open on it.
func copyFrom(ctx context.Context, conn *sql.Conn, table string, columns []string, rows [][]any) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into %s: the connection is a %T, not pgx's", table, dc)
		}
		n, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		if err == nil && int(n) != len(rows) {
			err = fmt.Errorf("copy into %s: %d rows written of %d", table, n, len(rows))
		}
		return err
	})
}

// columnNames splits a column list constant into names.
func columnNames(columns string) []string {
	names := strings.Split(columns, ",")
	for k := range names {
		names[k] = strings.TrimSpace(names[k])
	}
	return names
}

// writeRows writes new rows into table: with COPY on PostgreSQL for a
// large batch, with multi-row INSERTs otherwise.
func (t *tx) writeRows(ctx context.Context, table, columns string, rows [][]any) error {
	if t.conn == nil || len(rows) < copyMinRows {
		return t.insertRows(ctx, table, columns, columnCount(columns), rows)
	}
	return copyFrom(ctx, t.conn, table, columnNames(columns), rows)
}

// usageStage is the session's staging table of usage batches, the slow
// path of appendUsageCopy: COPY cannot skip rows whose id is already
// stored, so a batch that repeats an id (in the batch, or one already
// stored) is copied here and moved with INSERT … SELECT … ON CONFLICT (id)
// DO NOTHING, which keeps the insert-or-ignore semantics of the per-row
// path (a repeated id is written once). Temporary, so it is per connection
// and writes no WAL; emptied at every commit.
const usageStage = `usage_events_stage`

// usageCopySavepoint guards the direct COPY of a usage batch.
const usageCopySavepoint = `usage_copy`

// appendUsageCopy is AppendUsage on PostgreSQL for a large batch. The
// events are copied straight into usage_events under a savepoint (one
// write of each row, no staging). Ids are unique (ids.New), so a conflict
// is rare: a repeated id in the batch or an id already stored (a log
// ingested twice, a batch retried after a lost commit). Then the COPY
// fails with a unique violation, the savepoint is rolled back, and the
// batch takes the staging path, which writes each id once. Any other
// error fails the batch.
func (s *Store) appendUsageCopy(ctx context.Context, evs []steward.UsageEvent) (err error) {
	sqltx, conn, release, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("append usage: %w", err)
	}
	defer release()
	rows := make([][]any, len(evs))
	for k := range evs {
		rows[k] = usageRow(&evs[k])
	}
	// In id order: two batches that share ids (a log ingested twice at
	// once) then wait for each other's rows in one order, never in a
	// cycle (40P01).
	slices.SortFunc(rows, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
	if _, err := sqltx.ExecContext(ctx, `SAVEPOINT `+usageCopySavepoint); err != nil {
		return fmt.Errorf("append usage: %w", err)
	}
	err = copyFrom(ctx, conn, "usage_events", columnNames(usageColumns), rows)
	switch {
	case err == nil:
		_, err = sqltx.ExecContext(ctx, `RELEASE SAVEPOINT `+usageCopySavepoint)
	case isPgUniqueViolation(err):
		s.usageCopyFallbacks.Add(1)
		if _, err = sqltx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT `+usageCopySavepoint); err == nil {
			err = appendUsageStaged(ctx, sqltx, conn, rows)
		}
	}
	if err != nil {
		return fmt.Errorf("append usage: %w", err)
	}
	if err := s.aggregateCopy(ctx, sqltx, conn, evs); err != nil {
		return err
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("append usage: commit: %w", err)
	}
	return nil
}

// appendUsageStaged writes rows into usage_events through the staging
// table, each id once.
func appendUsageStaged(ctx context.Context, sqltx *sql.Tx, conn *sql.Conn, rows [][]any) error {
	if _, err := sqltx.ExecContext(ctx, `CREATE TEMPORARY TABLE IF NOT EXISTS `+usageStage+` (LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("staging table: %w", err)
	}
	if err := copyFrom(ctx, conn, usageStage, columnNames(usageColumns), rows); err != nil {
		return err
	}
	_, err := sqltx.ExecContext(ctx, `INSERT INTO usage_events (`+usageColumns+`) SELECT `+usageColumns+` FROM `+usageStage+` ORDER BY id ON CONFLICT (id) DO NOTHING`)
	return err
}

// isPgUniqueViolation reports PostgreSQL's unique_violation (23505).
func isPgUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// usageRow is e's column values in usageColumns order.
func usageRow(e *steward.UsageEvent) []any {
	pol, _ := jsonText(e.PolicyIDs, "[]")
	attrs, _ := jsonText(e.Attributes, "{}")
	return []any{e.ID, micros(e.Time), e.Kind, e.IdentityID, e.CredentialID, e.Subject, e.Action, e.Resource, e.Source,
		e.UserAgent, e.Environment, e.Outcome, e.Reason, pol, e.LatencyMicro, attrs}
}

// aggregateCopy is aggregate on PostgreSQL: the batch's aggregate rows are
// copied into a staging table and merged in one statement (in key order,
// so that concurrent writers lock rows in the same order), and last-use
// times move forward a table at a time (touchLastUsed), instead of a
// statement per identity.
func (s *Store) aggregateCopy(ctx context.Context, sqltx *sql.Tx, conn *sql.Conn, evs []steward.UsageEvent) error {
	aggs, last := usageAggregates(evs)
	if len(aggs) > 0 {
		if _, err := sqltx.ExecContext(ctx, `CREATE TEMPORARY TABLE IF NOT EXISTS `+usageAggregateStage+` (LIKE usage_aggregates) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("append usage: aggregates: staging table: %w", err)
		}
		rows := make([][]any, 0, len(aggs))
		for _, a := range aggs {
			rows = append(rows, []any{a.key, a.dim, a.value, a.count, micros(a.first), micros(a.last)})
		}
		if err := copyFrom(ctx, conn, usageAggregateStage, columnNames(usageAggregateColumns), rows); err != nil {
			return fmt.Errorf("append usage: aggregates: %w", err)
		}
		if _, err := sqltx.ExecContext(ctx, `INSERT INTO usage_aggregates (`+usageAggregateColumns+`) SELECT `+usageAggregateColumns+` FROM `+
			usageAggregateStage+` ORDER BY subject_key, dimension, value`+usageAggregateMerge); err != nil {
			return fmt.Errorf("append usage: aggregates: %w", err)
		}
	}
	if err := s.touchLastUsed(ctx, sqltx, last); err != nil {
		return fmt.Errorf("append usage: %w", err)
	}
	return nil
}

// usageAggregateStage stages a batch's aggregate rows (see usageStage).
const usageAggregateStage = `usage_aggregates_stage`
