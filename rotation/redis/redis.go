// Package redis rotates the passwords of Redis 7 ACL users and creates and
// drops ACL users for leases. It speaks RESP over its own connections (a
// few commands: AUTH, ACL GETUSER|SETUSER|DELUSER|SAVE, CLIENT KILL), never
// through Steward's store.
//
// A static rotation adds the new password beside the old one (set), logs
// in with it (test), then removes the old one (finish, Retire) and proves
// it refused: at every moment at least one password custody holds works.
// Passwords reach the server in their SHA-256 form (#hash, !hash), so they
// never appear in its command logs.
package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/rotation"
)

// KindName is the rotator kind.
const KindName = "redis"

// Kind returns the Redis rotator kind.
func Kind() rotation.Kind { return rotation.Kind{Name: KindName, Split: split, Open: open} }

// split takes the password out of config.url.
func split(cfg map[string]string) (map[string]string, string, []byte, error) {
	raw := cfg["url"]
	if raw == "" {
		return nil, "", nil, steward.FieldError("config.url", "is required (redis://admin:password@host:port)")
	}
	public := map[string]string{}
	for k, v := range cfg {
		switch k {
		case "url":
		case "acl_save":
			if v != "true" && v != "false" {
				return nil, "", nil, steward.FieldError("config.acl_save", "must be true or false, not %q", v)
			}
			public[k] = v
		default:
			return nil, "", nil, steward.FieldError("config."+k, "is not a setting of a redis rotator (url, acl_save)")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, "", nil, steward.FieldError("config.url", "must be a redis://user:password@host:port URL")
	}
	if u.Scheme != "redis" {
		return nil, "", nil, steward.FieldError("config.url", "scheme %q is not supported (only redis://; TLS is not yet)", u.Scheme)
	}
	user, pw := "default", ""
	if u.User != nil {
		if n := u.User.Username(); n != "" {
			user = n
		}
		pw, _ = u.User.Password()
	}
	clean := url.URL{Scheme: "redis", User: url.User(user), Host: u.Host}
	public["url"] = clean.String()
	var secret []byte
	if pw != "" {
		secret = []byte(pw)
	}
	return public, user, secret, nil
}

// Provider is one Redis server, reached as its admin user.
type Provider struct {
	addr    string
	user    string
	pass    string
	aclSave bool
	idle    chan *conn
}

var _ rotation.Dynamic = (*Provider)(nil)
var _ rotation.Retirer = (*Provider)(nil)

func open(_ context.Context, cfg map[string]string, secret []byte) (rotation.Provider, error) {
	u, err := url.Parse(cfg["url"])
	if err != nil {
		return nil, fmt.Errorf("redis rotator url: %w", err)
	}
	user := "default"
	if u.User != nil && u.User.Username() != "" {
		user = u.User.Username()
	}
	return New(u.Host, user, string(secret), cfg["acl_save"] == "true"), nil
}

// New returns the provider for the server at addr (host:port, port 6379
// when omitted), administered as user with password; aclSave runs ACL SAVE
// after each change (for servers that keep their users in an aclfile).
func New(addr, user, password string, aclSave bool) *Provider {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "6379")
	}
	return &Provider{addr: addr, user: user, pass: password, aclSave: aclSave, idle: make(chan *conn, 8)}
}

// Close closes the idle connections.
func (p *Provider) Close() {
	for {
		select {
		case c := <-p.idle:
			_ = c.Close()
		default:
			return
		}
	}
}

const dialTimeout = 5 * time.Second

// admin runs commands on an admin connection (from the idle ones or new).
func (p *Provider) admin(ctx context.Context, fn func(c *conn) error) error {
	var c *conn
	select {
	case c = <-p.idle:
	default:
		var err error
		if c, err = dial(ctx, p.addr, dialTimeout); err != nil {
			return fmt.Errorf("redis at %s unreachable: %w", p.addr, err)
		}
		if _, err := c.do(ctx, "AUTH", p.user, p.pass); err != nil {
			_ = c.Close()
			var se *ServerError
			if errors.As(err, &se) {
				return fmt.Errorf("the rotator's admin %s was refused by redis at %s: %s", p.user, p.addr, se.Msg)
			}
			return fmt.Errorf("redis at %s: %w", p.addr, err)
		}
	}
	err := fn(c)
	var se *ServerError
	if err != nil && !errors.As(err, &se) {
		_ = c.Close() // broken connection
		return err
	}
	select {
	case p.idle <- c:
	default:
		_ = c.Close()
	}
	return err
}

func hash(secret []byte) string {
	h := sha256.Sum256(secret)
	return hex.EncodeToString(h[:])
}

// exists reports whether the ACL user exists.
func exists(ctx context.Context, c *conn, user string) (bool, error) {
	v, err := c.do(ctx, "ACL", "GETUSER", user)
	if err != nil {
		return false, describe(err)
	}
	return v != nil, nil
}

// passwords counts the user's passwords (ACL GETUSER's "passwords" field).
func passwords(ctx context.Context, c *conn, user string) int {
	v, err := c.do(ctx, "ACL", "GETUSER", user)
	fields, ok := v.([]any)
	if err != nil || !ok {
		return -1
	}
	for n := 0; n+1 < len(fields); n += 2 {
		if k, _ := fields[n].(string); k == "passwords" {
			if l, ok := fields[n+1].([]any); ok {
				return len(l)
			}
		}
	}
	return -1
}

func (p *Provider) save(ctx context.Context, c *conn) (string, error) {
	if !p.aclSave {
		return "", nil
	}
	if _, err := c.do(ctx, "ACL", "SAVE"); err != nil {
		return "", fmt.Errorf("ACL SAVE: %w", describe(err))
	}
	return "; ACL SAVE", nil
}

func describe(err error) error {
	var se *ServerError
	if errors.As(err, &se) && se.Prefix() == "NOPERM" {
		return fmt.Errorf("the rotator's admin may not do this: %s", se.Msg)
	}
	return err
}

func (p *Provider) server(ctx context.Context, c *conn) string {
	v, err := c.do(ctx, "INFO", "server")
	s, _ := v.(string)
	if err != nil {
		return ""
	}
	for l := range strings.SplitSeq(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
			return " (Redis " + v + ")"
		}
	}
	return ""
}

// Set adds secret to the user's passwords, keeping the old one until
// Retire; with old nil (a restore after a failed rotation) the user's
// passwords are reset to secret alone.
func (p *Provider) Set(ctx context.Context, user string, secret, old []byte) (string, error) {
	var answer string
	err := p.admin(ctx, func(c *conn) error {
		ok, err := exists(ctx, c, user)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("user missing at the provider: ACL user %q does not exist", user)
		}
		args := []string{"ACL", "SETUSER", user, "#" + hash(secret)}
		what := "new password added beside the old one"
		if old == nil {
			args = []string{"ACL", "SETUSER", user, "resetpass", "#" + hash(secret)}
			what = "passwords reset to the one given"
		}
		if _, err := c.do(ctx, args...); err != nil {
			return describe(err)
		}
		saved, err := p.save(ctx, c)
		if err != nil {
			return err
		}
		answer = fmt.Sprintf("ACL SETUSER %s: %s, %d password(s) now%s%s", user, what, passwords(ctx, c, user), saved, p.server(ctx, c))
		return nil
	})
	return answer, err
}

// Retire removes the old password: the finish step.
func (p *Provider) Retire(ctx context.Context, user string, old []byte) (string, error) {
	var answer string
	err := p.admin(ctx, func(c *conn) error {
		_, err := c.do(ctx, "ACL", "SETUSER", user, "!"+hash(old))
		var se *ServerError
		switch {
		case errors.As(err, &se) && strings.Contains(se.Msg, "does not exist"):
			answer = fmt.Sprintf("ACL SETUSER %s: the old password was already gone", user)
		case err != nil:
			return describe(err)
		default:
			answer = fmt.Sprintf("ACL SETUSER %s: old password removed, %d password(s) now", user, passwords(ctx, c, user))
		}
		saved, err := p.save(ctx, c)
		answer += saved
		return err
	})
	return answer, err
}

// Check logs in as user with secret on a new connection.
func (p *Provider) Check(ctx context.Context, user string, secret []byte) error {
	c, err := dial(ctx, p.addr, dialTimeout)
	if err != nil {
		return fmt.Errorf("redis at %s unreachable: %w", p.addr, err)
	}
	defer c.Close()
	_, err = c.do(ctx, "AUTH", user, string(secret))
	var se *ServerError
	if errors.As(err, &se) && (se.Prefix() == "WRONGPASS" || se.Prefix() == "NOPERM") {
		return fmt.Errorf("%w: %s", rotation.ErrRefused, se.Msg)
	}
	if err != nil {
		return fmt.Errorf("log in as %s: %w", user, err)
	}
	return nil
}

// statement turns one creation statement into a command: it must read
// "ACL SETUSER {{name}} rule…"; {{name}} and {{password}} are filled in,
// and the rule ">{{password}}" is sent as "#" + its SHA-256.
func statement(st string, spec rotation.LeaseSpec) ([]string, error) {
	f := strings.Fields(st)
	if len(f) < 3 || !strings.EqualFold(f[0], "ACL") || !strings.EqualFold(f[1], "SETUSER") || f[2] != "{{name}}" {
		return nil, errors.New(`must read "ACL SETUSER {{name}} rule…" (a Redis lease runs only ACL SETUSER on its own user)`)
	}
	out := make([]string, len(f))
	for n, a := range f {
		if a == ">{{password}}" {
			out[n] = "#" + hash([]byte(spec.Password))
			continue
		}
		out[n] = strings.NewReplacer("{{name}}", spec.Username, "{{password}}", spec.Password,
			"{{expiration}}", strconv.FormatInt(spec.Expires.Unix(), 10)).Replace(a)
	}
	return out, nil
}

// CreateAccount runs the creation statements (ACL SETUSER of the new
// user); when one fails the user is deleted again.
func (p *Provider) CreateAccount(ctx context.Context, spec rotation.LeaseSpec) error {
	cmds := make([][]string, len(spec.Statements))
	for n, st := range spec.Statements {
		cmd, err := statement(st, spec)
		if err != nil {
			return fmt.Errorf("creation statement %d: %w", n+1, err)
		}
		cmds[n] = cmd
	}
	return p.admin(ctx, func(c *conn) error {
		for n, cmd := range cmds {
			if _, err := c.do(ctx, cmd...); err != nil {
				_, _ = c.do(ctx, "ACL", "DELUSER", spec.Username)
				return fmt.Errorf("creation statement %d: %w", n+1, describe(err))
			}
		}
		_, err := p.save(ctx, c)
		return err
	})
}

// ExtendAccount does nothing at the server: Redis ACL users do not expire;
// Steward's lease sweep deletes the user when the lease ends.
func (p *Provider) ExtendAccount(context.Context, string, time.Time) error { return nil }

// DropAccount disconnects the user's clients and deletes the user.
func (p *Provider) DropAccount(ctx context.Context, user string) (string, error) {
	var answer string
	err := p.admin(ctx, func(c *conn) error {
		ok, err := exists(ctx, c, user)
		if err != nil {
			return err
		}
		if !ok {
			answer = "ACL user " + user + " does not exist (already dropped)"
			return nil
		}
		killed, err := c.do(ctx, "CLIENT", "KILL", "USER", user)
		if err != nil {
			return describe(err)
		}
		if _, err := c.do(ctx, "ACL", "DELUSER", user); err != nil {
			return describe(err)
		}
		saved, err := p.save(ctx, c)
		answer = fmt.Sprintf("CLIENT KILL USER %s: %v connection(s) closed; ACL DELUSER %s%s", user, killed, user, saved)
		return err
	})
	return answer, err
}
