package sqlstore_test

import (
	"os"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/storetest"
)

func TestAlertsSQLite(t *testing.T) {
	storetest.RunAlerts(t, func(t *testing.T) steward.Store { return sqltest.OpenSQLite(t) })
}

func TestAlertsPostgres(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	storetest.RunAlerts(t, func(t *testing.T) steward.Store { return sqltest.OpenPostgres(t) })
}
