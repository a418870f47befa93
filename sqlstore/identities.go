package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

type reader struct {
	q       querier
	d       Engine
	observe func(op string, d time.Duration, err error)
}

// track reports an operation's duration and outcome; defer it in a closure
// so that it sees the named error result.
func (r *reader) track(op string, start time.Time, err error) {
	if r.observe != nil {
		r.observe(op, time.Since(start), err)
	}
}

const identityColumns = `id, name, kind, provider, external_ref, owner_id, team, purpose, environment, scopes,
	sensitivity, vendor_managed, source, status, created_at, updated_at, expires_at, last_rotated_at,
	last_used_at, labels, exception, version`

type rowScanner interface{ Scan(dest ...any) error }

func scanIdentity(row rowScanner) (*steward.Identity, error) {
	var (
		i                          steward.Identity
		ref, owner, exc            sql.NullString
		scopes, labels             string
		vendor                     int64
		created, updated           int64
		expires, rotated, used     sql.NullInt64
		kind, sens, source, status string
	)
	if err := row.Scan(&i.ID, &i.Name, &kind, &i.Provider, &ref, &owner, &i.Team, &i.Purpose, &i.Environment, &scopes,
		&sens, &vendor, &source, &status, &created, &updated, &expires, &rotated, &used, &labels, &exc, &i.Version); err != nil {
		return nil, err
	}
	i.Kind, i.Sensitivity, i.Source, i.Status = steward.Kind(kind), steward.Sensitivity(sens), steward.Source(source), steward.Status(status)
	i.ExternalRef, i.OwnerID = ref.String, owner.String
	i.VendorManaged = vendor != 0
	i.CreatedAt, i.UpdatedAt = fromMicros(created), fromMicros(updated)
	i.ExpiresAt, i.LastRotatedAt, i.LastUsedAt = fromNullMicros(expires), fromNullMicros(rotated), fromNullMicros(used)
	if err := errors.Join(decodeList("scopes", scopes, &i.Scopes), decodeMap("labels", labels, &i.Labels),
		decodeOptional("exception", exc, &i.Exception)); err != nil {
		return nil, fmt.Errorf("identity %s: %w", i.ID, err)
	}
	return &i, nil
}

func (r *reader) GetIdentity(ctx context.Context, id string) (_ *steward.Identity, err error) {
	defer func(start time.Time) { r.track("get_identity", start, err) }(time.Now())
	row := r.q.QueryRowContext(ctx, rebind(r.d, `SELECT `+identityColumns+` FROM identities WHERE id = ?`), id)
	i, err := scanIdentity(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("identity", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get identity: %w", err)
	}
	return i, nil
}

func (r *reader) FindIdentityByRef(ctx context.Context, provider, ref string) (*steward.Identity, error) {
	row := r.q.QueryRowContext(ctx, rebind(r.d, `SELECT `+identityColumns+` FROM identities WHERE provider = ? AND external_ref = ?`), provider, ref)
	i, err := scanIdentity(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("identity", provider+":"+ref)
	}
	if err != nil {
		return nil, fmt.Errorf("find identity: %w", err)
	}
	return i, nil
}

// cursor is the keyset position of the last row of a page.
type cursor struct {
	K  *int64  `json:"k,omitempty"` // numeric sort key
	S  *string `json:"s,omitempty"` // text sort key
	ID string  `json:"id"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return c, steward.FieldError("cursor", "is not a cursor returned by this list")
	}
	return c, nil
}

// nullHigh sorts NULL times after every real time.
const nullHigh = "9223372036854775807"

func (r *reader) ListIdentities(ctx context.Context, f steward.IdentityFilter) (_ *steward.Page[*steward.Identity], err error) {
	defer func(start time.Time) { r.track("list_identities", start, err) }(time.Now())
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.IDs != nil && len(f.IDs) == 0 {
		return &steward.Page[*steward.Identity]{Items: []*steward.Identity{}}, nil
	}
	q, args, textKey, err := identityListSQL(f)
	if err != nil {
		return nil, err
	}
	// Each row comes with its sort key, which makes the next page's cursor.
	var keys []cursor
	scan := func(row rowScanner) (*steward.Identity, error) {
		var keyText sql.NullString
		var keyNum sql.NullInt64
		var keyDest any = &keyNum
		if textKey {
			keyDest = &keyText
		}
		i, err := scanIdentity(scanWithExtra{row, []any{keyDest}})
		if err != nil {
			return nil, err
		}
		c := cursor{ID: i.ID}
		if textKey {
			c.S = &keyText.String
		} else {
			c.K = &keyNum.Int64
		}
		keys = append(keys, c)
		return i, nil
	}
	return listPage(ctx, r, "list identities", f.Limit, scan, func(*steward.Identity) string { return encodeCursor(keys[f.Limit-1]) }, q, args...)
}

// identityListSQL is the query of one page of ListIdentities for a
// validated filter with a non-empty IDs (when set), without its LIMIT;
// textKey tells whether its last column, the sort key, is text.
func identityListSQL(f steward.IdentityFilter) (q string, args []any, textKey bool, err error) {
	var w filter
	switch f.OwnerID {
	case "":
	case "none":
		w.add("owner_id IS NULL")
	default:
		w.add("owner_id = ?", f.OwnerID)
	}
	w.eq("owner_id", f.OwnedBy)
	w.eq("team", f.Team)
	enum(&w, "kind", string(f.Kind), steward.ValidKind(f.Kind))
	w.eq("provider", f.Provider)
	w.eq("environment", f.Environment)
	enum(&w, "status", string(f.Status), steward.ValidStatus(f.Status))
	enum(&w, "sensitivity", string(f.Sensitivity), steward.ValidSensitivity(f.Sensitivity))
	enum(&w, "source", string(f.Source), steward.ValidSource(f.Source))
	if f.ExpiresBefore != nil {
		w.add("expires_at < ?", micros(*f.ExpiresBefore))
	}
	if f.UnusedSince != nil {
		w.add("(last_used_at IS NULL OR last_used_at < ?)", micros(*f.UnusedSince))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		like := "%" + escapeLike(strings.ToLower(q)) + "%"
		w.add(`(lower(name) LIKE ? ESCAPE '\' OR lower(COALESCE(external_ref, '')) LIKE ? ESCAPE '\' OR lower(purpose) LIKE ? ESCAPE '\' OR lower(team) LIKE ? ESCAPE '\')`, like, like, like, like)
	}
	if len(f.IDs) > 0 {
		w.add("id IN ("+placeholders(len(f.IDs))+")", anySlice(f.IDs)...)
	}

	sortKey := strings.TrimPrefix(f.Sort, "-")
	desc := strings.HasPrefix(f.Sort, "-")
	if sortKey == "" {
		sortKey = "created_at"
	}
	var keyExpr string
	switch sortKey {
	case "name":
		keyExpr, textKey = "name", true
	case "created_at":
		keyExpr = "created_at"
	default:
		keyExpr = "COALESCE(" + sortKey + ", " + nullHigh + ")"
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, false, err
		}
		op := ">"
		if desc {
			op = "<"
		}
		var key any
		switch {
		case textKey && c.S != nil:
			key = *c.S
		case !textKey && c.K != nil:
			key = *c.K
		default:
			return "", nil, false, steward.FieldError("cursor", "does not belong to sort %q", f.Sort)
		}
		w.add(fmt.Sprintf("(%s %s ? OR (%s = ? AND id %s ?))", keyExpr, op, keyExpr, op), key, key, c.ID)
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	q = `SELECT ` + identityColumns + `, ` + keyExpr + ` FROM identities` + w.where() + fmt.Sprintf(" ORDER BY %s %s, id %s", keyExpr, dir, dir)
	return q, w.args, textKey, nil
}

// enum adds "col = 'v'" for a value of a closed enumeration (valid), as a
// literal: PostgreSQL may run a cached statement with a generic plan,
// planned without the parameter's value, and these columns' indexes are
// plain ones (PostgreSQL migration 0018) that pay off for a rare value only, which the
// planner can tell only from the value itself. Each value is its own
// statement (a few dozen at most). Anything else stays a parameter.
func enum(w *filter, col, v string, valid bool) {
	if valid && !strings.ContainsAny(v, `'\`) {
		w.add(col + " = '" + v + "'")
		return
	}
	w.eq(col, v)
}

// scanWithExtra scans a row with extra trailing columns.
type scanWithExtra struct {
	rows  rowScanner
	extra []any
}

func (s scanWithExtra) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.extra...)...) }

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for n, s := range ss {
		out[n] = s
	}
	return out
}

func (r *reader) InventoryStats(ctx context.Context, now time.Time) (_ *steward.InventoryStats, err error) {
	defer func(start time.Time) { r.track("inventory_stats", start, err) }(time.Now())
	st := &steward.InventoryStats{
		ByStatus: map[string]int64{}, ByKind: map[string]int64{}, ByProvider: map[string]int64{},
		BySensitivity: map[string]int64{}, ByEnvironment: map[string]int64{},
	}
	for col, m := range map[string]map[string]int64{"status": st.ByStatus, "kind": st.ByKind, "provider": st.ByProvider, "sensitivity": st.BySensitivity, "environment": st.ByEnvironment} {
		rows, err := r.q.QueryContext(ctx, `SELECT `+col+`, COUNT(*) FROM identities GROUP BY `+col)
		if err != nil {
			return nil, fmt.Errorf("inventory stats: %w", err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("inventory stats: %w", err)
			}
			m[k] = n
			if col == "status" {
				st.Identities += n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("inventory stats: %w", err)
		}
	}
	queries := []struct {
		dst  *int64
		q    string
		args []any
	}{
		{&st.Unowned, `SELECT COUNT(*) FROM identities WHERE owner_id IS NULL AND status <> 'revoked'`, nil},
		{&st.Orphaned, `SELECT COUNT(*) FROM identities i JOIN owners o ON o.id = i.owner_id WHERE o.status = 'departed' AND i.status <> 'revoked'`, nil},
		{&st.Expired, `SELECT COUNT(*) FROM identities WHERE status = 'expired' OR (status = 'active' AND expires_at < ?)`, []any{micros(now)}},
		{&st.Owners, `SELECT COUNT(*) FROM owners`, nil},
		{&st.Departed, `SELECT COUNT(*) FROM owners WHERE status = 'departed'`, nil},
		{&st.Events, `SELECT COALESCE(MAX(seq), 0) FROM events`, nil},
	}
	for _, q := range queries {
		if err := r.q.QueryRowContext(ctx, rebind(r.d, q.q), q.args...).Scan(q.dst); err != nil {
			return nil, fmt.Errorf("inventory stats: %w", err)
		}
	}
	return st, nil
}

func identityArgs(i *steward.Identity) ([]any, error) {
	scopes, err := jsonText(i.Scopes, "[]")
	if err != nil {
		return nil, err
	}
	labels, err := jsonText(i.Labels, "{}")
	if err != nil {
		return nil, err
	}
	var exc any
	if i.Exception != nil {
		b, err := json.Marshal(i.Exception)
		if err != nil {
			return nil, err
		}
		exc = string(b)
	}
	vendor := 0
	if i.VendorManaged {
		vendor = 1
	}
	return []any{i.ID, i.Name, string(i.Kind), i.Provider, nullString(i.ExternalRef), nullString(i.OwnerID), i.Team, i.Purpose,
		i.Environment, scopes, string(i.Sensitivity), vendor, string(i.Source), string(i.Status),
		micros(i.CreatedAt), micros(i.UpdatedAt), microsPtr(i.ExpiresAt), microsPtr(i.LastRotatedAt), microsPtr(i.LastUsedAt),
		labels, exc, i.Version}, nil
}

func (t *tx) CreateIdentity(ctx context.Context, i *steward.Identity) error {
	args, err := identityArgs(i)
	if err != nil {
		return fmt.Errorf("create identity: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO identities (`+identityColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`), args...)
	return identityWriteError("create", i, err)
}

// identityWriteError names what a failed write of i ran into.
func identityWriteError(op string, i *steward.Identity, err error) error {
	switch {
	case isUniqueViolation(err):
		return steward.Errorf(steward.ECONFLICT, "an identity with provider %q and external_ref %q already exists", i.Provider, i.ExternalRef)
	case isForeignKeyViolation(err):
		return steward.FieldError("owner_id", "owner %q does not exist", i.OwnerID)
	case err != nil:
		return fmt.Errorf("%s identity: %w", op, err)
	}
	return nil
}

func (t *tx) UpdateIdentity(ctx context.Context, i *steward.Identity) error {
	args, err := identityArgs(i)
	if err != nil {
		return fmt.Errorf("update identity: %w", err)
	}
	// args[0] is the id; move it to the WHERE clause with the old version.
	set := `name=?, kind=?, provider=?, external_ref=?, owner_id=?, team=?, purpose=?, environment=?, scopes=?,
		sensitivity=?, vendor_managed=?, source=?, status=?, created_at=?, updated_at=?, expires_at=?, last_rotated_at=?,
		last_used_at=?, labels=?, exception=?, version=?`
	res, err := t.q.ExecContext(ctx, rebind(t.d, `UPDATE identities SET `+set+` WHERE id = ? AND version = ?`), append(args[1:], i.ID, i.Version-1)...)
	if err := identityWriteError("update", i, err); err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := t.GetIdentity(ctx, i.ID); err != nil {
			return err
		}
		return steward.Errorf(steward.ECONFLICT, "identity %s was changed by someone else (version %d is stale); reload and retry", i.ID, i.Version-1)
	}
	return nil
}

func (t *tx) DeleteIdentity(ctx context.Context, id string) error {
	return t.execOne(ctx, "delete identity", "identity", id,
		`DELETE FROM identities WHERE id = ?`, id)
}
