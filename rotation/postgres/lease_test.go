package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
