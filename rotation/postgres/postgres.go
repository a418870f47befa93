// Package postgres rotates PostgreSQL role passwords (ALTER ROLE … PASSWORD
// with a SCRAM-SHA-256 verifier computed here, so the password itself never
// reaches the server's logs) and creates and drops roles for leases. It
// talks to the server through its own pgx pool, never through Steward's
// store.
package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/rotation"
)

// KindName is the rotator kind.
const KindName = "postgres"

// Kind returns the PostgreSQL rotator kind.
func Kind() rotation.Kind { return rotation.Kind{Name: KindName, Split: split, Open: open} }

// split takes the password out of config.url.
func split(cfg map[string]string) (map[string]string, string, []byte, error) {
	raw := cfg["url"]
	if raw == "" {
		return nil, "", nil, steward.FieldError("config.url", "is required (postgres://admin:password@host:port/db)")
	}
	for k := range cfg {
		if k != "url" {
			return nil, "", nil, steward.FieldError("config."+k, "is not a setting of a postgres rotator (only url)")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, "", nil, steward.FieldError("config.url", "must be a postgres://user:password@host:port/db URL")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, "", nil, steward.FieldError("config.url", "must name the admin user")
	}
	pw, _ := u.User.Password()
	user := u.User.Username()
	u.User = url.User(user)
	var secret []byte
	if pw != "" {
		secret = []byte(pw)
	}
	return map[string]string{"url": u.String()}, user, secret, nil
}

// Provider is one PostgreSQL server.
type Provider struct {
	pool *pgxpool.Pool
	base *pgx.ConnConfig
}

var _ rotation.Dynamic = (*Provider)(nil)

func open(ctx context.Context, cfg map[string]string, secret []byte) (rotation.Provider, error) {
	return Open(ctx, cfg["url"], string(secret))
}

// Open connects to the server at dsn as the admin, with password.
func Open(ctx context.Context, dsn, password string) (*Provider, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres rotator url: %w", err)
	}
	if password != "" {
		pc.ConnConfig.Password = password
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pc.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres rotator: %w", err)
	}
	return &Provider{pool: pool, base: pc.ConnConfig}, nil
}

// Close closes the pool.
func (p *Provider) Close() { p.pool.Close() }

// ident quotes a role name.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// Set changes the role's password.
func (p *Provider) Set(ctx context.Context, role string, secret, _ []byte) (string, error) {
	v, err := ScramVerifier(secret)
	if err != nil {
		return "", err
	}
	tag, err := p.pool.Exec(ctx, "ALTER ROLE "+ident(role)+" WITH PASSWORD '"+v+"'")
	if err != nil {
		return "", describe(err)
	}
	var server string
	_ = p.pool.QueryRow(ctx, "SHOW server_version").Scan(&server)
	return fmt.Sprintf("%s (PostgreSQL %s, SCRAM-SHA-256 verifier)", tag.String(), server), nil
}

// Check connects as role with secret.
func (p *Provider) Check(ctx context.Context, role string, secret []byte) error {
	cc := p.base.Copy()
	cc.User, cc.Password = role, string(secret)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cc)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000") {
			return fmt.Errorf("%w: %s (SQLSTATE %s)", rotation.ErrRefused, pe.Message, pe.Code)
		}
		return fmt.Errorf("connect as %s: %w", role, err)
	}
	defer conn.Close(context.Background())
	return conn.Ping(cctx)
}

// describe names the usual failures plainly.
func describe(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "42704":
			return fmt.Errorf("role missing at the provider: %s", pe.Message)
		case "42501":
			return fmt.Errorf("the rotator's admin may not do this: %s", pe.Message)
		}
	}
	return err
}

// ScramVerifier returns the SCRAM-SHA-256 verifier PostgreSQL stores for a
// password (RFC 5802, RFC 7677), with a random salt and 4096 iterations.
func ScramVerifier(password []byte) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	const iter = 4096
	salted, err := pbkdf2.Key(sha256.New, string(password), salt, iter, 32)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	server := mac(salted, "Server Key")
	b := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, b(salt), b(stored[:]), b(server)), nil
}

// CreateAccount runs the creation statements with {{name}}, {{password}}
// and {{expiration}} filled in, in one transaction.
func (p *Provider) CreateAccount(ctx context.Context, spec rotation.LeaseSpec) error {
	r := strings.NewReplacer("{{name}}", spec.Username, "{{password}}", spec.Password, "{{expiration}}", spec.Expires.UTC().Format(pgTime))
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for n, st := range spec.Statements {
			if _, err := tx.Exec(ctx, r.Replace(st)); err != nil {
				return fmt.Errorf("creation statement %d: %w", n+1, describe(err))
			}
		}
		return nil
	})
}

// ExtendAccount moves the role's VALID UNTIL.
func (p *Provider) ExtendAccount(ctx context.Context, username string, expires time.Time) error {
	_, err := p.pool.Exec(ctx, "ALTER ROLE "+ident(username)+" VALID UNTIL '"+expires.UTC().Format(pgTime)+"'")
	return describe(err)
}

// DropAccount terminates the role's sessions, gives what it owns to the
// admin, drops its privileges and the role.
func (p *Provider) DropAccount(ctx context.Context, username string) (string, error) {
	var exists bool
	if err := p.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", username).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		return "role " + username + " does not exist (already dropped)", nil
	}
	var killed int
	if err := p.pool.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1", username).Scan(&killed); err != nil {
		return "", err
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for _, st := range []string{"REASSIGN OWNED BY " + ident(username) + " TO CURRENT_USER", "DROP OWNED BY " + ident(username), "DROP ROLE " + ident(username)} {
			if _, err := tx.Exec(ctx, st); err != nil {
				return describe(err)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("terminated %d session(s); REASSIGN OWNED, DROP OWNED, DROP ROLE %s", killed, username), nil
}

// pgTime is how expirations are written into SQL (microseconds, UTC).
const pgTime = "2006-01-02 15:04:05.999999Z07:00"
