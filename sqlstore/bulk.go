package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/steward-nhi/steward"
)

// Bulk writes: a large import writes its new identities, credentials and
// events with multi-row statements (a few hundred rows per round trip)
// instead of one statement per row, which is most of an import's cost on
// PostgreSQL and a good part of it on SQLite.

// valueRows is "(?,…),(?,…)…": rows rows of cols placeholders.
func valueRows(cols, rows int) string {
	return strings.TrimSuffix(strings.Repeat("("+placeholders(cols)+"),", rows), ",")
}

// multiRowSQL is an INSERT of rows rows of cols columns.
func multiRowSQL(e Engine, table, columns string, cols, rows int) string {
	return rebind(e, `INSERT INTO `+table+` (`+columns+`) VALUES `+valueRows(cols, rows))
}

// insertRows writes rows (each a full argument list of cols values) in
// statements of batchPlan sizes.
func (t *tx) insertRows(ctx context.Context, table, columns string, cols int, rows [][]any) error {
	for _, size := range batchPlan(len(rows)) {
		chunk := rows[:size]
		rows = rows[size:]
		args := make([]any, 0, cols*size)
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := t.q.ExecContext(ctx, multiRowSQL(t.d, table, columns, cols, size), args...); err != nil {
			return err
		}
	}
	return nil
}

func columnCount(columns string) int { return strings.Count(columns, ",") + 1 }

// CreateIdentities inserts new identities in multi-row statements.
func (t *tx) CreateIdentities(ctx context.Context, is []*steward.Identity) error {
	rows := make([][]any, 0, len(is))
	for _, i := range is {
		args, err := identityArgs(i)
		if err != nil {
			return fmt.Errorf("create identities: %w", err)
		}
		rows = append(rows, args)
	}
	err := t.writeRows(ctx, "identities", identityColumns, rows)
	switch {
	case isUniqueViolation(err):
		return steward.Errorf(steward.ECONFLICT, "an identity of this batch has the provider and external_ref of an existing identity")
	case isForeignKeyViolation(err):
		return steward.FieldError("owner_id", "an identity of this batch names an owner that does not exist")
	case err != nil:
		return fmt.Errorf("create identities: %w", err)
	}
	return nil
}

// CreateCredentials inserts new credentials in multi-row statements.
func (t *tx) CreateCredentials(ctx context.Context, cs []*steward.Credential) error {
	rows := make([][]any, 0, len(cs))
	for _, c := range cs {
		args, err := credentialArgs(c)
		if err != nil {
			return fmt.Errorf("create credentials: %w", err)
		}
		rows = append(rows, args)
	}
	err := t.writeRows(ctx, "credentials", credentialColumns, rows)
	switch {
	case isForeignKeyViolation(err):
		return steward.FieldError("identity_id", "a credential of this batch names an identity that does not exist")
	case err != nil:
		return fmt.Errorf("create credentials: %w", err)
	}
	return nil
}

// AppendEvents appends events to the chain in order, as AppendEvent does
// one by one, with multi-row statements.
func (t *tx) AppendEvents(ctx context.Context, es []*steward.Event) error {
	if len(es) == 0 {
		return nil
	}
	if err := t.loadHead(ctx); err != nil {
		return err
	}
	seq, head := t.headSeq, t.headHash
	rows := make([][]any, 0, len(es))
	for _, e := range es {
		args, err := chainEvent(e, seq+1, head)
		if err != nil {
			return err
		}
		seq, head = e.Seq, e.EntryHash
		rows = append(rows, args)
	}
	if err := t.writeRows(ctx, "events", eventColumns, rows); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	t.headSeq, t.headHash = seq, head
	return nil
}

// FindIdentitiesByRefs returns the identities of provider with these
// external references, keyed by reference; references with no identity
// are absent.
func (r *reader) FindIdentitiesByRefs(ctx context.Context, provider string, refs []string) (map[string]*steward.Identity, error) {
	out := make(map[string]*steward.Identity, len(refs))
	err := inChunks(refs, 500, func(c []string) error {
		rows, err := r.q.QueryContext(ctx, rebind(r.d, `SELECT `+identityColumns+` FROM identities WHERE provider = ? AND external_ref IN (`+placeholders(len(c))+`)`),
			append([]any{provider}, anySlice(c)...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			i, err := scanIdentity(rows)
			if err != nil {
				return err
			}
			out[i.ExternalRef] = i
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find identities: %w", err)
	}
	return out, nil
}

// DeferIndexes drops table's secondary indexes for the rest of this
// transaction when newRows is at least as many as the table holds (and
// at least minDeferRows): the transaction writes the rows without
// maintaining them, and the store rebuilds them, from the definitions it
// read, just before it commits. Building an index in one sorted pass is
// several times cheaper than inserting as many entries in random places
// (imported creation times, names and references arrive unordered). Unique
// indexes stay, so conflicts are still found as rows are written. Readers
// keep their snapshot with the old indexes until the commit; if the
// transaction fails, the rollback restores them. SQLite only: PostgreSQL
// writes the multi-row statements fast enough as they are.
//
// Any batch of at least minDeferRows also raises the SQLite writer's page
// cache (bounded at writeCacheKiB for everyday writes) to bulkCacheKiB for
// the rest of the transaction; the store restores the bound afterwards.
func (t *tx) DeferIndexes(ctx context.Context, table string, newRows int) (bool, error) {
	if t.d != SQLite || newRows < minDeferRows {
		return false, nil
	}
	if err := t.raiseWriteCache(ctx); err != nil {
		return false, err
	}
	if t.deferred[table] {
		return false, nil
	}
	var rows int64
	// The largest rowid bounds the row count without a scan.
	if err := t.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(rowid), 0) FROM `+table).Scan(&rows); err != nil {
		return false, fmt.Errorf("defer indexes of %s: %w", table, err)
	}
	if int64(newRows) < rows {
		return false, nil
	}
	list, err := t.q.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' AND sql NOT LIKE '% WHERE %' ORDER BY name`, table)
	if err != nil {
		return false, fmt.Errorf("defer indexes of %s: %w", table, err)
	}
	var names, defs []string
	for list.Next() {
		var name, def string
		if err := list.Scan(&name, &def); err != nil {
			list.Close()
			return false, fmt.Errorf("defer indexes of %s: %w", table, err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	list.Close()
	if err := list.Err(); err != nil {
		return false, fmt.Errorf("defer indexes of %s: %w", table, err)
	}
	for _, name := range names {
		if _, err := t.sqltx.ExecContext(ctx, `DROP INDEX `+name); err != nil {
			return false, fmt.Errorf("defer indexes of %s: %w", table, err)
		}
	}
	if t.deferred == nil {
		t.deferred = map[string]bool{}
	}
	t.deferred[table] = true
	t.rebuild = append(t.rebuild, defs...)
	return true, nil
}

// minDeferRows is the smallest batch worth rebuilding indexes for.
const minDeferRows = 5000

// rebuildIndexes recreates the indexes DeferIndexes dropped.
func (t *tx) rebuildIndexes(ctx context.Context) error {
	for _, def := range t.rebuild {
		if _, err := t.sqltx.ExecContext(ctx, def); err != nil {
			return fmt.Errorf("rebuild index: %w", err)
		}
	}
	t.rebuild = nil
	return nil
}
