package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/steward-nhi/steward/sqlstore"
)

// TestShutdownWritesTokenLastUse: an operator token's last use, written
// in the background, is in the database after the server stops, even
// when the server stops right after the request: the shutdown flushes it
// before the store closes.
func TestShutdownWritesTokenLastUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken}, "--data-dir", dir)
	req, _ := http.NewRequest("GET", s.url+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("whoami: %d", res.StatusCode)
	}
	s.stop(t)
	st, err := sqlstore.OpenDataDir(context.Background(), dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	toks, err := st.ListTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 || toks[0].LastUsedAt == nil {
		t.Fatalf("after shutdown the admin token's last use is not recorded: %+v", toks[0])
	}
}
