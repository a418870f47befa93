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
	"sync"
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

var _ rotation.Warmer = (*Provider)(nil)

// Warm opens conns connections (at most the pool's size) at once and
// leaves them idle in the pool.
func (p *Provider) Warm(ctx context.Context, conns int) error {
	conns = min(conns, int(p.pool.Config().MaxConns))
	cs, errs := make([]*pgxpool.Conn, conns), make([]error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs[i], errs[i] = p.pool.Acquire(ctx)
		}()
	}
	wg.Wait()
	for _, c := range cs {
		if c != nil {
			c.Release()
		}
	}
	for _, err := range errs {
		if err != nil {
			return describe(err)
		}
	}
	return nil
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
	stmts := make([]string, len(spec.Statements))
	for n, st := range spec.Statements {
		stmts[n] = strings.TrimRight(strings.TrimSpace(r.Replace(st)), "; \t\n")
	}
	// One simple-protocol query: PostgreSQL runs its statements as one
	// transaction (all or nothing, as a BEGIN … COMMIT would) in one round
	// trip instead of two per statement plus BEGIN and COMMIT.
	results, err := p.script(ctx, strings.Join(stmts, ";\n"))
	if err != nil {
		if results < len(stmts) {
			return fmt.Errorf("creation statement %d: %w", results+1, describe(err))
		}
		return describe(err)
	}
	return nil
}

// script runs a multi-statement simple query on one pooled connection and
// returns how many statements completed before the first error.
func (p *Provider) script(ctx context.Context, sql string) (done int, err error) {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Release()
	mrr := c.Conn().PgConn().Exec(ctx, sql)
	for mrr.NextResult() {
		if _, err := mrr.ResultReader().Close(); err != nil {
			_ = mrr.Close()
			return done, err
		}
		done++
	}
	return done, mrr.Close()
}

// ExtendAccount moves the role's VALID UNTIL.
func (p *Provider) ExtendAccount(ctx context.Context, username string, expires time.Time) error {
	_, err := p.pool.Exec(ctx, "ALTER ROLE "+ident(username)+" VALID UNTIL '"+expires.UTC().Format(pgTime)+"'")
	return describe(err)
}

// DropAccount terminates the role's sessions, gives what it owns to the
// admin, drops its privileges and the role.
func (p *Provider) DropAccount(ctx context.Context, username string) (string, error) {
	var killed int
	if err := p.pool.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1", username).Scan(&killed); err != nil {
		return "", err
	}
	// One round trip, one transaction: what the role owns is reassigned,
	// its privileges and the role dropped, or nothing is (a role already
	// gone fails the first statement). The sessions are ended just before:
	// reading pg_stat_activity in the transaction that drops the role made
	// the drop several times slower at c = 8 (bench/rotation).
	role := ident(username)
	_, err := p.pool.Exec(ctx, "REASSIGN OWNED BY "+role+" TO CURRENT_USER;\nDROP OWNED BY "+role+";\nDROP ROLE "+role)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42704" {
		return "role " + username + " does not exist (already dropped)", nil
	}
	if err != nil {
		return "", describe(err)
	}
	return fmt.Sprintf("terminated %d session(s); REASSIGN OWNED, DROP OWNED, DROP ROLE %s", killed, username), nil
}

// pgTime is how expirations are written into SQL (microseconds, UTC).
const pgTime = "2006-01-02 15:04:05.999999Z07:00"
