package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/steward-nhi/steward"
)

var (
	_ steward.DiscoveryStore = (*Store)(nil)
	_ steward.DiscoveryTx    = (*tx)(nil)
)

// UpdateDiscovery runs fn in one write transaction with the discovery
// methods.
func (s *Store) UpdateDiscovery(ctx context.Context, fn func(tx steward.DiscoveryTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

const discoveryColumns = `id, fingerprint, rule, source, repository, file, line, col, commit_sha, author, email, context, severity,
	managed, credential_id, identity_id, suggested_owner, status, first_seen, last_seen, occurrences, auto_revoked`

func scanSighting(row rowScanner) (*steward.Sighting, error) {
	var d steward.Sighting
	var managed, revoked int64
	var first, last int64
	if err := row.Scan(&d.ID, &d.Fingerprint, &d.Rule, &d.Source, &d.Repository, &d.File, &d.Line, &d.Column, &d.Commit, &d.Author,
		&d.Email, &d.Context, &d.Severity, &managed, &d.CredentialID, &d.IdentityID, &d.SuggestedOwner, &d.Status, &first, &last,
		&d.Occurrences, &revoked); err != nil {
		return nil, err
	}
	d.Managed, d.AutoRevoked = managed != 0, revoked != 0
	d.FirstSeen, d.LastSeen = fromMicros(first), fromMicros(last)
	return &d, nil
}

func (r *reader) ListSightings(ctx context.Context, f steward.SightingFilter) (*steward.Page[*steward.Sighting], error) {
	if f.Limit < 0 || f.Limit > steward.MaxLimit {
		return nil, steward.FieldError("limit", "must be between 1 and %d", steward.MaxLimit)
	}
	if f.Limit == 0 {
		f.Limit = steward.DefaultLimit
	}
	var where []string
	var args []any
	add := func(c string, a ...any) { where = append(where, c); args = append(args, a...) }
	if f.IdentityID != "" {
		add("identity_id = ?", f.IdentityID)
	}
	if f.Fingerprint != "" {
		add("fingerprint = ?", f.Fingerprint)
	}
	if f.Repository != "" {
		add("repository = ?", f.Repository)
	}
	if f.Managed != nil {
		m := 0
		if *f.Managed {
			m = 1
		}
		add("managed = ?", m)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		add("id < ?", c.ID)
	}
	q := `SELECT ` + discoveryColumns + ` FROM discoveries`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit+1)
	rows, err := r.q.QueryContext(ctx, rebind(r.d, q), args...)
	if err != nil {
		return nil, fmt.Errorf("list discoveries: %w", err)
	}
	defer rows.Close()
	page := &steward.Page[*steward.Sighting]{Items: []*steward.Sighting{}}
	for rows.Next() {
		if len(page.Items) == f.Limit {
			page.NextCursor = encodeCursor(cursor{ID: page.Items[len(page.Items)-1].ID})
			break
		}
		d, err := scanSighting(rows)
		if err != nil {
			return nil, fmt.Errorf("list discoveries: %w", err)
		}
		page.Items = append(page.Items, d)
	}
	return page, rows.Err()
}

func (r *reader) FindCredentialsByFingerprint(ctx context.Context, fp string) ([]*steward.Credential, error) {
	rows, err := r.q.QueryContext(ctx, rebind(r.d, `SELECT `+credentialColumns+` FROM credentials WHERE fingerprint = ? ORDER BY created_at`), fp)
	if err != nil {
		return nil, fmt.Errorf("find credentials: %w", err)
	}
	defer rows.Close()
	out := []*steward.Credential{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("find credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *tx) UpsertSighting(ctx context.Context, d *steward.Sighting) (bool, error) {
	old, err := scanSighting(t.q.QueryRowContext(ctx, rebind(t.d, `SELECT `+discoveryColumns+` FROM discoveries WHERE fingerprint = ? AND repository = ? AND file = ?`),
		d.Fingerprint, d.Repository, d.File))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO discoveries (`+discoveryColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`),
			d.ID, d.Fingerprint, d.Rule, d.Source, d.Repository, d.File, d.Line, d.Column, d.Commit, d.Author, d.Email, d.Context, d.Severity,
			boolInt(d.Managed), d.CredentialID, d.IdentityID, d.SuggestedOwner, d.Status, micros(d.FirstSeen), micros(d.LastSeen), d.Occurrences, boolInt(d.AutoRevoked))
		if err != nil {
			return false, fmt.Errorf("insert discovery: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("find discovery: %w", err)
	}
	old.LastSeen = d.LastSeen
	old.Occurrences++
	old.Line, old.Column, old.Context = d.Line, d.Column, d.Context
	if old.IdentityID == "" {
		old.IdentityID, old.CredentialID, old.Managed = d.IdentityID, d.CredentialID, d.Managed
	}
	if _, err := t.q.ExecContext(ctx, rebind(t.d, `UPDATE discoveries SET last_seen = ?, occurrences = ?, line = ?, col = ?, context = ?,
		identity_id = ?, credential_id = ?, managed = ?, status = 'open' WHERE id = ?`),
		micros(old.LastSeen), old.Occurrences, old.Line, old.Column, old.Context, old.IdentityID, old.CredentialID, boolInt(old.Managed), old.ID); err != nil {
		return false, fmt.Errorf("update discovery: %w", err)
	}
	*d = *old
	return false, nil
}
