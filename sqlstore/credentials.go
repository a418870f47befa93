package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

const credentialColumns = `id, identity_id, type, external_ref, fingerprint, hint, status, scopes, created_at, expires_at,
	last_rotated_at, last_used_at, revoked_at, metadata, revoked_where`

func scanCredential(row rowScanner) (*steward.Credential, error) {
	var (
		c                                 steward.Credential
		status, scopes, meta              string
		created                           int64
		expires, rotated, used, revokedAt sql.NullInt64
	)
	if err := row.Scan(&c.ID, &c.IdentityID, &c.Type, &c.ExternalRef, &c.Fingerprint, &c.Hint, &status, &scopes, &created,
		&expires, &rotated, &used, &revokedAt, &meta, &c.RevokedWhere); err != nil {
		return nil, err
	}
	c.Status = steward.CredentialStatus(status)
	c.CreatedAt = fromMicros(created)
	c.ExpiresAt, c.LastRotatedAt, c.LastUsedAt, c.RevokedAt = fromNullMicros(expires), fromNullMicros(rotated), fromNullMicros(used), fromNullMicros(revokedAt)
	if err := errors.Join(decodeList("scopes", scopes, &c.Scopes), decodeMap("metadata", meta, &c.Metadata)); err != nil {
		return nil, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	return &c, nil
}

func (r *reader) GetCredential(ctx context.Context, id string) (*steward.Credential, error) {
	return getOne(ctx, r, "get credential", scanCredential, notFound("credential", id), `SELECT `+credentialColumns+` FROM credentials WHERE id = ?`, id)
}

func (r *reader) FindCredentialByRef(ctx context.Context, identityID, ref string) (*steward.Credential, error) {
	return getOne(ctx, r, "find credential", scanCredential, notFound("credential", ref), `SELECT `+credentialColumns+` FROM credentials WHERE identity_id = ? AND external_ref = ? ORDER BY created_at DESC LIMIT 1`, identityID, ref)
}

func (r *reader) ListCredentials(ctx context.Context, identityID string) (_ []*steward.Credential, err error) {
	defer func(start time.Time) { r.track("list_credentials", start, err) }(time.Now())
	return queryAll(ctx, r, "list credentials", scanCredential, `SELECT `+credentialColumns+` FROM credentials WHERE identity_id = ? ORDER BY created_at, id`, identityID)
}

func credentialArgs(c *steward.Credential) ([]any, error) {
	scopes, err := jsonText(c.Scopes, "[]")
	if err != nil {
		return nil, err
	}
	meta, err := jsonText(c.Metadata, "{}")
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.IdentityID, c.Type, c.ExternalRef, c.Fingerprint, c.Hint, string(c.Status), scopes, micros(c.CreatedAt),
		microsPtr(c.ExpiresAt), microsPtr(c.LastRotatedAt), microsPtr(c.LastUsedAt), microsPtr(c.RevokedAt), meta, c.RevokedWhere}, nil
}

func (t *tx) CreateCredential(ctx context.Context, c *steward.Credential) error {
	args, err := credentialArgs(c)
	if err != nil {
		return fmt.Errorf("create credential: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO credentials (`+credentialColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`), args...)
	switch {
	case isForeignKeyViolation(err):
		return steward.FieldError("identity_id", "identity %q does not exist", c.IdentityID)
	case err != nil:
		return fmt.Errorf("create credential: %w", err)
	}
	return nil
}

func (t *tx) UpdateCredential(ctx context.Context, c *steward.Credential) error {
	args, err := credentialArgs(c)
	if err != nil {
		return fmt.Errorf("update credential: %w", err)
	}
	return t.execOne(ctx, "update credential", "credential", c.ID,
		`UPDATE credentials SET identity_id=?, type=?, external_ref=?, fingerprint=?, hint=?, status=?,
		scopes=?, created_at=?, expires_at=?, last_rotated_at=?, last_used_at=?, revoked_at=?, metadata=?, revoked_where=? WHERE id = ?`, append(args[1:], c.ID)...)
}
