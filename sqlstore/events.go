package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/canonjson"
	"github.com/steward-nhi/steward/internal/ids"
)

// chainLockID is the PostgreSQL transaction-level advisory lock that
// serializes appends to the chain across nodes.
const chainLockID = 0x5374657761726402

const eventColumns = `seq, id, time, actor, action, subject_type, subject_id, identity_id, reason, before, after, prev_hash, entry_hash`

func scanEvent(row rowScanner) (*steward.Event, error) {
	var (
		e             steward.Event
		t             int64
		before, after sql.NullString
	)
	if err := row.Scan(&e.Seq, &e.ID, &t, &e.Actor, &e.Action, &e.SubjectType, &e.SubjectID, &e.IdentityID, &e.Reason, &before, &after, &e.PrevHash, &e.EntryHash); err != nil {
		return nil, err
	}
	e.Time = fromMicros(t)
	if before.Valid {
		e.Before = []byte(before.String)
	}
	if after.Valid {
		e.After = []byte(after.String)
	}
	return &e, nil
}

func (r *reader) ListEvents(ctx context.Context, f steward.EventFilter) (_ *steward.Page[*steward.Event], err error) {
	defer func(start time.Time) { r.track("list_events", start, err) }(time.Now())
	if err := pageLimit(&f.Limit); err != nil {
		return nil, err
	}
	var w filter
	w.eq("identity_id", f.IdentityID)
	w.eq("subject_id", f.SubjectID)
	w.eq("actor", f.Actor)
	w.eq("action", f.Action)
	w.during("time", f.Since, f.Until)
	if f.IdentityIDs != nil {
		if len(f.IdentityIDs) == 0 {
			return &steward.Page[*steward.Event]{Items: []*steward.Event{}}, nil
		}
		w.add("identity_id IN ("+placeholders(len(f.IdentityIDs))+")", anySlice(f.IdentityIDs)...)
	}
	op, dir := "<", "DESC"
	if f.Ascending {
		op, dir = ">", "ASC"
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		seq, err := strconv.ParseInt(c.ID, 10, 64)
		if err != nil {
			return nil, steward.FieldError("cursor", "is not a cursor returned by this list")
		}
		w.add("seq "+op+" ?", seq)
	}
	return listPage(ctx, r, "list events", f.Limit, scanEvent, func(e *steward.Event) string { return byID(strconv.FormatInt(e.Seq, 10)) },
		`SELECT `+eventColumns+` FROM events`+w.where()+fmt.Sprintf(" ORDER BY seq %s", dir), w.args...)
}

func (r *reader) LastEvent(ctx context.Context) (*steward.Event, error) {
	return getOne(ctx, r, "last event", scanEvent, nil, `SELECT `+eventColumns+` FROM events ORDER BY seq DESC LIMIT 1`)
}

// AppendEvent links e to the chain head and inserts it.
func (t *tx) AppendEvent(ctx context.Context, e *steward.Event) error {
	if err := t.loadHead(ctx); err != nil {
		return err
	}
	args, err := chainEvent(e, t.headSeq+1, t.headHash)
	if err != nil {
		return err
	}
	if t.insertEvent == nil {
		st, err := t.sqltx.PrepareContext(ctx, rebind(t.d, `INSERT INTO events (`+eventColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`))
		if err != nil {
			return fmt.Errorf("append event: prepare: %w", err)
		}
		t.insertEvent = st
	}
	if _, err := t.insertEvent.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	t.headSeq, t.headHash = e.Seq, e.EntryHash
	return nil
}

// loadHead reads the chain head once per transaction (on PostgreSQL after
// taking the chain lock, so concurrent appends stay linear).
func (t *tx) loadHead(ctx context.Context) error {
	if t.chainLoaded {
		return nil
	}
	if t.d == Postgres {
		if _, err := t.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(chainLockID)); err != nil {
			return fmt.Errorf("append event: lock chain: %w", err)
		}
	}
	var seq int64
	var hash string
	err := t.q.QueryRowContext(ctx, `SELECT seq, entry_hash FROM events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		seq, hash = 0, steward.GenesisHash
	case err != nil:
		return fmt.Errorf("append event: read chain head: %w", err)
	}
	t.headSeq, t.headHash, t.chainLoaded = seq, hash, true
	return nil
}

// chainEvent gives e its place in the chain (seq after prev) and its entry
// hash, and returns its column values in eventColumns order.
func chainEvent(e *steward.Event, seq int64, prev string) ([]any, error) {
	e.Seq = seq
	e.PrevHash = prev
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.ID == "" {
		e.ID = ids.New(ids.Event, e.Time)
	}
	h, err := canonjson.EntryHash(e)
	if err != nil {
		return nil, fmt.Errorf("append event: hash: %w", err)
	}
	e.EntryHash = h
	var before, after any
	if len(e.Before) > 0 {
		before = string(e.Before)
	}
	if len(e.After) > 0 {
		after = string(e.After)
	}
	return []any{e.Seq, e.ID, micros(e.Time), e.Actor, e.Action, e.SubjectType, e.SubjectID, e.IdentityID, e.Reason, before, after, e.PrevHash, e.EntryHash}, nil
}
