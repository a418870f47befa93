package redis_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/rotation/redis"
	"github.com/steward-nhi/steward/rotation/redis/redistest"
	"github.com/steward-nhi/steward/rotation/rotationtest"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var admin = steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})

// rig is custody and rotation with a rotator cache of the server's admin
// user.
type rig struct {
	*rotationtest.Rig
	srv *redistest.Server
}

func newRig(t *testing.T, srv *redistest.Server, store *sqlstore.Store, node string, clk clock.Clock, after func(*steward.Rotation)) *rig {
	t.Helper()
	return &rig{Rig: rotationtest.NewRig(t, store, rotation.Config{Kinds: []rotation.Kind{redis.Kind()}, Node: node,
		StepLease: time.Millisecond, AfterStep: after, Clock: clk}), srv: srv}
}

func (r *rig) setup(t *testing.T) {
	t.Helper()
	cfg := map[string]string{"url": r.srv.URL, "acl_save": "true"}
	r.Ident = rotationtest.Account(admin, t, r.Store, r.Rotation, "app-cache", "vendor:redis", rotation.RotatorRequest{Name: "cache", Kind: "redis", Config: cfg})
}

// user creates an ACL user with a password, deleted after the test.
func (r *rig) user(t *testing.T, name, password string, rules ...string) string {
	t.Helper()
	args := append([]string{"ACL", "SETUSER", name, "on", ">" + password, "~app:*", "+@read"}, rules...)
	if got := r.srv.Admin(t, args...); got != "+OK" {
		t.Fatalf("ACL SETUSER: %s", got)
	}
	t.Cleanup(func() {
		p := redis.New(r.srv.Addr, "admin", redistest.AdminPassword, false)
		defer p.Close()
		_, _ = p.DropAccount(context.Background(), name)
	})
	return name
}

func (r *rig) register(t *testing.T, user, secret, rotator string) string {
	t.Helper()
	return r.Register(admin, t, user, secret, rotator)
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestRedisConfig(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     map[string]string
		field   string
		account string
	}{
		{"a URL with a user and password is split", map[string]string{"url": "redis://ops:s3cret@127.0.0.1:6380"}, "", "ops"},
		{"a URL without a user names the default user", map[string]string{"url": "redis://:s3cret@cache:6379", "acl_save": "false"}, "", "default"},
		{"the URL is required", map[string]string{}, "config.url", ""},
		{"TLS is not supported yet", map[string]string{"url": "rediss://a:b@h:1"}, "config.url", ""},
		{"an unknown setting is refused", map[string]string{"url": "redis://a:b@h:1", "db": "2"}, "config.db", ""},
		{"acl_save must be a boolean", map[string]string{"url": "redis://a:b@h:1", "acl_save": "yes"}, "config.acl_save", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			public, account, secret, err := redis.Kind().Split(tt.cfg)
			if tt.field != "" {
				if steward.ErrorCode(err) != steward.EINVALID || !strings.Contains(err.Error(), tt.field) {
					t.Fatalf("got %v, want an error naming %s", err, tt.field)
				}
				return
			}
			if err != nil || account != tt.account || string(secret) != "s3cret" || strings.Contains(public["url"], "s3cret") {
				t.Fatalf("split: %v %q %q %q", public, account, secret, err)
			}
		})
	}
}

func TestRedisRotation(t *testing.T) {
	srv := redistest.Start(t)
	zero := steward.Duration(0)
	t.Run("a rotation adds, tests, retires and proves the old password refused", func(t *testing.T) {
		r := newRig(t, srv, sqltest.SQLite(t), "a", nil, nil)
		r.setup(t)
		rt, _ := r.Rotation.GetRotator(admin, "cache")
		if strings.Contains(string(steward.Snapshot(rt)), redistest.AdminPassword) || rt.AdminCredentialID == "" {
			t.Fatalf("rotator shows its password or has no admin credential: %+v", rt)
		}
		user := r.user(t, "app1", "old-pass-1")
		id := r.register(t, user, "old-pass-1", "cache")
		ro, err := r.Rotation.Rotate(admin, id, rotation.RotateRequest{Overlap: &zero})
		if err != nil {
			t.Fatal(err)
		}
		if ro.Status != steward.RotationSucceeded || !strings.Contains(ro.Proof, "refused") || !strings.Contains(ro.ProviderAnswer, "old password removed") {
			t.Fatalf("rotation: %+v", ro)
		}
		newPass := r.Current(t, id)
		if err := srv.Login(user, newPass); err != nil {
			t.Fatalf("new password: %v", err)
		}
		if err := srv.Login(user, "old-pass-1"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Fatalf("the old password: %v", err)
		}
		acl, _ := os.ReadFile(filepath.Join(srv.Dir, "users.acl"))
		if !strings.Contains(string(acl), hash(newPass)) || strings.Contains(string(acl), hash("old-pass-1")) || strings.Contains(string(acl), newPass) {
			t.Fatalf("ACL SAVE did not keep the rotation: %s", acl)
		}
		r.CheckEvents(t, id, newPass, "old-pass-1")
	})
	t.Run("a missing user fails the rotation and creates nobody", func(t *testing.T) {
		r := newRig(t, srv, sqltest.SQLite(t), "a", nil, nil)
		r.setup(t)
		id := r.register(t, "nobody", "pw-1", "cache")
		ro, err := r.Rotation.Rotate(admin, id, rotation.RotateRequest{})
		if err == nil || ro.Status == steward.RotationSucceeded || !strings.Contains(ro.Error, "does not exist") {
			t.Fatalf("rotation: %+v %v", ro, err)
		}
		if got := srv.Admin(t, "ACL", "GETUSER", "nobody"); got != "*-1" && got != "$-1" {
			t.Fatalf("the rotation created the user: %s", got)
		}
		if got := r.Current(t, id); got != "pw-1" {
			t.Fatalf("current secret after a failed rotation: %q", got)
		}
	})
	t.Run("a new password that fails its test is rolled back at the provider", func(t *testing.T) {
		r := newRig(t, srv, sqltest.SQLite(t), "a", nil, nil)
		r.setup(t)
		// A user that is off accepts new passwords but refuses every login.
		user := r.user(t, "disabled", "pw-old", "off")
		id := r.register(t, user, "pw-old", "cache")
		ro, err := r.Rotation.Rotate(admin, id, rotation.RotateRequest{})
		if err == nil || ro.Status != steward.RotationRolledBack || !strings.Contains(ro.TestResult, "failed") {
			t.Fatalf("rotation: %+v %v", ro, err)
		}
		if got := r.Current(t, id); got != "pw-old" {
			t.Fatalf("custody after rollback: %q", got)
		}
		srv.Admin(t, "ACL", "SETUSER", user, "on")
		if err := srv.Login(user, "pw-old"); err != nil {
			t.Fatalf("the old password was not restored: %v", err)
		}
		if err := srv.Login(user, "pw-new-never-set"); err == nil {
			t.Fatal("the user accepts any password")
		}
	})
	t.Run("a wrong admin password or an unreachable server stops before any change", func(t *testing.T) {
		dead, _ := net.Listen("tcp", "127.0.0.1:0")
		deadAddr := dead.Addr().String()
		_ = dead.Close()
		for name, u := range map[string]string{
			"wrong admin password": strings.Replace(srv.URL, redistest.AdminPassword, "wrong", 1),
			"unreachable":          "redis://admin:x@" + deadAddr,
		} {
			t.Run(name, func(t *testing.T) {
				r := newRig(t, srv, sqltest.SQLite(t), "a", nil, nil)
				r.setup(t)
				if _, err := r.Rotation.CreateRotator(admin, rotation.RotatorRequest{Name: "bad", Kind: "redis", Config: map[string]string{"url": u}}); err != nil {
					t.Fatal(err)
				}
				user := r.user(t, "wrongadmin", "pw-x")
				id := r.register(t, user, "pw-x", "bad")
				ro, err := r.Rotation.Rotate(admin, id, rotation.RotateRequest{})
				if err == nil || ro.Status == steward.RotationSucceeded {
					t.Fatalf("rotation: %+v %v", ro, err)
				}
				want := map[string]string{"wrong admin password": "admin admin was refused", "unreachable": "unreachable"}[name]
				if !strings.Contains(ro.Error, want) {
					t.Errorf("error %q does not say %q", ro.Error, want)
				}
				if err := srv.Login(user, "pw-x"); err != nil {
					t.Fatalf("old password no longer works: %v", err)
				}
				if got := r.Current(t, id); got != "pw-x" {
					t.Fatalf("custody: %q", got)
				}
			})
		}
	})
	t.Run("a rotation stopped after each step resumes on another node with a working password throughout", func(t *testing.T) {
		for _, stop := range []string{steward.StepCreate, steward.StepSet, steward.StepTest} {
			t.Run("after "+stop, func(t *testing.T) {
				store := sqltest.SQLite(t)
				a := newRig(t, srv, store, "a", nil, rotationtest.StopAfter(stop))
				a.setup(t)
				user := a.user(t, "resume", "pw-1")
				id := a.register(t, user, "pw-1", "cache")
				a.RotateUntilStopped(admin, t, id, stop, rotation.RotateRequest{Overlap: &zero})
				if err := srv.Login(user, a.Current(t, id)); err != nil {
					t.Fatalf("after %s, custody's current secret does not work: %v", stop, err)
				}
				b := newRig(t, srv, store, "b", nil, nil)
				if ro := b.ResumeStopped(admin, t, id); !strings.Contains(ro.Proof, "refused") {
					t.Fatalf("resumed without proof of the old password refused: %+v", ro)
				}
				if err := srv.Login(user, b.Current(t, id)); err != nil {
					t.Fatalf("after resume: %v", err)
				}
				if err := srv.Login(user, "pw-1"); err == nil {
					t.Fatal("the old password still works after the resumed rotation")
				}
			})
		}
	})
}

func TestRedisLeases(t *testing.T) {
	srv := redistest.Start(t)
	store := sqltest.SQLite(t)
	clk := clock.NewFake(time.Now())
	r := newRig(t, srv, store, "a", clk, nil)
	r.setup(t)
	ctx := context.Background()
	stmts := []string{"ACL SETUSER {{name}} on >{{password}} ~lease:* +get +set"}
	create := func(t *testing.T, ttl time.Duration) *rotation.LeaseGrant {
		t.Helper()
		d := steward.Duration(ttl)
		g, err := r.Rotation.CreateLease(admin, rotation.LeaseRequest{Rotator: "cache", IdentityID: r.Ident.ID, TTL: &d, CreationStatements: stmts})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	exists := func(user string) bool {
		return strings.HasPrefix(srv.Admin(t, "ACL", "GETUSER", user), "*") && srv.Admin(t, "ACL", "GETUSER", user) != "*-1"
	}

	t.Run("a lease creates a working user and revocation deletes it and its connections", func(t *testing.T) {
		g := create(t, 10*time.Minute)
		if err := srv.Login(g.Username, g.Password); err != nil {
			t.Fatalf("login with the lease: %v", err)
		}
		if acl, _ := os.ReadFile(filepath.Join(srv.Dir, "users.acl")); strings.Contains(string(acl), g.Password) {
			t.Fatal("the lease password reached the aclfile in clear")
		}
		// A connection open as the lease user is closed by the revocation.
		c, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte("*3\r\n$4\r\nAUTH\r\n$" + strconv.Itoa(len(g.Username)) + "\r\n" + g.Username + "\r\n$" + strconv.Itoa(len(g.Password)) + "\r\n" + g.Password + "\r\n"))
		buf := make([]byte, 64)
		if n, _ := c.Read(buf); !strings.HasPrefix(string(buf[:n]), "+OK") {
			t.Fatalf("AUTH: %q", buf[:n])
		}
		l, err := r.Rotation.RevokeLease(admin, g.ID)
		if err != nil || l.Status != steward.LeaseRevoked || l.RevokedWhere != steward.RevokedProvider || !strings.Contains(l.RevokeError, "ACL DELUSER") {
			t.Fatalf("revoke: %+v %v", l, err)
		}
		if exists(g.Username) {
			t.Fatal("the user survived its revocation")
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(buf); err == nil {
			t.Fatal("the lease user's connection stayed open")
		}
		if err := srv.Login(g.Username, g.Password); err == nil {
			t.Fatal("the revoked lease still logs in")
		}
	})
	t.Run("the expiry sweep deletes expired users", func(t *testing.T) {
		g := create(t, time.Minute)
		if _, err := r.Rotation.ExpireDue(ctx); err != nil || !exists(g.Username) {
			t.Fatalf("dropped before expiry: %v", err)
		}
		clk.Advance(2 * time.Minute)
		if n, err := r.Rotation.ExpireDue(ctx); err != nil || n < 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if exists(g.Username) {
			t.Fatal("expired user still exists")
		}
		if l, _ := store.GetLease(ctx, g.ID); l.Status != steward.LeaseExpired || l.RevokedWhere != steward.RevokedProvider {
			t.Fatalf("lease: %+v", l)
		}
	})
	t.Run("a renewal is recorded (Redis users have no expiry of their own)", func(t *testing.T) {
		g := create(t, time.Minute)
		d := steward.Duration(time.Hour)
		got, err := r.Rotation.RenewLease(admin, g.ID, rotation.RenewRequest{TTL: &d})
		if err != nil || !got.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
			t.Fatalf("renew: %+v %v", got, err)
		}
	})
	t.Run("statements other than ACL SETUSER of the lease user are refused", func(t *testing.T) {
		before := srv.Admin(t, "ACL", "USERS")
		for _, st := range []string{"FLUSHALL {{name}}", "ACL SETUSER admin {{name}} >x", "ACL SETUSER {{name}} on >{{password}} +@nonsense"} {
			_, err := r.Rotation.CreateLease(admin, rotation.LeaseRequest{Rotator: "cache", IdentityID: r.Ident.ID, CreationStatements: []string{st}})
			if steward.ErrorCode(err) != steward.EINVALID {
				t.Fatalf("%s: %v", st, err)
			}
		}
		if got := srv.Admin(t, "ACL", "USERS"); got != before {
			t.Fatalf("users left behind: %s", got)
		}
	})
}
