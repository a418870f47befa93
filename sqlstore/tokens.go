package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/steward-nhi/steward"
)

// tx is one write transaction.
type tx struct {
	reader
	sqltx *sql.Tx
	// conn is the connection a PostgreSQL transaction runs on (bulk
	// writes use COPY on it); nil on SQLite.
	conn *sql.Conn

	chainLoaded bool
	headSeq     int64
	headHash    string
	// insertEvent is prepared once per transaction (batched appends).
	insertEvent *sql.Stmt
	// deferred names the tables whose secondary indexes DeferIndexes
	// dropped; rebuild holds their definitions, recreated before commit.
	deferred map[string]bool
	rebuild  []string
	// bulkCache: the SQLite writer's page cache is raised for this
	// transaction (raiseWriteCache) and is restored when it ends.
	bulkCache bool
}

var _ steward.Tx = (*tx)(nil)

const tokenColumns = `id, name, role, owner_id, digest, created_at, created_by, expires_at, last_used_at, revoked_at`

func scanToken(row rowScanner) (*steward.OperatorToken, error) {
	var (
		t                      steward.OperatorToken
		role                   string
		owner                  sql.NullString
		created                int64
		expires, used, revoked sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.Name, &role, &owner, &t.Digest, &created, &t.CreatedBy, &expires, &used, &revoked); err != nil {
		return nil, err
	}
	t.Role, t.OwnerID = steward.Role(role), owner.String
	t.CreatedAt = fromMicros(created)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromNullMicros(expires), fromNullMicros(used), fromNullMicros(revoked)
	return &t, nil
}

func (r *reader) GetToken(ctx context.Context, id string) (*steward.OperatorToken, error) {
	return getOne(ctx, r, "get token", scanToken, notFound("token", id), `SELECT `+tokenColumns+` FROM operator_tokens WHERE id = ?`, id)
}

func (r *reader) FindTokenByDigest(ctx context.Context, digest string) (*steward.OperatorToken, error) {
	return getOne(ctx, r, "find token", scanToken, steward.Errorf(steward.ENOTFOUND, "token not found"), `SELECT `+tokenColumns+` FROM operator_tokens WHERE digest = ?`, digest)
}

func (r *reader) ListTokens(ctx context.Context) ([]*steward.OperatorToken, error) {
	return queryAll(ctx, r, "list tokens", scanToken, `SELECT `+tokenColumns+` FROM operator_tokens ORDER BY created_at, id`)
}

func (t *tx) CreateToken(ctx context.Context, tok *steward.OperatorToken) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO operator_tokens (`+tokenColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)`),
		tok.ID, tok.Name, string(tok.Role), nullString(tok.OwnerID), tok.Digest, micros(tok.CreatedAt), tok.CreatedBy,
		microsPtr(tok.ExpiresAt), microsPtr(tok.LastUsedAt), microsPtr(tok.RevokedAt))
	switch {
	case isForeignKeyViolation(err):
		return steward.FieldError("owner_id", "owner %q does not exist", tok.OwnerID)
	case err != nil:
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

func (t *tx) UpdateToken(ctx context.Context, tok *steward.OperatorToken) error {
	return t.execOne(ctx, "update token", "token", tok.ID,
		`UPDATE operator_tokens SET name=?, expires_at=?, revoked_at=? WHERE id = ?`, tok.Name, microsPtr(tok.ExpiresAt), microsPtr(tok.RevokedAt), tok.ID)
}
