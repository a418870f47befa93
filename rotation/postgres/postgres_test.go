package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/rotation/postgres"
	"github.com/steward-nhi/steward/rotation/rotationtest"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var admin = steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})

// server is the real PostgreSQL the rotations act on (the one the store
// tests use; its non-superuser roles authenticate with SCRAM).
type server struct {
	super    *pgx.Conn
	host     string
	adminURL string
	prefix   string
}

func newServer(t *testing.T) *server {
	t.Helper()
	dsn := sqltest.PostgresURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	u, _ := url.Parse(dsn)
	prefix := strings.ToLower(ids.New("t", time.Now()))[:12]
	s := &server{super: conn, host: u.Host, prefix: prefix}
	adminRole := prefix + "_admin"
	s.exec(t, fmt.Sprintf(`CREATE ROLE %q LOGIN SUPERUSER PASSWORD 'admin-pw-1'`, adminRole))
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS %q`, adminRole)) })
	s.adminURL = fmt.Sprintf("postgres://%s:admin-pw-1@%s/postgres?sslmode=disable", adminRole, u.Host)
	return s
}

func (s *server) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := s.super.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// role creates a login role with a password and drops it after the test.
func (s *server) role(t *testing.T, name, password, extra string) string {
	t.Helper()
	name = s.prefix + "_" + name
	s.exec(t, fmt.Sprintf(`CREATE ROLE %q LOGIN PASSWORD '%s' %s`, name, password, extra))
	t.Cleanup(func() { _, _ = s.super.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS %q`, name)) })
	return name
}

// login connects as role with password at the real server.
func (s *server) login(role, password string) error {
	conn, err := pgx.Connect(context.Background(), fmt.Sprintf("postgres://%s:%s@%s/postgres?sslmode=disable", url.PathEscape(role), url.PathEscape(password), s.host))
	if err != nil {
		return err
	}
	return conn.Close(context.Background())
}

// rig is custody and rotation with a rotator pg of the server's admin role.
type rig struct {
	*rotationtest.Rig
	srv *server
}

func newRig(t *testing.T, srv *server, store *sqlstore.Store, node string, after func(*steward.Rotation)) *rig {
	t.Helper()
	return &rig{Rig: rotationtest.NewRig(t, store, rotation.Config{Kinds: []rotation.Kind{postgres.Kind()}, Node: node,
		StepLease: time.Millisecond, AfterStep: after}), srv: srv}
}

func (r *rig) setup(t *testing.T) {
	t.Helper()
	r.Ident = rotationtest.Account(admin, t, r.Store, r.Rotation, "app-db", "vendor:postgres",
		rotation.RotatorRequest{Name: "pg", Kind: "postgres", Config: map[string]string{"url": r.srv.adminURL}})
}

func (r *rig) register(t *testing.T, role, secret string) string {
	t.Helper()
	return r.Register(admin, t, role, secret, "pg")
}

func TestPostgresRotation(t *testing.T) {
	srv := newServer(t)
	zero := steward.Duration(0)
	t.Run("a rotation sets, tests and proves the old password refused", func(t *testing.T) {
		r := newRig(t, srv, sqltest.SQLite(t), "a", nil)
		r.setup(t)
		rt, _ := r.Rotation.GetRotator(admin, "pg")
		if strings.Contains(string(steward.Snapshot(rt)), "admin-pw-1") || rt.AdminCredentialID == "" {
			t.Fatalf("rotator shows its password or has no admin credential: %+v", rt)
		}
		role := srv.role(t, "app", "old-pass-1", "")
		id := r.register(t, role, "old-pass-1")
		ro, err := r.Rotation.Rotate(admin, id, rotation.RotateRequest{Overlap: &zero})
		if err != nil {
			t.Fatal(err)
		}
		if ro.Status != steward.RotationSucceeded || ro.Step != steward.StepFinish || !strings.Contains(ro.Proof, "refused") ||
			ro.OldFingerprint != steward.Fingerprint([]byte("old-pass-1")) || ro.NewFingerprint == ro.OldFingerprint {
			t.Fatalf("rotation: %+v", ro)
		}
		newPass := r.Current(t, id)
		if err := srv.login(role, newPass); err != nil {
			t.Fatalf("new password: %v", err)
		}
		if err := srv.login(role, "old-pass-1"); err == nil {
			t.Fatal("the old password still works")
		}
		r.CheckEvents(t, id, newPass, "old-pass-1")
		if c, _ := r.Store.GetCredential(context.Background(), id); c.Fingerprint != ro.NewFingerprint {
			t.Errorf("credential fingerprint %s, want %s", c.Fingerprint, ro.NewFingerprint)
		}
	})
	t.Run("a missing role fails the rotation and keeps the old secret", func(t *testing.T) {
		r := newRig(t, srv, sqltest.SQLite(t), "a", nil)
		r.setup(t)
		id := r.register(t, srv.prefix+"_nobody", "pw-1")
		ro, err := r.Rotation.Rotate(admin, id, rotation.RotateRequest{})
		if err == nil || ro.Status == steward.RotationSucceeded || !strings.Contains(ro.Error, "does not exist") {
			t.Fatalf("rotation: %+v %v", ro, err)
		}
		if got := r.Current(t, id); got != "pw-1" {
			t.Fatalf("current secret after a failed rotation: %q", got)
		}
	})
	t.Run("a new secret that fails its test is rolled back at the provider", func(t *testing.T) {
		r := newRig(t, srv, sqltest.SQLite(t), "a", nil)
		r.setup(t)
		// An expired role accepts ALTER ROLE … PASSWORD but refuses every login.
		role := srv.role(t, "expired", "pw-old", "VALID UNTIL '2001-01-01'")
		id := r.register(t, role, "pw-old")
		ro, err := r.Rotation.Rotate(admin, id, rotation.RotateRequest{})
		if err == nil || ro.Status != steward.RotationRolledBack || !strings.Contains(ro.TestResult, "failed") {
			t.Fatalf("rotation: %+v %v", ro, err)
		}
		if got := r.Current(t, id); got != "pw-old" {
			t.Fatalf("custody after rollback: %q", got)
		}
		srv.exec(t, fmt.Sprintf(`ALTER ROLE %q VALID UNTIL 'infinity'`, role))
		if err := srv.login(role, "pw-old"); err != nil {
			t.Fatalf("the old password was not restored at the provider: %v", err)
		}
	})
	t.Run("a wrong admin credential or an unreachable server stops before any change", func(t *testing.T) {
		for name, dsn := range map[string]string{
			"wrong admin password": strings.Replace(srv.adminURL, "admin-pw-1", "wrong", 1),
			"unreachable":          "postgres://x:y@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2",
		} {
			t.Run(name, func(t *testing.T) {
				r := newRig(t, srv, sqltest.SQLite(t), "a", nil)
				r.setup(t)
				if _, err := r.Rotation.CreateRotator(admin, rotation.RotatorRequest{Name: "bad", Kind: "postgres", Config: map[string]string{"url": dsn}}); err != nil {
					t.Fatal(err)
				}
				role := srv.role(t, "wrongadmin", "pw-x", "")
				c, _ := r.Custody.Register(admin, r.Ident.ID, custody.RegisterRequest{Type: "password", ExternalRef: role, Secret: "pw-x", Rotator: "bad"})
				ro, err := r.Rotation.Rotate(admin, c.ID, rotation.RotateRequest{})
				if err == nil || ro.Status == steward.RotationSucceeded {
					t.Fatalf("rotation: %+v %v", ro, err)
				}
				if err := srv.login(role, "pw-x"); err != nil {
					t.Fatalf("old password no longer works: %v", err)
				}
				if got := r.Current(t, c.ID); got != "pw-x" {
					t.Fatalf("custody: %q", got)
				}
			})
		}
	})
	t.Run("a rotation stopped after each step resumes on another node", func(t *testing.T) {
		for _, stop := range []string{steward.StepCreate, steward.StepSet, steward.StepTest} {
			t.Run("after "+stop, func(t *testing.T) {
				store := sqltest.SQLite(t)
				a := newRig(t, srv, store, "a", rotationtest.StopAfter(stop))
				a.setup(t)
				role := srv.role(t, "resume", "pw-1", "")
				id := a.register(t, role, "pw-1")
				a.RotateUntilStopped(admin, t, id, stop, rotation.RotateRequest{Overlap: &zero})
				// A working secret at this moment: custody's current one.
				if err := srv.login(role, a.Current(t, id)); err != nil {
					t.Fatalf("after %s, custody's current secret does not work: %v", stop, err)
				}
				b := newRig(t, srv, store, "b", nil)
				if ro := b.ResumeStopped(admin, t, id); ro.Node != "b" {
					t.Fatalf("resumed on %s, not b: %+v", ro.Node, ro)
				}
				if err := srv.login(role, b.Current(t, id)); err != nil {
					t.Fatalf("after resume: %v", err)
				}
			})
		}
	})
	t.Run("a second rotation request while one runs is refused naming it", func(t *testing.T) {
		store := sqltest.SQLite(t)
		var r *rig
		var second error
		r = newRig(t, srv, store, "a", func(ro *steward.Rotation) {
			if ro.Step == steward.StepCreate && second == nil {
				_, second = r.Rotation.Rotate(admin, ro.CredentialID, rotation.RotateRequest{})
			}
		})
		r.setup(t)
		role := srv.role(t, "twice", "pw-1", "")
		id := r.register(t, role, "pw-1")
		if _, err := r.Rotation.Rotate(admin, id, rotation.RotateRequest{}); err != nil {
			t.Fatal(err)
		}
		if steward.ErrorCode(second) != steward.ECONFLICT || !strings.Contains(second.Error(), "being rotated already") {
			t.Fatalf("second request: %v", second)
		}
	})
}
