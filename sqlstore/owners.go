package sqlstore

import (
	"context"
	"database/sql"
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
	return getOne(ctx, r, "get owner", scanOwner, notFound("owner", id), `SELECT `+ownerColumns+` FROM owners WHERE id = ?`, id)
}

func (r *reader) ListOwners(ctx context.Context, f steward.OwnerFilter) (_ *steward.Page[*steward.Owner], err error) {
	defer func(start time.Time) { r.track("list_owners", start, err) }(time.Now())
	if err := pageLimit(&f.Limit); err != nil {
		return nil, err
	}
	var w filter
	if f.Status != "" {
		if f.Status != steward.OwnerActive && f.Status != steward.OwnerDeparted {
			return nil, steward.FieldError("status", "%q is not one of active, departed", f.Status)
		}
		w.add("status = ?", string(f.Status))
	}
	w.eq("team", f.Team)
	if f.Email != "" {
		w.add("email = ?", strings.ToLower(f.Email))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		like := "%" + escapeLike(strings.ToLower(q)) + "%"
		w.add(`(lower(name) LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\')`, like, like)
	}
	if err := w.afterID(f.Cursor, "id > ?"); err != nil {
		return nil, err
	}
	return listPage(ctx, r, "list owners", f.Limit, scanOwner, func(x *steward.Owner) string { return byID(x.ID) },
		`SELECT `+ownerColumns+` FROM owners`+w.where()+` ORDER BY id`, w.args...)
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
