package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/sqlstore"
)

// TestTruncatedTailIsCaughtAtStart: the checkpoints are kept outside the
// database as they are made, so a database administrator who cuts the
// chain's tail and deletes the checkpoints that covered it is caught when
// the server starts: an error in the log, a critical alert, and /readyz
// answering 503.
func TestTruncatedTailIsCaughtAtStart(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			external := filepath.Join(dir, "checkpoints.jsonl")
			cfg := filepath.Join(dir, "steward.yaml")
			if err := os.WriteFile(cfg, []byte("audit:\n  checkpoint_every: 5\n  checkpoint_file: "+external+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append(dbArgs(t), "--config", cfg)
			env := map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey}
			s := startServer(t, env, args...)
			for i := range 8 {
				s.mustCLI(t, "identity", "create", "--name", "svc-"+string(rune('a'+i)), "--kind", "workload", "--unowned-reason", "test")
			}
			file := &audit.CheckpointFile{Path: external}
			deadline := time.Now().Add(15 * time.Second)
			for {
				cp, err := file.Latest()
				if err != nil {
					t.Fatal(err)
				}
				if cp != nil && cp.TreeSize >= 8 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no checkpoint of ≥ 8 entries kept outside the database: %+v", cp)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if st, body := httpDo(t, "GET", s.url+"/readyz", "", "", ""); st != 200 {
				t.Fatalf("readyz before tampering: %d %s", st, body)
			}
			s.stop(t)

			st := openStoreFromArgs(t, args)
			mustExec(t, st.DB(), `DELETE FROM events WHERE seq > 3`)
			mustExec(t, st.DB(), `DELETE FROM audit_checkpoints`)
			st.Close()

			s = startServer(t, env, args...)
			deadline = time.Now().Add(15 * time.Second)
			for {
				st, body := httpDo(t, "GET", s.url+"/readyz", "", "", "")
				if st == 503 && strings.Contains(string(body), "audit chain") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("readyz after truncation: %d %s\n%s", st, body, s.logs.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			// /readyz turns first; the alert follows through the engine.
			for {
				st, body := httpDo(t, "GET", s.url+"/api/v1/alerts?detector=audit_chain", adminToken, "", "")
				if st == 200 && strings.Contains(string(body), `"detector":"audit_chain"`) && strings.Contains(string(body), `"severity":"critical"`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("alerts: %d %s", st, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !strings.Contains(s.logs.String(), "AUDIT CHAIN TAMPERED") {
				t.Fatalf("no error logged:\n%s", s.logs.String())
			}
		})
	}
}

// openStoreFromArgs opens the database a server was started on.
func openStoreFromArgs(t *testing.T, args []string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	for i := 0; i+1 < len(args); i++ {
		var st *sqlstore.Store
		var err error
		switch args[i] {
		case "--data-dir":
			st, err = sqlstore.OpenDataDir(ctx, args[i+1], sqlstore.Options{})
		case "--db":
			st, err = sqlstore.Open(ctx, args[i+1], sqlstore.Options{})
		default:
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	t.Fatalf("no database in %v", args)
	return nil
}
