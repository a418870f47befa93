package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

var (
	_ steward.CustodyStore  = (*Store)(nil)
	_ steward.CustodyTx     = (*tx)(nil)
	_ steward.RotationStore = (*Store)(nil)
	_ steward.RotationTx    = (*tx)(nil)
)

// UpdateCustody runs fn in one write transaction with the custody methods.
func (s *Store) UpdateCustody(ctx context.Context, fn func(tx steward.CustodyTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

// UpdateRotations runs fn in one write transaction with the rotation and
// custody methods.
func (s *Store) UpdateRotations(ctx context.Context, fn func(tx steward.RotationTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

func scanCustodySecret(row rowScanner) (*steward.CustodySecret, error) {
	var c steward.CustodySecret
	var updated int64
	if err := row.Scan(&c.CredentialID, &c.IdentityID, &c.Rotator, &c.CurrentVersion, &updated); err != nil {
		return nil, err
	}
	c.UpdatedAt = fromMicros(updated)
	return &c, nil
}

func (r *reader) GetCustodySecret(ctx context.Context, credentialID string) (*steward.CustodySecret, error) {
	return getOne(ctx, r, "get custody secret", scanCustodySecret,
		steward.Errorf(steward.ENOTFOUND, "credential %s has no secret in custody", credentialID),
		`SELECT credential_id, identity_id, rotator, current_version, updated_at FROM custody_secrets WHERE credential_id = ?`, credentialID)
}

const versionColumns = `credential_id, identity_id, version, sealed, fingerprint, state, created_at, retire_at, destroyed_at`

func scanSecretVersion(row rowScanner) (*steward.SecretVersion, error) {
	var v steward.SecretVersion
	var sealed sql.NullString
	var created int64
	var retire, destroyed sql.NullInt64
	if err := row.Scan(&v.CredentialID, &v.IdentityID, &v.Version, &sealed, &v.Fingerprint, &v.State, &created, &retire, &destroyed); err != nil {
		return nil, err
	}
	v.Sealed, v.CreatedAt = sealed.String, fromMicros(created)
	v.RetireAt, v.DestroyedAt = fromNullMicros(retire), fromNullMicros(destroyed)
	return &v, nil
}

func (r *reader) ListSecretVersions(ctx context.Context, credentialID string) ([]*steward.SecretVersion, error) {
	return queryAll(ctx, r, "list secret versions", scanSecretVersion,
		`SELECT `+versionColumns+` FROM secret_versions WHERE credential_id = ? ORDER BY version DESC`, credentialID)
}

func (r *reader) ListSecretVersionsDue(ctx context.Context, now time.Time, limit int) ([]*steward.SecretVersion, error) {
	return queryAll(ctx, r, "list secret versions due", scanSecretVersion,
		`SELECT `+versionColumns+` FROM secret_versions WHERE state = ? AND retire_at <= ? ORDER BY retire_at LIMIT ?`,
		steward.SecretPrevious, micros(now), limit)
}

func (t *tx) PutCustodySecret(ctx context.Context, c *steward.CustodySecret) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO custody_secrets (credential_id, identity_id, rotator, current_version, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (credential_id) DO UPDATE SET rotator = excluded.rotator,
		current_version = excluded.current_version, updated_at = excluded.updated_at`),
		c.CredentialID, c.IdentityID, c.Rotator, c.CurrentVersion, micros(c.UpdatedAt))
	if isForeignKeyViolation(err) {
		return notFound("credential", c.CredentialID)
	}
	if err != nil {
		return fmt.Errorf("put custody secret: %w", err)
	}
	return nil
}

func (t *tx) PutSecretVersion(ctx context.Context, v *steward.SecretVersion) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO secret_versions (`+versionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (credential_id, version) DO UPDATE SET sealed = excluded.sealed, state = excluded.state,
		retire_at = excluded.retire_at, destroyed_at = excluded.destroyed_at`),
		v.CredentialID, v.IdentityID, v.Version, nullString(v.Sealed), v.Fingerprint, v.State, micros(v.CreatedAt),
		microsPtr(v.RetireAt), microsPtr(v.DestroyedAt))
	if isForeignKeyViolation(err) {
		return notFound("custody secret", v.CredentialID)
	}
	if err != nil {
		return fmt.Errorf("put secret version: %w", err)
	}
	return nil
}
