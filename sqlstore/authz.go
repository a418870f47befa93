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

var (
	_ steward.AuthzStore = (*Store)(nil)
	_ steward.AuthzTx    = (*tx)(nil)
)

const policyColumns = `name, text, version, updated_at, updated_by, reason, deleted`

func scanPolicy(row rowScanner) (*steward.AuthzPolicy, error) {
	var p steward.AuthzPolicy
	var at int64
	var deleted int
	if err := row.Scan(&p.Name, &p.Text, &p.Version, &at, &p.UpdatedBy, &p.Reason, &deleted); err != nil {
		return nil, err
	}
	p.UpdatedAt, p.Deleted = fromMicros(at), deleted != 0
	return &p, nil
}

func (r *reader) ListAuthzPolicies(ctx context.Context) (_ []*steward.AuthzPolicy, err error) {
	defer func(start time.Time) { r.track("list_authz_policies", start, err) }(time.Now())
	return r.queryPolicies(ctx, `SELECT `+policyColumns+` FROM authz_policies WHERE deleted = 0 ORDER BY name`)
}

func (r *reader) queryPolicies(ctx context.Context, q string, args ...any) ([]*steward.AuthzPolicy, error) {
	return queryAll(ctx, r, "list policies", scanPolicy, q, args...)
}

func (r *reader) GetAuthzPolicy(ctx context.Context, name string) (*steward.AuthzPolicy, error) {
	return getOne(ctx, r, "get policy", scanPolicy, notFound("policy", name), `SELECT `+policyColumns+` FROM authz_policies WHERE name = ? AND deleted = 0`, name)
}

func (r *reader) ListAuthzPolicyVersions(ctx context.Context, name string, limit int) ([]*steward.AuthzPolicy, error) {
	if limit <= 0 || limit > steward.MaxLimit {
		limit = steward.MaxLimit
	}
	q := `SELECT ` + policyColumns + ` FROM authz_policy_versions`
	var args []any
	if name != "" {
		q += ` WHERE name = ?`
		args = append(args, name)
	}
	q += fmt.Sprintf(` ORDER BY updated_at DESC, name, version DESC LIMIT %d`, limit)
	return r.queryPolicies(ctx, q, args...)
}

func (r *reader) ListAuthzEntities(ctx context.Context) (_ []steward.AuthzEntity, err error) {
	defer func(start time.Time) { r.track("list_authz_entities", start, err) }(time.Now())
	return queryAll(ctx, r, "list entities", func(row rowScanner) (e steward.AuthzEntity, err error) {
		var doc string
		err = row.Scan(&e.Type, &e.ID, &doc)
		e.Doc = []byte(doc)
		return e, err
	}, `SELECT type, id, doc FROM authz_entities ORDER BY type, id`)
}

func (r *reader) GetAuthzSchema(ctx context.Context) (*steward.AuthzSchema, error) {
	var s steward.AuthzSchema
	var at int64
	err := r.q.QueryRowContext(ctx, `SELECT text, format, version, updated_at, updated_by FROM authz_schema WHERE id = 1`).
		Scan(&s.Text, &s.Format, &s.Version, &at, &s.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get schema: %w", err)
	}
	s.UpdatedAt = fromMicros(at)
	return &s, nil
}

func (r *reader) AuthzRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := r.q.QueryRowContext(ctx, `SELECT revision FROM authz_revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("authz revision: %w", err)
	}
	return rev, nil
}

// FindCredentialByExternalRef returns the newest credential with ref.
func (r *reader) FindCredentialByExternalRef(ctx context.Context, ref string) (*steward.Credential, error) {
	return getOne(ctx, r, "find credential", scanCredential, notFound("credential", ref), `SELECT `+credentialColumns+` FROM credentials WHERE external_ref = ? ORDER BY created_at DESC LIMIT 1`, ref)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *tx) PutAuthzPolicy(ctx context.Context, p *steward.AuthzPolicy) error {
	args := []any{p.Name, p.Text, p.Version, micros(p.UpdatedAt), p.UpdatedBy, p.Reason, boolInt(p.Deleted)}
	if _, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO authz_policies (`+policyColumns+`) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (name) DO UPDATE SET text = excluded.text, version = excluded.version, updated_at = excluded.updated_at,
		updated_by = excluded.updated_by, reason = excluded.reason, deleted = excluded.deleted`), args...); err != nil {
		return fmt.Errorf("put policy: %w", err)
	}
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO authz_policy_versions (`+policyColumns+`) VALUES (?,?,?,?,?,?,?)`), args...)
	if isUniqueViolation(err) {
		return steward.Errorf(steward.ECONFLICT, "policy %q version %d already exists", p.Name, p.Version)
	}
	if err != nil {
		return fmt.Errorf("put policy version: %w", err)
	}
	return nil
}

// policyVersion returns the newest version number of a policy (0 when none),
// deleted or not.
func (t *tx) policyVersion(ctx context.Context, name string) (int64, error) {
	var v sql.NullInt64
	err := t.q.QueryRowContext(ctx, rebind(t.d, `SELECT MAX(version) FROM authz_policy_versions WHERE name = ?`), name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("policy version: %w", err)
	}
	return v.Int64, nil
}

// NextPolicyVersion returns the version a new change of name gets.
func (t *tx) NextPolicyVersion(ctx context.Context, name string) (int64, error) {
	v, err := t.policyVersion(ctx, name)
	return v + 1, err
}

func (t *tx) ReplaceAuthzEntities(ctx context.Context, es []steward.AuthzEntity) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM authz_entities`); err != nil {
		return fmt.Errorf("replace entities: %w", err)
	}
	return t.UpsertAuthzEntities(ctx, es)
}

func (t *tx) UpsertAuthzEntities(ctx context.Context, es []steward.AuthzEntity) error {
	const batch = 300
	for start := 0; start < len(es); start += batch {
		chunk := es[start:min(start+batch, len(es))]
		args := make([]any, 0, 3*len(chunk))
		for _, e := range chunk {
			args = append(args, e.Type, e.ID, string(e.Doc))
		}
		q := `INSERT INTO authz_entities (type, id, doc) VALUES ` + strings.TrimSuffix(strings.Repeat("(?,?,?),", len(chunk)), ",") +
			` ON CONFLICT (type, id) DO UPDATE SET doc = excluded.doc`
		if _, err := t.q.ExecContext(ctx, rebind(t.d, q), args...); err != nil {
			return fmt.Errorf("upsert entities: %w", err)
		}
	}
	return nil
}

func (t *tx) PutAuthzSchema(ctx context.Context, s *steward.AuthzSchema) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO authz_schema (id, text, format, version, updated_at, updated_by) VALUES (1,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET text = excluded.text, format = excluded.format, version = excluded.version,
		updated_at = excluded.updated_at, updated_by = excluded.updated_by`), s.Text, s.Format, s.Version, micros(s.UpdatedAt), s.UpdatedBy)
	if err != nil {
		return fmt.Errorf("put schema: %w", err)
	}
	return nil
}

func (t *tx) BumpAuthzRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := t.q.QueryRowContext(ctx, `UPDATE authz_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("bump authz revision: %w", err)
	}
	return rev, nil
}

// UpdateAuthz runs fn in one write transaction with the authz methods.
func (s *Store) UpdateAuthz(ctx context.Context, fn func(tx steward.AuthzTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

// ChangedIdentities returns the distinct identity ids of events after seq
// (at most limit events) and the newest seq seen.
func (s *Store) ChangedIdentities(ctx context.Context, afterSeq int64, limit int) ([]string, int64, error) {
	rows, err := s.readDB.QueryContext(ctx, rebind(s.engine, fmt.Sprintf(`SELECT seq, identity_id FROM events WHERE seq > ? ORDER BY seq LIMIT %d`, limit)), afterSeq)
	if err != nil {
		return nil, afterSeq, fmt.Errorf("changed identities: %w", err)
	}
	defer rows.Close()
	head := afterSeq
	seen := map[string]bool{}
	var out []string
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			return nil, afterSeq, fmt.Errorf("changed identities: %w", err)
		}
		head = seq
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, head, rows.Err()
}
