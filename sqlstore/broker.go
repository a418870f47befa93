package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

// The credential broker's persistence: extra credential columns, signing
// keys, the access-token deny list and client-assertion jtis (migration
// 0003_broker).

var (
	_ steward.BrokerStore = (*Store)(nil)
	_ steward.BrokerTx    = (*tx)(nil)
)

// UpdateBroker runs fn in one write transaction with the broker's methods.
func (s *Store) UpdateBroker(ctx context.Context, fn func(tx steward.BrokerTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

const brokerCredentialColumns = credentialColumns + `, digest, allowed_cidrs, client_id, public_jwk, predecessor_id, overlap_until`

func scanBrokerCredential(row rowScanner) (*steward.BrokerCredential, error) {
	var (
		c                                 steward.BrokerCredential
		status, scopes, meta, cidrs       string
		created                           int64
		expires, rotated, used, revokedAt sql.NullInt64
		digest, clientID, jwk, pred       sql.NullString
		overlap                           sql.NullInt64
	)
	if err := row.Scan(&c.ID, &c.IdentityID, &c.Type, &c.ExternalRef, &c.Fingerprint, &c.Hint, &status, &scopes, &created,
		&expires, &rotated, &used, &revokedAt, &meta, &digest, &cidrs, &clientID, &jwk, &pred, &overlap); err != nil {
		return nil, err
	}
	c.Status = steward.CredentialStatus(status)
	c.CreatedAt = fromMicros(created)
	c.ExpiresAt, c.LastRotatedAt, c.LastUsedAt, c.RevokedAt = fromNullMicros(expires), fromNullMicros(rotated), fromNullMicros(used), fromNullMicros(revokedAt)
	c.Digest, c.ClientID, c.PublicJWK, c.PredecessorID = digest.String, clientID.String, jwk.String, pred.String
	c.OverlapUntil = fromNullMicros(overlap)
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("credential %s: scopes: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(meta), &c.Metadata); err != nil {
		return nil, fmt.Errorf("credential %s: metadata: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(cidrs), &c.AllowedCIDRs); err != nil {
		return nil, fmt.Errorf("credential %s: allowed_cidrs: %w", c.ID, err)
	}
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	if c.AllowedCIDRs == nil {
		c.AllowedCIDRs = []string{}
	}
	return &c, nil
}

func (r *reader) queryBrokerCredentials(ctx context.Context, op, where string, args ...any) (_ []*steward.BrokerCredential, err error) {
	start := time.Now()
	defer func() { r.track(op, start, err) }()
	rows, err := r.q.QueryContext(ctx, rebind(r.d, `SELECT `+brokerCredentialColumns+` FROM credentials WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	out := []*steward.BrokerCredential{}
	for rows.Next() {
		c, err := scanBrokerCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

func (r *reader) GetBrokerCredential(ctx context.Context, id string) (*steward.BrokerCredential, error) {
	return getOne(ctx, r, "get credential", scanBrokerCredential, notFound("credential", id), `SELECT `+brokerCredentialColumns+` FROM credentials WHERE id = ?`, id)
}

func (r *reader) FindCredentialByDigest(ctx context.Context, digest string) (_ *steward.BrokerCredential, err error) {
	start := time.Now()
	defer func() { r.track("find_credential_by_digest", start, err) }()
	return getOne(ctx, r, "find credential", scanBrokerCredential, steward.Errorf(steward.ENOTFOUND, "credential not found"), `SELECT `+brokerCredentialColumns+` FROM credentials WHERE digest = ?`, digest)
}

func (r *reader) FindCredentialsByClientID(ctx context.Context, clientID string) ([]*steward.BrokerCredential, error) {
	return r.queryBrokerCredentials(ctx, "find_credentials_by_client", `client_id = ? ORDER BY created_at DESC, id DESC`, clientID)
}

func (r *reader) ListBrokerCredentials(ctx context.Context, identityID string) ([]*steward.BrokerCredential, error) {
	return r.queryBrokerCredentials(ctx, "list_broker_credentials", `identity_id = ? ORDER BY created_at, id`, identityID)
}

func (r *reader) ListCredentialsDue(ctx context.Context, now time.Time, limit int) ([]*steward.BrokerCredential, error) {
	if limit <= 0 {
		limit = 500
	}
	n := micros(now)
	return r.queryBrokerCredentials(ctx, "list_credentials_due",
		`status = 'active' AND digest IS NOT NULL AND ((expires_at IS NOT NULL AND expires_at <= ?) OR (overlap_until IS NOT NULL AND overlap_until <= ?)) ORDER BY expires_at, id LIMIT ?`,
		n, n, limit)
}

func brokerCredentialArgs(c *steward.BrokerCredential) ([]any, error) {
	args, err := credentialArgs(&c.Credential)
	if err != nil {
		return nil, err
	}
	cidrs := c.AllowedCIDRs
	if cidrs == nil {
		cidrs = []string{}
	}
	cb, err := json.Marshal(cidrs)
	if err != nil {
		return nil, err
	}
	return append(args, nullString(c.Digest), string(cb), nullString(c.ClientID), nullString(c.PublicJWK), nullString(c.PredecessorID), microsPtr(c.OverlapUntil)), nil
}

func (t *tx) CreateBrokerCredential(ctx context.Context, c *steward.BrokerCredential) error {
	args, err := brokerCredentialArgs(c)
	if err != nil {
		return fmt.Errorf("create credential: %w", err)
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO credentials (`+brokerCredentialColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`), args...)
	switch {
	case isForeignKeyViolation(err):
		return steward.FieldError("identity_id", "identity %q does not exist", c.IdentityID)
	case isUniqueViolation(err):
		return steward.Errorf(steward.ECONFLICT, "credential %s already exists", c.ID)
	case err != nil:
		return fmt.Errorf("create credential: %w", err)
	}
	return nil
}

func (t *tx) UpdateBrokerCredential(ctx context.Context, c *steward.BrokerCredential) error {
	args, err := brokerCredentialArgs(c)
	if err != nil {
		return fmt.Errorf("update credential: %w", err)
	}
	res, err := t.q.ExecContext(ctx, rebind(t.d, `UPDATE credentials SET identity_id=?, type=?, external_ref=?, fingerprint=?, hint=?, status=?,
		scopes=?, created_at=?, expires_at=?, last_rotated_at=?, last_used_at=?, revoked_at=?, metadata=?,
		digest=?, allowed_cidrs=?, client_id=?, public_jwk=?, predecessor_id=?, overlap_until=? WHERE id = ?`), append(args[1:], c.ID)...)
	if err != nil {
		return fmt.Errorf("update credential: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("credential", c.ID)
	}
	return nil
}

const signingKeyColumns = `kid, algorithm, public_jwk, private_sealed, status, created_at, retired_at, publish_until`

func (r *reader) ListSigningKeys(ctx context.Context) (_ []*steward.SigningKey, err error) {
	start := time.Now()
	defer func() { r.track("list_signing_keys", start, err) }()
	rows, err := r.q.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	out := []*steward.SigningKey{}
	for rows.Next() {
		var (
			k                 steward.SigningKey
			created           int64
			retired, publishU sql.NullInt64
		)
		if err := rows.Scan(&k.KID, &k.Algorithm, &k.PublicJWK, &k.PrivateSealed, &k.Status, &created, &retired, &publishU); err != nil {
			return nil, fmt.Errorf("list signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt, k.PublishUntil = fromMicros(created), fromNullMicros(retired), fromNullMicros(publishU)
		out = append(out, &k)
	}
	return out, rows.Err()
}

func (t *tx) CreateSigningKey(ctx context.Context, k *steward.SigningKey) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES (?,?,?,?,?,?,?,?)`),
		k.KID, k.Algorithm, k.PublicJWK, k.PrivateSealed, k.Status, micros(k.CreatedAt), microsPtr(k.RetiredAt), microsPtr(k.PublishUntil))
	switch {
	case isUniqueViolation(err):
		return steward.Errorf(steward.ECONFLICT, "signing key %s already exists", k.KID)
	case err != nil:
		return fmt.Errorf("create signing key: %w", err)
	}
	return nil
}

func (t *tx) UpdateSigningKey(ctx context.Context, k *steward.SigningKey) error {
	res, err := t.q.ExecContext(ctx, rebind(t.d, `UPDATE signing_keys SET status = ?, retired_at = ?, publish_until = ? WHERE kid = ?`),
		k.Status, microsPtr(k.RetiredAt), microsPtr(k.PublishUntil), k.KID)
	if err != nil {
		return fmt.Errorf("update signing key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("signing key", k.KID)
	}
	return nil
}

func (r *reader) ListRevokedJTIs(ctx context.Context, now time.Time) (_ []*steward.RevokedJTI, err error) {
	start := time.Now()
	defer func() { r.track("list_revoked_jtis", start, err) }()
	rows, err := r.q.QueryContext(ctx, rebind(r.d, `SELECT jti, credential_id, identity_id, expires_at, revoked_at FROM revoked_jtis WHERE expires_at > ? ORDER BY revoked_at, jti`), micros(now))
	if err != nil {
		return nil, fmt.Errorf("list revoked jtis: %w", err)
	}
	defer rows.Close()
	out := []*steward.RevokedJTI{}
	for rows.Next() {
		var j steward.RevokedJTI
		var exp, rev int64
		if err := rows.Scan(&j.JTI, &j.CredentialID, &j.IdentityID, &exp, &rev); err != nil {
			return nil, fmt.Errorf("list revoked jtis: %w", err)
		}
		j.ExpiresAt, j.RevokedAt = fromMicros(exp), fromMicros(rev)
		out = append(out, &j)
	}
	return out, rows.Err()
}

func (t *tx) RevokeJTI(ctx context.Context, j *steward.RevokedJTI) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO revoked_jtis (jti, credential_id, identity_id, expires_at, revoked_at) VALUES (?,?,?,?,?)
		ON CONFLICT (jti) DO NOTHING`), j.JTI, j.CredentialID, j.IdentityID, micros(j.ExpiresAt), micros(j.RevokedAt))
	if err != nil {
		return fmt.Errorf("revoke jti: %w", err)
	}
	return nil
}

func (t *tx) UseAssertionJTI(ctx context.Context, clientID, jti string, expires time.Time) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES (?,?,?)`), clientID, jti, micros(expires))
	switch {
	case isUniqueViolation(err):
		return steward.Errorf(steward.ECONFLICT, "client assertion jti %q was already used", jti)
	case err != nil:
		return fmt.Errorf("record assertion jti: %w", err)
	}
	return nil
}

func (r *reader) ChangesSince(ctx context.Context, seq int64, limit int) (_ []steward.ChangeRef, err error) {
	start := time.Now()
	defer func() { r.track("changes_since", start, err) }()
	if limit <= 0 {
		limit = 1000
	}
	rows, err := r.q.QueryContext(ctx, rebind(r.d, `SELECT seq, action, subject_type, subject_id, identity_id FROM events WHERE seq > ? ORDER BY seq LIMIT ?`), seq, limit)
	if err != nil {
		return nil, fmt.Errorf("changes since %d: %w", seq, err)
	}
	defer rows.Close()
	out := []steward.ChangeRef{}
	for rows.Next() {
		var c steward.ChangeRef
		if err := rows.Scan(&c.Seq, &c.Action, &c.SubjectType, &c.SubjectID, &c.IdentityID); err != nil {
			return nil, fmt.Errorf("changes since %d: %w", seq, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// TouchCredentials records last use of credentials and identities in one
// transaction, never moving a time backwards.
func (s *Store) TouchCredentials(ctx context.Context, creds, idents map[string]time.Time) error {
	if len(creds) == 0 && len(idents) == 0 {
		return nil
	}
	sqltx, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("touch credentials: %w", err)
	}
	for _, q := range []struct {
		stmt string
		m    map[string]time.Time
	}{
		{`UPDATE credentials SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, creds},
		{`UPDATE identities SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, idents},
	} {
		for id, at := range q.m {
			if _, err := sqltx.ExecContext(ctx, rebind(s.engine, q.stmt), micros(at), id, micros(at)); err != nil {
				_ = sqltx.Rollback()
				return fmt.Errorf("touch credentials: %w", err)
			}
		}
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("touch credentials: %w", err)
	}
	return nil
}

// PurgeExpired drops deny-list and assertion entries that expired before now.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) error {
	for _, q := range []string{`DELETE FROM revoked_jtis WHERE expires_at <= ?`, `DELETE FROM assertion_jtis WHERE expires_at <= ?`} {
		if _, err := s.writeDB.ExecContext(ctx, rebind(s.engine, q), micros(now)); err != nil {
			return fmt.Errorf("purge expired: %w", err)
		}
	}
	return nil
}
