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
		cidrs                       string
		digest, clientID, jwk, pred sql.NullString
		overlap                     sql.NullInt64
	)
	base, err := scanCredential(scanWithExtra{row, []any{&digest, &cidrs, &clientID, &jwk, &pred, &overlap}})
	if err != nil {
		return nil, err
	}
	c := &steward.BrokerCredential{Credential: *base, Digest: digest.String, PublicJWK: jwk.String, PredecessorID: pred.String}
	c.ClientID, c.OverlapUntil = clientID.String, fromNullMicros(overlap)
	if err := decodeList("allowed_cidrs", cidrs, &c.AllowedCIDRs); err != nil {
		return nil, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	return c, nil
}

func (r *reader) queryBrokerCredentials(ctx context.Context, op, where string, args ...any) (_ []*steward.BrokerCredential, err error) {
	defer func(start time.Time) { r.track(op, start, err) }(time.Now())
	return queryAll(ctx, r, op, scanBrokerCredential, `SELECT `+brokerCredentialColumns+` FROM credentials WHERE `+where, args...)
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
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO credentials (`+brokerCredentialColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`), args...)
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
	return t.execOne(ctx, "update credential", "credential", c.ID,
		`UPDATE credentials SET identity_id=?, type=?, external_ref=?, fingerprint=?, hint=?, status=?,
		scopes=?, created_at=?, expires_at=?, last_rotated_at=?, last_used_at=?, revoked_at=?, metadata=?, revoked_where=?,
		digest=?, allowed_cidrs=?, client_id=?, public_jwk=?, predecessor_id=?, overlap_until=? WHERE id = ?`, append(args[1:], c.ID)...)
}

const signingKeyColumns = `kid, algorithm, public_jwk, private_sealed, status, created_at, retired_at, publish_until`

func scanSigningKey(row rowScanner) (*steward.SigningKey, error) {
	var (
		k                 steward.SigningKey
		created           int64
		retired, publishU sql.NullInt64
	)
	if err := row.Scan(&k.KID, &k.Algorithm, &k.PublicJWK, &k.PrivateSealed, &k.Status, &created, &retired, &publishU); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetiredAt, k.PublishUntil = fromMicros(created), fromNullMicros(retired), fromNullMicros(publishU)
	return &k, nil
}

func (r *reader) ListSigningKeys(ctx context.Context) (_ []*steward.SigningKey, err error) {
	defer func(start time.Time) { r.track("list_signing_keys", start, err) }(time.Now())
	return queryAll(ctx, r, "list signing keys", scanSigningKey, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY created_at, kid`)
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
	return t.execOne(ctx, "update signing key", "signing key", k.KID,
		`UPDATE signing_keys SET status = ?, retired_at = ?, publish_until = ? WHERE kid = ?`, k.Status, microsPtr(k.RetiredAt), microsPtr(k.PublishUntil), k.KID)
}

func scanRevokedJTI(row rowScanner) (*steward.RevokedJTI, error) {
	var j steward.RevokedJTI
	var exp, rev int64
	if err := row.Scan(&j.JTI, &j.CredentialID, &j.IdentityID, &exp, &rev); err != nil {
		return nil, err
	}
	j.ExpiresAt, j.RevokedAt = fromMicros(exp), fromMicros(rev)
	return &j, nil
}

func (r *reader) ListRevokedJTIs(ctx context.Context, now time.Time) (_ []*steward.RevokedJTI, err error) {
	defer func(start time.Time) { r.track("list_revoked_jtis", start, err) }(time.Now())
	return queryAll(ctx, r, "list revoked jtis", scanRevokedJTI,
		`SELECT jti, credential_id, identity_id, expires_at, revoked_at FROM revoked_jtis WHERE expires_at > ? ORDER BY revoked_at, jti`, micros(now))
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
	defer func(start time.Time) { r.track("changes_since", start, err) }(time.Now())
	if limit <= 0 {
		limit = 1000
	}
	return queryAll(ctx, r, fmt.Sprintf("changes since %d", seq), func(row rowScanner) (c steward.ChangeRef, err error) {
		err = row.Scan(&c.Seq, &c.Action, &c.SubjectType, &c.SubjectID, &c.IdentityID)
		return c, err
	}, `SELECT seq, action, subject_type, subject_id, identity_id FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
}

// TouchCredentials records last use of credentials and identities in one
// transaction, never moving a time backwards, locking rows in the one
// order every last-use writer follows (see touchLastUsed).
func (s *Store) TouchCredentials(ctx context.Context, creds, idents map[string]time.Time) (err error) {
	if len(creds) == 0 && len(idents) == 0 {
		return nil
	}
	sqltx, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("touch credentials: %w", err)
	}
	if err := s.touchLastUsed(ctx, sqltx, lastUsed{identities: idents, credentials: creds}); err != nil {
		_ = sqltx.Rollback()
		return fmt.Errorf("touch credentials: %w", err)
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
