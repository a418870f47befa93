package sqlstore_test

import (
	"os"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/storetest"
)

func TestBrokerSQLite(t *testing.T) {
	storetest.RunBroker(t, func(t *testing.T) steward.Store { return sqltest.OpenSQLite(t) })
}

func TestBrokerPostgres(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	storetest.RunBroker(t, func(t *testing.T) steward.Store { return sqltest.OpenPostgres(t) })
}
