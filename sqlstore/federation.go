package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

var (
	_ steward.FederationStore = (*Store)(nil)
	_ steward.FederationTx    = (*tx)(nil)
)

// UpdateFederation runs fn in one write transaction with the federation
// methods.
func (s *Store) UpdateFederation(ctx context.Context, fn func(tx steward.FederationTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

func (r *reader) ListTrustedIssuers(ctx context.Context) (_ []*steward.TrustedIssuer, err error) {
	defer func(start time.Time) { r.track("list_trusted_issuers", start, err) }(time.Now())
	return queryAll(ctx, r, "list trusted issuers", scanDoc[steward.TrustedIssuer], `SELECT doc FROM federation_issuers ORDER BY name`)
}

func (r *reader) GetTrustedIssuer(ctx context.Context, name string) (*steward.TrustedIssuer, error) {
	return getOne(ctx, r, "get trusted issuer", scanDoc[steward.TrustedIssuer], notFound("trusted issuer", name), `SELECT doc FROM federation_issuers WHERE name = ?`, name)
}

const bindingColumns = `b.id, b.identity_id, b.issuer, b.subject, b.claims, b.created_at, b.created_by, c.status, c.revoked_at`

func scanBinding(row rowScanner) (*steward.FederationBinding, error) {
	var (
		b       steward.FederationBinding
		claims  string
		at      int64
		revoked sql.NullInt64
	)
	if err := row.Scan(&b.ID, &b.IdentityID, &b.Issuer, &b.Subject, &claims, &at, &b.CreatedBy, &b.Status, &revoked); err != nil {
		return nil, err
	}
	b.CreatedAt = fromMicros(at)
	if revoked.Valid {
		b.Status = steward.CredentialRevoked
	}
	if err := decodeMap("claims", claims, &b.Claims); err != nil {
		return nil, fmt.Errorf("binding %s: %w", b.ID, err)
	}
	return &b, nil
}

func (r *reader) ListFederationBindings(ctx context.Context, identityID string) (_ []*steward.FederationBinding, err error) {
	defer func(start time.Time) { r.track("list_federation_bindings", start, err) }(time.Now())
	q := `SELECT ` + bindingColumns + ` FROM federation_bindings b JOIN credentials c ON c.id = b.id`
	var args []any
	if identityID != "" {
		q += ` WHERE b.identity_id = ?`
		args = append(args, identityID)
	}
	return queryAll(ctx, r, "list federation bindings", scanBinding, q+` ORDER BY b.created_at, b.id`, args...)
}

func (r *reader) ListBindingsForIssuer(ctx context.Context, issuer string) (_ []*steward.FederationBinding, err error) {
	defer func(start time.Time) { r.track("list_bindings_for_issuer", start, err) }(time.Now())
	return queryAll(ctx, r, "list bindings for issuer", scanBinding, `SELECT `+bindingColumns+` FROM federation_bindings b
		JOIN credentials c ON c.id = b.id WHERE b.issuer = ? AND c.status = 'active' AND c.revoked_at IS NULL ORDER BY b.created_at, b.id`, issuer)
}

// PutTrustedIssuer stores ti as the current version, numbered after the
// newest recorded one (versions continue across a delete), and appends it
// to the history.
func (t *tx) PutTrustedIssuer(ctx context.Context, ti *steward.TrustedIssuer) error {
	v, err := t.newestIssuerVersion(ctx, ti.Name)
	if err != nil {
		return err
	}
	ti.Version = v + 1
	doc, err := json.Marshal(ti)
	if err != nil {
		return err
	}
	if _, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO federation_issuers (name, issuer, doc, version, updated_at) VALUES (?,?,?,?,?)
		ON CONFLICT (name) DO UPDATE SET issuer = excluded.issuer, doc = excluded.doc, version = excluded.version, updated_at = excluded.updated_at`),
		ti.Name, ti.Issuer, string(doc), ti.Version, micros(ti.UpdatedAt)); err != nil {
		return fmt.Errorf("put trusted issuer: %w", err)
	}
	return t.issuerVersion(ctx, ti, string(doc), false)
}

func (t *tx) issuerVersion(ctx context.Context, ti *steward.TrustedIssuer, doc string, deleted bool) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO federation_issuer_versions (name, version, doc, deleted, updated_at) VALUES (?,?,?,?,?)`),
		ti.Name, ti.Version, doc, boolInt(deleted), micros(ti.UpdatedAt))
	if isUniqueViolation(err) {
		return steward.Errorf(steward.ECONFLICT, "trusted issuer %q version %d already exists", ti.Name, ti.Version)
	}
	if err != nil {
		return fmt.Errorf("put trusted issuer version: %w", err)
	}
	return nil
}

// DeleteTrustedIssuer removes the issuer and records a deleted version.
func (t *tx) DeleteTrustedIssuer(ctx context.Context, name string) error {
	cur, err := t.GetTrustedIssuer(ctx, name)
	if err != nil {
		return err
	}
	if _, err := t.q.ExecContext(ctx, rebind(t.d, `DELETE FROM federation_issuers WHERE name = ?`), name); err != nil {
		return fmt.Errorf("delete trusted issuer: %w", err)
	}
	v, err := t.newestIssuerVersion(ctx, name)
	if err != nil {
		return err
	}
	cur.Version = v + 1
	return t.issuerVersion(ctx, cur, "{}", true)
}

// CreateFederationBinding writes a binding; its credential (same id) must
// exist.
func (t *tx) CreateFederationBinding(ctx context.Context, b *steward.FederationBinding) error {
	claims, err := jsonText(b.Claims, "{}")
	if err != nil {
		return err
	}
	_, err = t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO federation_bindings (id, identity_id, issuer, subject, claims, created_at, created_by) VALUES (?,?,?,?,?,?,?)`),
		b.ID, b.IdentityID, b.Issuer, b.Subject, claims, micros(b.CreatedAt), b.CreatedBy)
	switch {
	case isUniqueViolation(err):
		return steward.Errorf(steward.ECONFLICT, "binding %s already exists", b.ID)
	case isForeignKeyViolation(err):
		return steward.Errorf(steward.ENOTFOUND, "binding %s: its identity or credential does not exist", b.ID)
	case err != nil:
		return fmt.Errorf("create binding: %w", err)
	}
	return nil
}

func (t *tx) newestIssuerVersion(ctx context.Context, name string) (int64, error) {
	var v sql.NullInt64
	if err := t.q.QueryRowContext(ctx, rebind(t.d, `SELECT MAX(version) FROM federation_issuer_versions WHERE name = ?`), name).Scan(&v); err != nil {
		return 0, fmt.Errorf("trusted issuer version: %w", err)
	}
	return v.Int64, nil
}
