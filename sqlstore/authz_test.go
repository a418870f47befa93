package sqlstore_test

import (
	"os"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/storetest"
)

func TestAuthzSQLite(t *testing.T) {
	storetest.RunAuthz(t, func(t *testing.T) steward.Store { return sqltest.OpenSQLite(t) })
}

func TestAuthzPostgres(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	storetest.RunAuthz(t, func(t *testing.T) steward.Store { return sqltest.OpenPostgres(t) })
}
