package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Last-use times move forward from several writers at once: the brokers'
// flushes of every node (TouchCredentials) and the usage batches (Steward's
// own authentications and decisions, and ingested logs). On PostgreSQL two
// transactions that lock the same rows in different orders deadlock
// (40P01), so every writer of last-use times locks in one order: the
// identities first, then the credentials (the order of an identity's
// revocation), each in id order.

// lastUsed is the latest use of some identities and credentials.
type lastUsed struct {
	identities, credentials map[string]time.Time
}

// touchLastUsed moves last_used_at forward for u's identities, then its
// credentials, never backwards, locking each table's rows in id order.
func (s *Store) touchLastUsed(ctx context.Context, sqltx *sql.Tx, u lastUsed) error {
	for _, t := range [...]struct {
		table string
		at    map[string]time.Time
	}{{"identities", u.identities}, {"credentials", u.credentials}} {
		if len(t.at) == 0 {
			continue
		}
		ids := make([]string, 0, len(t.at))
		for id := range t.at {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if err := s.touchTable(ctx, sqltx, t.table, ids, t.at); err != nil {
			return fmt.Errorf("last used: %s: %w", t.table, err)
		}
	}
	return nil
}

// touchTable moves last_used_at forward for the rows ids (sorted) of table.
func (s *Store) touchTable(ctx context.Context, sqltx *sql.Tx, table string, ids []string, at map[string]time.Time) error {
	if s.engine != Postgres {
		// One writer at a time: the order matters only for PostgreSQL,
		// but costs nothing here.
		st, err := sqltx.PrepareContext(ctx, `UPDATE `+table+` SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range ids {
			t := micros(at[id])
			if _, err := st.ExecContext(ctx, t, id, t); err != nil {
				return err
			}
		}
		return nil
	}
	// The locks are taken in id order by the sorted SELECT … FOR UPDATE
	// (rows are locked as the sort returns them); the UPDATE then only
	// finds rows this transaction holds, whatever plan it runs.
	if _, err := sqltx.ExecContext(ctx, `SELECT id FROM `+table+` WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
		return err
	}
	ts := make([]int64, len(ids))
	for k, id := range ids {
		ts[k] = micros(at[id])
	}
	_, err := sqltx.ExecContext(ctx, `UPDATE `+table+` AS r SET last_used_at = u.t FROM unnest($1::text[], $2::bigint[]) AS u(id, t)
		WHERE r.id = u.id AND (r.last_used_at IS NULL OR r.last_used_at < u.t)`, ids, ts)
	return err
}
