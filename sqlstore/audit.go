package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/steward-nhi/steward"
)

var _ steward.AuditStore = (*Store)(nil)

// ScanEvents streams the chain in ascending seq order, batch rows per query.
func (s *Store) ScanEvents(ctx context.Context, after, through int64, batch int, fn func([]*steward.Event) error) error {
	if batch <= 0 {
		batch = 5000
	}
	q := `SELECT ` + eventColumns + ` FROM events WHERE seq > ?`
	if through > 0 {
		q += ` AND seq <= ` + strconv.FormatInt(through, 10)
	}
	q = rebind(s.engine, q+` ORDER BY seq LIMIT `+strconv.Itoa(batch))
	for {
		out, err := s.scanBatch(ctx, q, after, batch)
		if err != nil {
			return fmt.Errorf("scan events after %d: %w", after, err)
		}
		if len(out) == 0 {
			return nil
		}
		after = out[len(out)-1].Seq
		if err := fn(out); err != nil {
			return err
		}
		if len(out) < batch {
			return nil
		}
	}
}

func (s *Store) scanBatch(ctx context.Context, q string, after int64, batch int) ([]*steward.Event, error) {
	rows, err := s.readDB.QueryContext(ctx, q, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]*steward.Event, 0, batch)
	// One allocation for the batch's events.
	evs := make([]steward.Event, batch)
	for rows.Next() {
		e := &evs[len(out)]
		var t int64
		var before, after []byte
		if err := rows.Scan(&e.Seq, &e.ID, &t, &e.Actor, &e.Action, &e.SubjectType, &e.SubjectID, &e.IdentityID, &e.Reason, &before, &after, &e.PrevHash, &e.EntryHash); err != nil {
			return nil, err
		}
		e.Time = fromMicros(t)
		e.Before, e.After = before, after
		out = append(out, e)
	}
	return out, rows.Err()
}

// EntryHashes returns the entry hashes of seq from..to, in order.
func (s *Store) EntryHashes(ctx context.Context, from, to int64) ([]string, error) {
	return queryAll(ctx, s.readPool(), "entry hashes", func(row rowScanner) (h string, err error) {
		err = row.Scan(&h)
		return h, err
	}, `SELECT entry_hash FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq`, from, to)
}

const checkpointColumns = `tree_size, root_hash, last_seq, last_entry_hash, time, key_id, signature`

func scanCheckpoint(row rowScanner) (*steward.Checkpoint, error) {
	var c steward.Checkpoint
	var t int64
	if err := row.Scan(&c.TreeSize, &c.RootHash, &c.LastSeq, &c.LastEntryHash, &t, &c.KeyID, &c.Signature); err != nil {
		return nil, err
	}
	c.Time = time.Unix(0, t).UTC()
	return &c, nil
}

// SaveCheckpoint stores c unless a checkpoint of the same size exists.
func (s *Store) SaveCheckpoint(ctx context.Context, c *steward.Checkpoint) error {
	_, err := s.writeDB.ExecContext(ctx, rebind(s.engine, `INSERT INTO audit_checkpoints (`+checkpointColumns+`) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (tree_size) DO NOTHING`),
		c.TreeSize, c.RootHash, c.LastSeq, c.LastEntryHash, c.Time.UTC().UnixNano(), c.KeyID, c.Signature)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// ListCheckpoints returns checkpoints newest first.
func (s *Store) ListCheckpoints(ctx context.Context, limit int) ([]*steward.Checkpoint, error) {
	q := `SELECT ` + checkpointColumns + ` FROM audit_checkpoints ORDER BY tree_size DESC`
	if limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(limit)
	}
	return queryAll(ctx, s.readPool(), "list checkpoints", scanCheckpoint, q)
}

// CheckpointCovering returns the smallest checkpoint of at least size entries.
func (s *Store) CheckpointCovering(ctx context.Context, size int64) (*steward.Checkpoint, error) {
	c, err := scanCheckpoint(s.readDB.QueryRowContext(ctx, rebind(s.engine,
		`SELECT `+checkpointColumns+` FROM audit_checkpoints WHERE tree_size >= ? ORDER BY tree_size LIMIT 1`), size))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint covering %d: %w", size, err)
	}
	return c, nil
}

// CreateAuditKey stores a new checkpoint signing key.
func (s *Store) CreateAuditKey(ctx context.Context, k *steward.AuditKey) error {
	_, err := s.writeDB.ExecContext(ctx, rebind(s.engine, `INSERT INTO audit_keys (id, algorithm, public_key, sealed_private, created_at) VALUES (?,?,?,?,?)`),
		k.ID, k.Algorithm, base64.StdEncoding.EncodeToString(k.PublicKey), k.SealedPrivate, k.CreatedAt.UTC().UnixNano())
	if isUniqueViolation(err) {
		return steward.Errorf(steward.ECONFLICT, "audit key %s exists", k.ID)
	}
	if err != nil {
		return fmt.Errorf("create audit key: %w", err)
	}
	return nil
}

// ListAuditKeys returns the signing keys, oldest first.
func (s *Store) ListAuditKeys(ctx context.Context) ([]*steward.AuditKey, error) {
	return queryAll(ctx, s.readPool(), "list audit keys", func(row rowScanner) (*steward.AuditKey, error) {
		var k steward.AuditKey
		var pub string
		var t int64
		if err := row.Scan(&k.ID, &k.Algorithm, &pub, &k.SealedPrivate, &t); err != nil {
			return nil, err
		}
		var err error
		if k.PublicKey, err = base64.StdEncoding.DecodeString(pub); err != nil {
			return nil, fmt.Errorf("audit key %s: public key: %w", k.ID, err)
		}
		k.CreatedAt = time.Unix(0, t).UTC()
		return &k, nil
	}, `SELECT id, algorithm, public_key, sealed_private, created_at FROM audit_keys ORDER BY created_at, id`)
}

// SinkCursor returns the last sequence number the sink acknowledged.
func (s *Store) SinkCursor(ctx context.Context, sink string) (int64, error) {
	var seq int64
	err := s.readDB.QueryRowContext(ctx, rebind(s.engine, `SELECT seq FROM audit_sink_cursors WHERE name = ?`), sink).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sink cursor %s: %w", sink, err)
	}
	return seq, nil
}

// SetSinkCursor records the sink's last acknowledged sequence number; it
// never moves backwards.
func (s *Store) SetSinkCursor(ctx context.Context, sink string, seq int64) error {
	_, err := s.writeDB.ExecContext(ctx, rebind(s.engine, `INSERT INTO audit_sink_cursors (name, seq, updated_at) VALUES (?,?,?)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at WHERE excluded.seq > audit_sink_cursors.seq`),
		sink, seq, time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("set sink cursor %s: %w", sink, err)
	}
	return nil
}
