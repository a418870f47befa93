package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
)

// Rotators, rotations and leases keep their details as a JSON document,
// with the columns their queries filter on beside it.

func (r *reader) GetRotator(ctx context.Context, name string) (*steward.Rotator, error) {
	return getOne(ctx, r, "get rotator", scanDoc[steward.Rotator], notFound("rotator", name), `SELECT doc FROM rotators WHERE name = ?`, name)
}

func (r *reader) ListRotators(ctx context.Context) ([]*steward.Rotator, error) {
	return queryAll(ctx, r, "list rotators", scanDoc[steward.Rotator], `SELECT doc FROM rotators ORDER BY name`)
}

func (t *tx) CreateRotator(ctx context.Context, rt *steward.Rotator) error {
	doc, err := json.Marshal(rt)
	if err != nil {
		return fmt.Errorf("create rotator: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO rotators (name, kind, doc, created_at) VALUES (?, ?, ?, ?)`),
		rt.Name, rt.Kind, string(doc), micros(rt.CreatedAt))
	if isUniqueViolation(err) {
		return steward.Errorf(steward.ECONFLICT, "rotator %q exists", rt.Name)
	}
	if err != nil {
		return fmt.Errorf("create rotator: %w", err)
	}
	return nil
}

func (r *reader) GetRotation(ctx context.Context, id string) (*steward.Rotation, error) {
	return getOne(ctx, r, "get rotation", scanDoc[steward.Rotation], notFound("rotation", id), `SELECT doc FROM rotations WHERE id = ?`, id)
}

func (r *reader) ListRotations(ctx context.Context, credentialID, status string, limit int) ([]*steward.Rotation, error) {
	var w filter
	w.eq("credential_id", credentialID)
	w.eq("status", status)
	if limit <= 0 || limit > steward.MaxLimit {
		limit = steward.MaxLimit
	}
	return queryAll(ctx, r, "list rotations", scanDoc[steward.Rotation],
		`SELECT doc FROM rotations`+w.where()+` ORDER BY started_at DESC, id DESC LIMIT ?`, append(w.args, limit)...)
}

func (r *reader) FailedRotations(ctx context.Context, identityIDs []string) ([]*steward.Rotation, error) {
	if identityIDs != nil && len(identityIDs) == 0 {
		return nil, nil
	}
	// The latest real failure of each credential…
	latest := map[string]*steward.Rotation{}
	keep := func(rs []*steward.Rotation) {
		for _, ro := range rs {
			if l := latest[ro.CredentialID]; !ro.DryRun && (l == nil || rotatedAfter(ro, l)) {
				latest[ro.CredentialID] = ro
			}
		}
	}
	const failed = `SELECT doc FROM rotations WHERE status IN (?, ?)`
	if identityIDs == nil {
		rs, err := queryAll(ctx, r, "failed rotations", scanDoc[steward.Rotation], failed, steward.RotationFailed, steward.RotationRolledBack)
		if err != nil {
			return nil, err
		}
		keep(rs)
	} else if err := inChunks(identityIDs, 500, func(c []string) error {
		rs, err := queryAll(ctx, r, "failed rotations", scanDoc[steward.Rotation], failed+` AND identity_id IN (`+placeholders(len(c))+`)`,
			append([]any{steward.RotationFailed, steward.RotationRolledBack}, anySlice(c)...)...)
		keep(rs)
		return err
	}); err != nil {
		return nil, err
	}
	// …unless a real rotation of the credential succeeded after it.
	creds := slices.Sorted(maps.Keys(latest))
	if err := inChunks(creds, 500, func(c []string) error {
		since := latest[c[0]].StartedAt
		for _, id := range c {
			if t := latest[id].StartedAt; t.Before(since) {
				since = t
			}
		}
		rs, err := queryAll(ctx, r, "failed rotations", scanDoc[steward.Rotation],
			`SELECT doc FROM rotations WHERE status = ? AND started_at >= ? AND credential_id IN (`+placeholders(len(c))+`)`,
			append([]any{steward.RotationSucceeded, micros(since)}, anySlice(c)...)...)
		for _, ro := range rs {
			if l := latest[ro.CredentialID]; l != nil && !ro.DryRun && rotatedAfter(ro, l) {
				delete(latest, ro.CredentialID)
			}
		}
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]*steward.Rotation, 0, len(latest))
	for _, id := range creds {
		if ro := latest[id]; ro != nil {
			out = append(out, ro)
		}
	}
	return out, nil
}

// rotatedAfter reports whether rotation a started after b (ids order
// rotations started in the same microsecond).
func rotatedAfter(a, b *steward.Rotation) bool {
	return a.StartedAt.After(b.StartedAt) || a.StartedAt.Equal(b.StartedAt) && a.ID > b.ID
}

func (t *tx) CreateRotation(ctx context.Context, ro *steward.Rotation) error {
	doc, err := json.Marshal(ro)
	if err != nil {
		return fmt.Errorf("create rotation: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO rotations (id, credential_id, identity_id, status, started_at, doc) VALUES (?, ?, ?, ?, ?, ?)`),
		ro.ID, ro.CredentialID, ro.IdentityID, ro.Status, micros(ro.StartedAt), string(doc))
	if isUniqueViolation(err) {
		return steward.Errorf(steward.ECONFLICT, "credential %s already has a rotation running", ro.CredentialID)
	}
	if err != nil {
		return fmt.Errorf("create rotation: %w", err)
	}
	return nil
}

func (t *tx) UpdateRotation(ctx context.Context, ro *steward.Rotation) error {
	doc, err := json.Marshal(ro)
	if err != nil {
		return fmt.Errorf("update rotation: %w", err)
	}
	return t.execOne(ctx, "update rotation", "rotation", ro.ID, `UPDATE rotations SET status = ?, doc = ? WHERE id = ?`, ro.Status, string(doc), ro.ID)
}

func (r *reader) GetLease(ctx context.Context, id string) (*steward.Lease, error) {
	return getOne(ctx, r, "get lease", scanDoc[steward.Lease], notFound("lease", id), `SELECT doc FROM leases WHERE id = ?`, id)
}

func (r *reader) ListLeases(ctx context.Context, identityID, status string, limit int) ([]*steward.Lease, error) {
	var w filter
	w.eq("identity_id", identityID)
	w.eq("status", status)
	if limit <= 0 || limit > steward.MaxLimit {
		limit = steward.MaxLimit
	}
	return queryAll(ctx, r, "list leases", scanDoc[steward.Lease],
		`SELECT doc FROM leases`+w.where()+` ORDER BY expires_at DESC, id DESC LIMIT ?`, append(w.args, limit)...)
}

func (r *reader) ListLeasesDue(ctx context.Context, now time.Time, limit int) ([]*steward.Lease, error) {
	return queryAll(ctx, r, "list leases due", scanDoc[steward.Lease],
		`SELECT doc FROM leases WHERE status = ? AND expires_at <= ? ORDER BY expires_at LIMIT ?`, steward.LeaseActive, micros(now), limit)
}

func (t *tx) PutLease(ctx context.Context, l *steward.Lease) error {
	doc, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("put lease: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO leases (id, identity_id, status, expires_at, doc) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, doc = excluded.doc`),
		l.ID, l.IdentityID, l.Status, micros(l.ExpiresAt), string(doc))
	if err != nil {
		return fmt.Errorf("put lease: %w", err)
	}
	return nil
}
