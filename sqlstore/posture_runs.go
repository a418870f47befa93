package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

// Posture runs: the daily snapshots they save and the lease that lets one
// node run them.

func (r *reader) ListSnapshots(ctx context.Context, since, until time.Time) ([]*steward.PostureSnapshot, error) {
	return queryAll(ctx, r, "list snapshots", scanDoc[steward.PostureSnapshot],
		`SELECT doc FROM posture_snapshots WHERE time >= ? AND time < ? ORDER BY time`, micros(since), micros(until))
}

func (t *tx) SaveSnapshot(ctx context.Context, s *steward.PostureSnapshot) error {
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO posture_snapshots (time, doc) VALUES (?, ?)
		ON CONFLICT (time) DO UPDATE SET doc = excluded.doc`), micros(s.Time), string(doc))
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

func (t *tx) TryLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO job_leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE job_leases.until < ? OR job_leases.holder = excluded.holder`), name, holder, micros(until), micros(now))
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return n > 0, nil
}
