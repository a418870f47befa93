package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/steward-nhi/steward"
)

// Offboardings of departed owners, kept as JSON documents.

func (r *reader) GetOffboarding(ctx context.Context, ownerID string) (*steward.Offboarding, error) {
	return getOne(ctx, r, "get offboarding", scanDoc[steward.Offboarding], notFound("offboarding", ownerID),
		`SELECT doc FROM offboardings WHERE owner_id = ?`, ownerID)
}

func (r *reader) ListOffboardings(ctx context.Context, open bool) ([]*steward.Offboarding, error) {
	q := `SELECT doc FROM offboardings`
	if open {
		q += ` WHERE completed_at IS NULL`
	}
	return queryAll(ctx, r, "list offboardings", scanDoc[steward.Offboarding], q+` ORDER BY started_at, owner_id`)
}

func (t *tx) SaveOffboarding(ctx context.Context, o *steward.Offboarding) error {
	doc, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("save offboarding: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO offboardings (owner_id, started_at, completed_at, doc) VALUES (?, ?, ?, ?)
		ON CONFLICT (owner_id) DO UPDATE SET started_at = excluded.started_at, completed_at = excluded.completed_at, doc = excluded.doc`),
		o.OwnerID, micros(o.StartedAt), microsPtr(o.CompletedAt), string(doc))
	if err != nil {
		return fmt.Errorf("save offboarding: %w", err)
	}
	return nil
}
