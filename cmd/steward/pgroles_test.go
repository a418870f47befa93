package main

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
)

// pgServer is the PostgreSQL a rotation test rotates roles on: a superuser
// connection to it, closed when the test ends.
type pgServer struct {
	super *pgx.Conn
	host  string
}

func newPGServer(t *testing.T, dsn string) *pgServer {
	t.Helper()
	super, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { super.Close(context.Background()) })
	pu, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return &pgServer{super: super, host: pu.Host}
}

// roles (re)creates a superuser role admin with the password adm-pw, the
// one a rotator logs in as, and a login role app with the password
// first-pw, the one rotated; both are dropped when t ends. It returns the
// URL a rotator of admin is configured with.
func (pg *pgServer) roles(t *testing.T, admin, app string) (adminURL string) {
	t.Helper()
	ctx := context.Background()
	drops := []string{fmt.Sprintf(`DROP ROLE IF EXISTS %q`, app), fmt.Sprintf(`DROP ROLE IF EXISTS %q`, admin)}
	for _, q := range append(drops,
		fmt.Sprintf(`CREATE ROLE %q LOGIN SUPERUSER PASSWORD 'adm-pw'`, admin),
		fmt.Sprintf(`CREATE ROLE %q LOGIN PASSWORD 'first-pw'`, app),
	) {
		if _, err := pg.super.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, q := range drops {
			_, _ = pg.super.Exec(context.Background(), q)
		}
	})
	return fmt.Sprintf("postgres://%s:adm-pw@%s/postgres?sslmode=disable", admin, pg.host)
}

// login reports whether role logs in with pw.
func (pg *pgServer) login(role, pw string) error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/postgres?sslmode=disable", role, url.PathEscape(pw), pg.host))
	if err != nil {
		return err
	}
	return c.Close(ctx)
}
