package sqlstore_test

import (
	"os"
	"testing"

	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/storetest"
)

func TestAuditSQLite(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditStore { return sqltest.OpenSQLite(t).(*sqlstore.Store) })
}

func TestAuditPostgres(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditStore { return sqltest.OpenPostgres(t).(*sqlstore.Store) })
}
