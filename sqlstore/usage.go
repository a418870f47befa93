package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

var _ steward.UsageStore = (*Store)(nil)

const usageColumns = `id, time, kind, identity_id, credential_id, subject, action, resource, source, user_agent, environment,
	outcome, reason, policy_ids, latency_us, attributes`

const usageColumnCount = 16

// AppendUsage inserts events, updates the per-subject aggregates and moves
// identities' last_used_at forward, in one transaction.
func (s *Store) AppendUsage(ctx context.Context, evs []steward.UsageEvent) (err error) {
	if len(evs) == 0 {
		return nil
	}
	start := time.Now()
	defer func() {
		if s.observe != nil {
			s.observe("append_usage", time.Since(start), err)
		}
	}()
	if s.engine == Postgres && len(evs) >= copyMinRows {
		return s.appendUsageCopy(ctx, evs)
	}
	sqltx, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append usage: %w", err)
	}
	defer func() {
		if err != nil {
			_ = sqltx.Rollback()
		}
	}()
	rest := evs
	var j usageJSON
	offs := make([]int, 0, 4*batchSizes[0])
	args := make([]any, 0, usageColumnCount*batchSizes[0])
	for _, size := range batchPlan(len(evs)) {
		chunk := rest[:size]
		rest = rest[size:]
		// The chunk's JSON columns in one buffer and one string: each
		// event's are substrings of it, not allocations of their own.
		j.buf, offs = j.buf[:0], offs[:0]
		for _, e := range chunk {
			ps, pe := j.list(e.PolicyIDs)
			as, ae := j.object(e.Attributes)
			offs = append(offs, ps, pe, as, ae)
		}
		all := string(j.buf)
		args = args[:0]
		for k, e := range chunk {
			o := offs[4*k : 4*k+4]
			args = append(args, e.ID, micros(e.Time), e.Kind, e.IdentityID, e.CredentialID, e.Subject, e.Action, e.Resource, e.Source,
				e.UserAgent, e.Environment, e.Outcome, e.Reason, jsonColumn(all, o[0], o[1], "[]"), e.LatencyMicro, jsonColumn(all, o[2], o[3], "{}"))
		}
		if _, err = s.execBatch(ctx, sqltx, usageInsertSQL(s.engine, len(chunk)), args); err != nil {
			return fmt.Errorf("append usage: %w", err)
		}
	}
	if err = s.aggregate(ctx, sqltx, evs); err != nil {
		return err
	}
	if err = sqltx.Commit(); err != nil {
		return fmt.Errorf("append usage: commit: %w", err)
	}
	return nil
}

type aggKey struct{ key, dim, value string }

// aggRow is one aggregate row of a batch: a key's count and time span.
type aggRow struct {
	aggKey
	count       int64
	first, last time.Time
}

func (s *Store) aggregate(ctx context.Context, sqltx *sql.Tx, evs []steward.UsageEvent) error {
	rows, last := usageAggregates(evs)
	args := make([]any, 0, 6*min(len(rows), batchSizes[0]))
	for _, size := range batchPlan(len(rows)) {
		chunk := rows[:size]
		rows = rows[size:]
		args = args[:0]
		for _, a := range chunk {
			args = append(args, a.key, a.dim, a.value, a.count, micros(a.first), micros(a.last))
		}
		if _, err := s.execBatch(ctx, sqltx, usageAggregateSQL(s.engine, len(chunk)), args); err != nil {
			return fmt.Errorf("append usage: aggregates: %w", err)
		}
	}
	return s.touchLastUsed(ctx, sqltx, last)
}

// usageAggregates sums evs per (subject key, dimension, value) and finds
// the latest use of each identity, and of each credential an ingested log
// names (matched by the ingest to a credential Steward keeps), so that a
// key used only outside Steward does not read as dormant. Steward's own
// authentications move credentials through the broker's flush. The rows
// are in key order: concurrent batches (other nodes' recorders, an
// ingest) then lock aggregate rows in the same order. Successful
// authentications also add to the dashboard's trend rows (usage_trend.go).
func usageAggregates(evs []steward.UsageEvent) ([]aggRow, lastUsed) {
	// Rows in a slice, found through an index map: no allocation per row,
	// and the sort moves values, not map entries (a batch of decisions
	// about identities has more aggregate rows than events).
	var rows []aggRow
	index := map[aggKey]int{}
	last := lastUsed{identities: map[string]time.Time{}, credentials: map[string]time.Time{}}
	shard := authTrendShard(evs)
	add := func(k aggKey, t time.Time) {
		n, ok := index[k]
		if !ok {
			index[k] = len(rows)
			rows = append(rows, aggRow{aggKey: k, count: 1, first: t, last: t})
			return
		}
		a := &rows[n]
		a.count++
		if t.Before(a.first) {
			a.first = t
		}
		if t.After(a.last) {
			a.last = t
		}
	}
	for _, e := range evs {
		key := e.IdentityID
		switch {
		case key == "" && e.Kind == steward.UsageDecision:
			// A decision about a subject that is not a Steward identity (an
			// application's user or service) is logged, not aggregated: it
			// is not a caller of anything Steward governs.
			continue
		case key == "":
			key = steward.UnknownKey(e.Subject)
		default:
			if e.Time.After(last.identities[key]) {
				last.identities[key] = e.Time
			}
			if c := e.CredentialID; c != "" && e.Kind == steward.UsageIngest && e.Time.After(last.credentials[c]) {
				last.credentials[c] = e.Time
			}
		}
		if k, ok := authTrendAgg(shard, &e); ok {
			add(k, e.Time)
		}
		add(aggKey{key, steward.DimAll, ""}, e.Time)
		for _, d := range [...]struct{ dim, v string }{{steward.DimAction, e.Action}, {steward.DimResource, e.Resource}, {steward.DimSource, e.Source}, {steward.DimOutcome, e.Outcome}} {
			if dim, v := d.dim, d.v; v != "" {
				if len(v) > 512 {
					v = v[:512]
				}
				add(aggKey{key, dim, v}, e.Time)
			}
		}
	}
	slices.SortFunc(rows, func(a, b aggRow) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.dim, b.dim), strings.Compare(a.value, b.value))
	})
	return rows, last
}

// batchSizes are the row counts of the multi-row statements, prepared once
// each: a batch of any length is written as a few of them, so SQLite never
// parses a statement with thousands of placeholders per call.
var batchSizes = []int{200, 50, 10, 1}

// batchPlan splits n rows into statement sizes from batchSizes.
func batchPlan(n int) []int {
	var out []int
	for _, b := range batchSizes {
		for n >= b {
			out = append(out, b)
			n -= b
		}
	}
	return out
}

func usageInsertSQL(e Engine, rows int) string {
	values := valueRows(usageColumnCount, rows)
	if e == SQLite {
		// OR IGNORE, not ON CONFLICT DO NOTHING: a statement that cannot
		// abort needs no statement journal, a copy of every page it changes.
		return `INSERT OR IGNORE INTO usage_events (` + usageColumns + `) VALUES ` + values
	}
	return rebind(e, `INSERT INTO usage_events (`+usageColumns+`) VALUES `+values+` ON CONFLICT (id) DO NOTHING`)
}

func usageAggregateSQL(e Engine, rows int) string {
	return rebind(e, `INSERT INTO usage_aggregates (`+usageAggregateColumns+`) VALUES `+valueRows(6, rows)+usageAggregateMerge)
}

const usageAggregateColumns = `subject_key, dimension, value, count, first_seen, last_seen`

// usageAggregateMerge adds a batch's aggregate rows to the stored ones.
const usageAggregateMerge = `
			ON CONFLICT (subject_key, dimension, value) DO UPDATE SET count = usage_aggregates.count + excluded.count,
			first_seen = CASE WHEN excluded.first_seen < usage_aggregates.first_seen THEN excluded.first_seen ELSE usage_aggregates.first_seen END,
			last_seen = CASE WHEN excluded.last_seen > usage_aggregates.last_seen THEN excluded.last_seen ELSE usage_aggregates.last_seen END`

// prepareUsage prepares the full-size batch statements on the write pool,
// outside any transaction (SQLite has one write connection).
func (s *Store) prepareUsage(ctx context.Context) {
	for _, n := range batchSizes {
		s.writeStmts.stmt(ctx, usageInsertSQL(s.engine, n))
		s.writeStmts.stmt(ctx, usageAggregateSQL(s.engine, n))
	}
}

// execBatch runs a multi-row statement in sqltx. Full-size batches use the
// statement prepared at open (SQLite would otherwise parse thousands of
// placeholders per batch); others run directly. It never prepares inside
// the transaction's lifetime on the pool, which would wait for the
// connection the transaction holds.
func (s *Store) execBatch(ctx context.Context, sqltx *sql.Tx, q string, args []any) (sql.Result, error) {
	if s.writeStmts != nil {
		if st, ok := s.writeStmts.cached(q); ok {
			return sqltx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
	}
	return sqltx.ExecContext(ctx, q, args...)
}

func scanUsage(row rowScanner) (*steward.UsageEvent, error) {
	var e steward.UsageEvent
	var t int64
	var pol, attrs string
	if err := row.Scan(&e.ID, &t, &e.Kind, &e.IdentityID, &e.CredentialID, &e.Subject, &e.Action, &e.Resource, &e.Source, &e.UserAgent,
		&e.Environment, &e.Outcome, &e.Reason, &pol, &e.LatencyMicro, &attrs); err != nil {
		return nil, err
	}
	e.Time = fromMicros(t)
	if err := errors.Join(decodeList("policy ids", pol, &e.PolicyIDs), decodeMap("attributes", attrs, &e.Attributes)); err != nil {
		return nil, fmt.Errorf("usage %s: %w", e.ID, err)
	}
	return &e, nil
}

// ListUsage lists usage events newest first with keyset pagination.
func (s *Store) ListUsage(ctx context.Context, f steward.UsageFilter) (_ *steward.Page[*steward.UsageEvent], err error) {
	start := time.Now()
	defer func() { s.track("list_usage", start, err) }()
	if err := pageLimit(&f.Limit); err != nil {
		return nil, err
	}
	var w filter
	switch {
	case f.IdentityID != "":
		// The second term names the identity index's condition, so both
		// engines see that the partial index applies.
		w.add("identity_id = ? AND identity_id <> ''", f.IdentityID)
	case f.Unknown:
		w.add("identity_id = ''")
	}
	w.eq("subject", f.Subject)
	w.eq("kind", f.Kind)
	w.eq("outcome", f.Outcome)
	w.eq("action", f.Action)
	w.during("time", f.Since, f.Until)
	if f.Cursor != "" {
		t, id, err := decodeUsageCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		w.add("(time < ? OR (time = ? AND id < ?))", t, t, id)
	}
	return listPage(ctx, s.readPool(), "list usage", f.Limit, scanUsage, func(e *steward.UsageEvent) string { return encodeUsageCursor(micros(e.Time), e.ID) },
		`SELECT `+usageColumns+` FROM usage_events`+w.where()+` ORDER BY time DESC, id DESC`, w.args...)
}

func encodeUsageCursor(t int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t, 10) + "|" + id))
}

func decodeUsageCursor(s string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		ts, id, ok := strings.Cut(string(b), "|")
		if t, perr := strconv.ParseInt(ts, 10, 64); ok && perr == nil && id != "" {
			return t, id, nil
		}
	}
	return 0, "", steward.FieldError("cursor", "is not a cursor returned by this list")
}

func (s *Store) queryAggregates(ctx context.Context, q string, args ...any) ([]steward.UsageCount, error) {
	rows, err := s.readDB.QueryContext(ctx, rebind(s.engine, q), args...)
	if err != nil {
		return nil, fmt.Errorf("usage aggregates: %w", err)
	}
	defer rows.Close()
	out := []steward.UsageCount{}
	for rows.Next() {
		var c steward.UsageCount
		var first, last int64
		if err := rows.Scan(&c.Key, &c.Dimension, &c.Value, &c.Count, &first, &last); err != nil {
			return nil, fmt.Errorf("usage aggregates: %w", err)
		}
		c.FirstSeen, c.LastSeen = fromMicros(first), fromMicros(last)
		out = append(out, c)
	}
	return out, rows.Err()
}

// UsageAggregates returns every aggregate row of key.
func (s *Store) UsageAggregates(ctx context.Context, key string) ([]steward.UsageCount, error) {
	return s.queryAggregates(ctx, `SELECT subject_key, dimension, value, count, first_seen, last_seen FROM usage_aggregates
		WHERE subject_key = ? ORDER BY dimension, count DESC, value`, key)
}

// UnknownCallers returns the totals of subjects that matched no identity.
func (s *Store) UnknownCallers(ctx context.Context, limit int) ([]steward.UsageCount, error) {
	if limit <= 0 || limit > steward.MaxLimit {
		limit = steward.DefaultLimit
	}
	return s.queryAggregates(ctx, fmt.Sprintf(`SELECT subject_key, dimension, value, count, first_seen, last_seen FROM usage_aggregates
		WHERE dimension = 'all' AND subject_key LIKE 'unknown:%%' ORDER BY last_seen DESC, subject_key LIMIT %d`, limit))
}
