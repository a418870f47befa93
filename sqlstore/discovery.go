package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	if err := pageLimit(&f.Limit); err != nil {
		return nil, err
	}
	var w filter
	w.eq("identity_id", f.IdentityID)
	w.eq("fingerprint", f.Fingerprint)
	w.eq("repository", f.Repository)
	if f.Managed != nil {
		m := 0
		if *f.Managed {
			m = 1
		}
		w.add("managed = ?", m)
	}
	w.eq("status", f.Status)
	if err := w.afterID(f.Cursor, "id < ?"); err != nil {
		return nil, err
	}
	return listPage(ctx, r, "list discoveries", f.Limit, scanSighting, func(x *steward.Sighting) string { return byID(x.ID) },
		`SELECT `+discoveryColumns+` FROM discoveries`+w.where()+` ORDER BY id DESC`, w.args...)
}

func (r *reader) FindCredentialsByFingerprint(ctx context.Context, fp string) ([]*steward.Credential, error) {
	return queryAll(ctx, r, "find credentials", scanCredential, `SELECT `+credentialColumns+` FROM credentials WHERE fingerprint = ? ORDER BY created_at`, fp)
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
