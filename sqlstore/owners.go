package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

const ownerColumns = `id, name, email, kind, status, team, manager_id, backup_owner_id, external_ref, created_at, updated_at, departed_at, version`

func scanOwner(row rowScanner) (*steward.Owner, error) {
	var (
		o                steward.Owner
		kind, status     string
		manager, backup  sql.NullString
		created, updated int64
		departed         sql.NullInt64
	)
	if err := row.Scan(&o.ID, &o.Name, &o.Email, &kind, &status, &o.Team, &manager, &backup, &o.ExternalRef, &created, &updated, &departed, &o.Version); err != nil {
		return nil, err
	}
	o.Kind, o.Status = steward.OwnerKind(kind), steward.OwnerStatus(status)
	o.ManagerID, o.BackupOwnerID = manager.String, backup.String
	o.CreatedAt, o.UpdatedAt, o.DepartedAt = fromMicros(created), fromMicros(updated), fromNullMicros(departed)
	return &o, nil
}

func (r *reader) GetOwner(ctx context.Context, id string) (_ *steward.Owner, err error) {
	defer func(start time.Time) { r.track("get_owner", start, err) }(time.Now())
	o, err := scanOwner(r.q.QueryRowContext(ctx, rebind(r.d, `SELECT `+ownerColumns+` FROM owners WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("owner", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get owner: %w", err)
	}
	return o, nil
}

func (r *reader) ListOwners(ctx context.Context, f steward.OwnerFilter) (_ *steward.Page[*steward.Owner], err error) {
	defer func(start time.Time) { r.track("list_owners", start, err) }(time.Now())
	if f.Limit < 0 || f.Limit > steward.MaxLimit {
		return nil, steward.FieldError("limit", "must be between 1 and %d", steward.MaxLimit)
	}
	if f.Limit == 0 {
		f.Limit = steward.DefaultLimit
	}
	var where []string
	var args []any
	if f.Status != "" {
		if f.Status != steward.OwnerActive && f.Status != steward.OwnerDeparted {
			return nil, steward.FieldError("status", "%q is not one of active, departed", f.Status)
		}
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.Team != "" {
		where, args = append(where, "team = ?"), append(args, f.Team)
	}
	if f.Email != "" {
		where, args = append(where, "email = ?"), append(args, strings.ToLower(f.Email))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		like := "%" + escapeLike(strings.ToLower(q)) + "%"
		where, args = append(where, `(lower(name) LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\')`), append(args, like, like)
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "id > ?"), append(args, c.ID)
	}
	q := `SELECT ` + ownerColumns + ` FROM owners`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id LIMIT %d", f.Limit+1)
	rows, err := r.q.QueryContext(ctx, rebind(r.d, q), args...)
	if err != nil {
		return nil, fmt.Errorf("list owners: %w", err)
	}
	defer rows.Close()
	page := &steward.Page[*steward.Owner]{Items: []*steward.Owner{}}
	for rows.Next() {
		if len(page.Items) == f.Limit {
			page.NextCursor = encodeCursor(cursor{ID: page.Items[len(page.Items)-1].ID})
			break
		}
		o, err := scanOwner(rows)
		if err != nil {
			return nil, fmt.Errorf("list owners: %w", err)
		}
		page.Items = append(page.Items, o)
	}
	return page, rows.Err()
}

func ownerArgs(o *steward.Owner) []any {
	return []any{o.ID, o.Name, o.Email, string(o.Kind), string(o.Status), o.Team, nullString(o.ManagerID), nullString(o.BackupOwnerID),
		o.ExternalRef, micros(o.CreatedAt), micros(o.UpdatedAt), microsPtr(o.DepartedAt), o.Version}
}

func (t *tx) CreateOwner(ctx context.Context, o *steward.Owner) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO owners (`+ownerColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`), ownerArgs(o)...)
	switch {
	case isUniqueViolation(err):
		return steward.Errorf(steward.ECONFLICT, "owner %s already exists", o.ID)
	case isForeignKeyViolation(err):
		return steward.FieldError("backup_owner_id", "the manager or backup owner does not exist")
	case err != nil:
		return fmt.Errorf("create owner: %w", err)
	}
	return nil
}

func (t *tx) UpdateOwner(ctx context.Context, o *steward.Owner) error {
	args := ownerArgs(o)
	res, err := t.q.ExecContext(ctx, rebind(t.d, `UPDATE owners SET name=?, email=?, kind=?, status=?, team=?, manager_id=?, backup_owner_id=?,
		external_ref=?, created_at=?, updated_at=?, departed_at=?, version=? WHERE id = ? AND version = ?`), append(args[1:], o.ID, o.Version-1)...)
	switch {
	case isForeignKeyViolation(err):
		return steward.FieldError("backup_owner_id", "the manager or backup owner does not exist")
	case err != nil:
		return fmt.Errorf("update owner: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := t.GetOwner(ctx, o.ID); err != nil {
			return err
		}
		return steward.Errorf(steward.ECONFLICT, "owner %s was changed by someone else (version %d is stale); reload and retry", o.ID, o.Version-1)
	}
	return nil
}
