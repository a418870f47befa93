package main

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// pgTarget is the real PostgreSQL whose roles the rotation tests rotate:
// roles are made by its superuser and dropped when the test ends.
type pgTarget struct {
	super *pgx.Conn
	host  string
}

func newPGTarget(t *testing.T) *pgTarget {
	t.Helper()
	dsn := sqltest.PostgresURL(t)
	super, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { super.Close(context.Background()) })
	pu, _ := url.Parse(dsn)
	return &pgTarget{super: super, host: pu.Host}
}

// role (re)creates a login role with password pw and attributes attrs
// ("SUPERUSER" for a rotator's admin).
func (g *pgTarget) role(t *testing.T, name, pw, attrs string) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{fmt.Sprintf(`DROP ROLE IF EXISTS %q`, name), fmt.Sprintf(`CREATE ROLE %q LOGIN %s PASSWORD '%s'`, name, attrs, pw)} {
		if _, err := g.super.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = g.super.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS %q`, name)) })
}

// url is a connection URL for role with password pw.
func (g *pgTarget) url(role, pw string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/postgres?sslmode=disable", role, url.PathEscape(pw), g.host)
}

// login connects as role with pw: nil when PostgreSQL accepts it.
func (g *pgTarget) login(role, pw string) error {
	c, err := pgx.Connect(context.Background(), g.url(role, pw))
	if err != nil {
		return err
	}
	return c.Close(context.Background())
}
