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
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/rotation/postgres"
	"github.com/steward-nhi/steward/rotation/rotationtest"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

func TestPostgresLeases(t *testing.T) {
	srv := newServer(t)
	store := sqltest.SQLite(t)
	clk := clock.NewFake(time.Now())
	r := &rig{Rig: rotationtest.NewRig(t, store, rotation.Config{Kinds: []rotation.Kind{postgres.Kind()}, Clock: clk}), srv: srv}
	rot := r.Rotation
	r.setup(t)
	stmts := []string{`CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`}
	ctx := context.Background()
	create := func(t *testing.T, ttl time.Duration) *rotation.LeaseGrant {
		t.Helper()
		d := steward.Duration(ttl)
		g, err := rot.CreateLease(admin, rotation.LeaseRequest{Rotator: "pg", IdentityID: r.Ident.ID, TTL: &d, CreationStatements: stmts})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = srv.super.Exec(context.Background(), `DROP ROLE IF EXISTS "`+g.Username+`"`) })
		return g
	}
	roleExists := func(name string) bool {
		var ok bool
		_ = srv.super.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, name).Scan(&ok)
		return ok
	}

	t.Run("a lease creates a working role and revocation drops it", func(t *testing.T) {
		g := create(t, 10*time.Minute)
		if g.Username == "" || g.Password == "" || !g.ExpiresAt.Equal(clk.Now().Add(10*time.Minute)) {
			t.Fatalf("grant: %+v", g)
		}
		if err := srv.login(g.Username, g.Password); err != nil {
			t.Fatalf("login with the lease: %v", err)
		}
		l, err := rot.RevokeLease(admin, g.ID)
		if err != nil || l.Status != steward.LeaseRevoked || l.RevokedWhere != steward.RevokedProvider {
			t.Fatalf("revoke: %+v %v", l, err)
		}
		if roleExists(g.Username) {
			t.Fatal("the role survived its revocation")
		}
		if _, err := rot.RevokeLease(admin, g.ID); steward.ErrorCode(err) != steward.ECONFLICT {
			t.Fatalf("second revoke: %v", err)
		}
	})
	t.Run("a renewal beyond the tier cap is capped and says so", func(t *testing.T) {
		g := create(t, time.Hour)
		long := steward.Duration(10000 * time.Hour)
		got, err := rot.RenewLease(admin, g.ID, rotation.RenewRequest{TTL: &long})
		if err != nil || !got.Capped || !strings.Contains(got.Warning, "capped") || !got.ExpiresAt.Equal(got.MaxExpiresAt) {
			t.Fatalf("renew: %+v %v", got, err)
		}
		var until time.Time
		if err := srv.super.QueryRow(ctx, `SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1`, g.Username).Scan(&until); err != nil || !until.Equal(got.ExpiresAt) {
			t.Fatalf("VALID UNTIL at the provider %s, want %s (%v)", until, got.ExpiresAt, err)
		}
	})
	t.Run("the expiry sweep drops expired leases and their sessions", func(t *testing.T) {
		g := create(t, time.Minute)
		if _, err := rot.ExpireDue(ctx); err != nil {
			t.Fatal(err)
		}
		if !roleExists(g.Username) {
			t.Fatal("dropped before expiry")
		}
		clk.Advance(2 * time.Minute)
		n, err := rot.ExpireDue(ctx)
		if err != nil || n < 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if roleExists(g.Username) {
			t.Fatal("expired role still exists")
		}
		l, _ := store.GetLease(ctx, g.ID)
		if l.Status != steward.LeaseExpired || l.RevokedWhere != steward.RevokedProvider {
			t.Fatalf("lease: %+v", l)
		}
	})
	t.Run("creation statements run all or nothing and a failure names its statement", func(t *testing.T) {
		name := ""
		_, err := rot.CreateLease(admin, rotation.LeaseRequest{Rotator: "pg", IdentityID: r.Ident.ID, CreationStatements: []string{
			`CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}';`, `GRANT no_such_role TO "{{name}}"`}})
		if steward.ErrorCode(err) != steward.EINVALID || !strings.Contains(err.Error(), "creation statement 2") {
			t.Fatalf("got %v", err)
		}
		ls, _ := store.ListLeases(ctx, r.Ident.ID, steward.LeaseRevoked, 1)
		if len(ls) == 1 {
			name = ls[0].Username
		}
		if name == "" || roleExists(name) {
			t.Fatalf("the role of the failed lease (%q) exists: the first statement was not rolled back", name)
		}
	})
	t.Run("revocation ends the role's open sessions", func(t *testing.T) {
		g := create(t, 10*time.Minute)
		sess, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/postgres?sslmode=disable", g.Username, url.PathEscape(g.Password), srv.host))
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close(context.Background())
		l, err := rot.RevokeLease(admin, g.ID)
		if err != nil || !strings.Contains(l.RevokeError, "terminated 1 session(s)") || roleExists(g.Username) {
			t.Fatalf("revoke: %+v %v", l, err)
		}
		if err := sess.Ping(ctx); err == nil {
			t.Fatal("the lease's session survived its revocation")
		}
	})
	t.Run("a role dropped outside Steward is revoked as already gone", func(t *testing.T) {
		g := create(t, 10*time.Minute)
		if _, err := srv.super.Exec(ctx, `DROP ROLE "`+g.Username+`"`); err != nil {
			t.Fatal(err)
		}
		l, err := rot.RevokeLease(admin, g.ID)
		if err != nil || l.Status != steward.LeaseRevoked || !strings.Contains(l.RevokeError, "already dropped") {
			t.Fatalf("revoke: %+v %v", l, err)
		}
	})
	t.Run("bad creation statements are refused and recorded", func(t *testing.T) {
		_, err := rot.CreateLease(admin, rotation.LeaseRequest{Rotator: "pg", IdentityID: r.Ident.ID, CreationStatements: []string{`CREATE ROLE "{{name}}" NONSENSE`}})
		if steward.ErrorCode(err) != steward.EINVALID {
			t.Fatalf("got %v", err)
		}
		_, err = rot.CreateLease(admin, rotation.LeaseRequest{Rotator: "pg", IdentityID: r.Ident.ID, CreationStatements: []string{`SELECT 1`}})
		if steward.ErrorCode(err) != steward.EINVALID {
			t.Fatalf("no {{name}}: %v", err)
		}
	})
}

// TestPostgresWarm: warming a started server's rotators opens their
// connections at PostgreSQL before the first lease; a rotator whose admin
// password is wrong is skipped, and its first use says why.
func TestPostgresWarm(t *testing.T) {
	srv := newServer(t)
	store := sqltest.SQLite(t)
	ctx := context.Background()
	sessions := func(user string) int {
		var n int
		_ = srv.super.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, user).Scan(&n)
		return n
	}
	admin1 := strings.SplitN(strings.TrimPrefix(srv.adminURL, "postgres://"), ":", 2)[0]
	r := newRig(t, srv, store, "a", nil)
	r.setup(t)
	bad := strings.Replace(srv.adminURL, "admin-pw-1", "wrong-pw", 1)
	if _, err := r.Rotation.CreateRotator(admin, rotation.RotatorRequest{Name: "pg-bad", Kind: "postgres", Config: map[string]string{"url": bad}}); err != nil {
		t.Fatal(err)
	}
	if n := sessions(admin1); n != 0 {
		t.Fatalf("%d admin sessions before warming", n)
	}
	n, err := r.Rotation.Warm(ctx)
	if err != nil || n != 1 {
		t.Fatalf("warm: %d providers, %v; want the good one", n, err)
	}
	if got := sessions(admin1); got != rotation.WarmConns {
		t.Fatalf("%d admin sessions after warming, want %d", got, rotation.WarmConns)
	}
	_, err = r.Rotation.CreateLease(admin, rotation.LeaseRequest{Rotator: "pg-bad", IdentityID: r.Ident.ID,
		CreationStatements: []string{`CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}'`}})
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("lease on the rotator with a wrong admin password: %v", err)
	}
}
