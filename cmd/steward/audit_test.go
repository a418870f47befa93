package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/golden"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

const testMasterKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// runCLI runs the CLI through run(); until root.go lists the audit
// command, it adds it to the same root.
func runCLI(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	getenv := func(k string) string { return env[k] }
	root := newRootCmd(getenv, strings.NewReader(""), stdout, stderr)
	if c, _, err := root.Find([]string{"audit"}); err != nil || c == root {
		root.AddCommand(newAuditCmd(&globals{getenv: getenv, stdin: strings.NewReader(""), stdout: stdout, stderr: stderr}))
		root.SetArgs(args)
		return root.ExecuteContext(ctx)
	}
	return run(ctx, args, getenv, strings.NewReader(""), stdout, stderr)
}

func auditCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runCLI(context.Background(), args, env, &out, &errb)
	return out.String(), err
}

// seedChain appends n entries with varied payloads.
func seedChain(t *testing.T, st *sqlstore.Store, n int) {
	t.Helper()
	ctx := context.Background()
	base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range n {
		err := st.Update(ctx, func(tx steward.Tx) error {
			return tx.AppendEvent(ctx, &steward.Event{ID: fmt.Sprintf("evt_%03d", i), Time: base.Add(time.Duration(i) * time.Minute), Actor: "token:t1",
				Action: steward.ActionIdentityUpdate, SubjectType: steward.SubjectIdentity, SubjectID: fmt.Sprintf("nhi_%d", i%3), IdentityID: fmt.Sprintf("nhi_%d", i%3),
				Reason: "change " + fmt.Sprint(i), Before: steward.Snapshot(map[string]any{"name": fmt.Sprintf("n%d", i), "version": i}),
				After: steward.Snapshot(map[string]any{"name": fmt.Sprintf("n%d", i+1), "version": i + 1})})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// rehashFrom recomputes every entry hash from seq on, as an attacker with
// database access would after editing an entry.
func rehashFrom(t *testing.T, st *sqlstore.Store, from, to int64) {
	t.Helper()
	ctx := context.Background()
	var evs []*steward.Event
	if err := st.ScanEvents(ctx, 0, 0, 1000, func(b []*steward.Event) error { evs = append(evs, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	prev := steward.GenesisHash
	for _, e := range evs {
		if e.Seq >= from && (to == 0 || e.Seq <= to) {
			e.PrevHash = prev
			h, err := e.ComputeHash()
			if err != nil {
				t.Fatal(err)
			}
			e.EntryHash = h
			mustExec(t, st.DB(), st.Rebind(`UPDATE events SET prev_hash = ?, entry_hash = ? WHERE seq = ?`), e.PrevHash, e.EntryHash, e.Seq)
		}
		prev = e.EntryHash
	}
}

type tamperCase struct {
	name     string
	tamper   func(t *testing.T, st *sqlstore.Store)
	wantSeq  int64
	wantKind string
}

func tamperCases() []tamperCase {
	shift := func(t *testing.T, st *sqlstore.Store, from, by int64) {
		mustExec(t, st.DB(), st.Rebind(`UPDATE events SET seq = seq + 100000 WHERE seq >= ?`), from)
		mustExec(t, st.DB(), st.Rebind(`UPDATE events SET seq = seq - 100000 + ? WHERE seq >= 100000`), by)
	}
	return []tamperCase{
		{"an edited entry", func(t *testing.T, st *sqlstore.Store) {
			mustExec(t, st.DB(), `UPDATE events SET reason = 'nothing to see' WHERE seq = 5`)
		}, 5, steward.TamperEdited},
		{"an edited payload", func(t *testing.T, st *sqlstore.Store) {
			mustExec(t, st.DB(), `UPDATE events SET after = '{"name":"forged","version":9}' WHERE seq = 7`)
		}, 7, steward.TamperEdited},
		{"an edited entry whose hash was recomputed", func(t *testing.T, st *sqlstore.Store) {
			mustExec(t, st.DB(), `UPDATE events SET actor = 'token:someone-else' WHERE seq = 4`)
			rehashFrom(t, st, 4, 4)
		}, 4, steward.TamperEdited},
		{"a deleted entry", func(t *testing.T, st *sqlstore.Store) {
			mustExec(t, st.DB(), `DELETE FROM events WHERE seq = 6`)
		}, 6, steward.TamperDeleted},
		{"a deleted entry with the rest renumbered", func(t *testing.T, st *sqlstore.Store) {
			mustExec(t, st.DB(), `DELETE FROM events WHERE seq = 6`)
			shift(t, st, 7, -1)
		}, 6, steward.TamperDeleted},
		{"an inserted entry", func(t *testing.T, st *sqlstore.Store) {
			shift(t, st, 5, 1)
			var prev string
			if err := st.DB().QueryRow(`SELECT entry_hash FROM events WHERE seq = 4`).Scan(&prev); err != nil {
				t.Fatal(err)
			}
			e := &steward.Event{Seq: 5, ID: "evt_forged", Time: time.Date(2026, 3, 4, 5, 10, 30, 0, time.UTC), Actor: "token:t1", Action: "identity.update", Reason: "backdated", PrevHash: prev}
			h, _ := e.ComputeHash()
			mustExec(t, st.DB(), st.Rebind(`INSERT INTO events (seq, id, time, actor, action, reason, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?)`),
				e.Seq, e.ID, e.Time.UnixMicro(), e.Actor, e.Action, e.Reason, e.PrevHash, h)
		}, 5, steward.TamperInserted},
		{"two reordered entries", func(t *testing.T, st *sqlstore.Store) {
			mustExec(t, st.DB(), `UPDATE events SET seq = -5 WHERE seq = 5`)
			mustExec(t, st.DB(), `UPDATE events SET seq = 5 WHERE seq = 6`)
			mustExec(t, st.DB(), `UPDATE events SET seq = 6 WHERE seq = -5`)
		}, 5, steward.TamperReordered},
		{"a truncated tail (checkpoints deleted too)", func(t *testing.T, st *sqlstore.Store) {
			mustExec(t, st.DB(), `DELETE FROM events WHERE seq > 8`)
			mustExec(t, st.DB(), `DELETE FROM audit_checkpoints`)
		}, 9, steward.TamperTruncated},
		{"a rewritten chain", func(t *testing.T, st *sqlstore.Store) {
			mustExec(t, st.DB(), `UPDATE events SET reason = 'rewritten' WHERE seq = 3`)
			rehashFrom(t, st, 3, 0)
		}, 1, steward.TamperRewritten},
	}
}

func auditEngines(t *testing.T) map[string]func(t *testing.T) (args []string, open func() *sqlstore.Store) {
	m := map[string]func(t *testing.T) ([]string, func() *sqlstore.Store){
		"sqlite": func(t *testing.T) ([]string, func() *sqlstore.Store) {
			dir := filepath.Join(t.TempDir(), "data")
			return []string{"--data-dir", dir}, func() *sqlstore.Store {
				st, err := sqlstore.OpenDataDir(context.Background(), dir, sqlstore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
		},
	}
	if os.Getenv(sqltest.PostgresEnv) != "" {
		m["postgres"] = func(t *testing.T) ([]string, func() *sqlstore.Store) {
			u := sqltest.PostgresURL(t)
			return []string{"--db", u}, func() *sqlstore.Store {
				st, err := sqlstore.Open(context.Background(), u, sqlstore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
		}
	}
	return m
}

func TestAuditVerifyLocatesTampering(t *testing.T) {
	env := map[string]string{"STEWARD_MASTER_KEY": testMasterKey}
	for engine, setup := range auditEngines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Run("an intact chain verifies", func(t *testing.T) {
				args, open := setup(t)
				st := open()
				defer st.Close()
				seedChain(t, st, 10)
				out, err := auditCLI(t, env, append([]string{"audit", "verify"}, args...)...)
				if err != nil || !strings.Contains(out, "intact: 10 entries") || !strings.Contains(out, "NO EXTERNAL CHECKPOINT") {
					t.Fatalf("verify = %q, %v (it must say that no external checkpoint was checked)", out, err)
				}
			})
			for _, tc := range tamperCases() {
				t.Run(tc.name+" is detected", func(t *testing.T) {
					args, open := setup(t)
					st := open()
					defer st.Close()
					seedChain(t, st, 10)
					cp := filepath.Join(t.TempDir(), "cp.json")
					if _, err := auditCLI(t, env, append([]string{"audit", "checkpoint", "--file", cp}, args...)...); err != nil {
						t.Fatalf("checkpoint: %v", err)
					}
					tc.tamper(t, st)
					_, err := auditCLI(t, env, append([]string{"audit", "verify", "--checkpoint", cp}, args...)...)
					if err == nil {
						t.Fatal("verify passed a tampered chain")
					}
					var line bytes.Buffer
					if code := exitCode(err, &line); code != 2 {
						t.Fatalf("exit code %d (%v)", code, err)
					}
					msg := strings.TrimSpace(line.String())
					want := fmt.Sprintf("broken at seq %d: %s entry", tc.wantSeq, tc.wantKind)
					if !strings.Contains(msg, want) || strings.Count(msg, "\n") != 0 {
						t.Fatalf("message %q does not say %q", msg, want)
					}
				})
			}
		})
	}
}

func TestAuditProveAndVerifyProofOffline(t *testing.T) {
	env := map[string]string{"STEWARD_MASTER_KEY": testMasterKey}
	args, open := auditEngines(t)["sqlite"](t)
	st := open()
	defer st.Close()
	seedChain(t, st, 7)
	if _, err := auditCLI(t, env, append([]string{"audit", "checkpoint"}, args...)...); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	proof, pub := filepath.Join(dir, "proof.json"), filepath.Join(dir, "audit.pub")
	if _, err := auditCLI(t, env, append([]string{"audit", "prove", "5", "--file", proof}, args...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := auditCLI(t, env, append([]string{"audit", "public-key", "--file", pub}, args...)...); err != nil {
		t.Fatal(err)
	}
	out, err := auditCLI(t, env, "audit", "verify-proof", proof, "--public-key", pub)
	if err != nil || !strings.Contains(out, "proof valid: entry 5") {
		t.Fatalf("verify-proof = %q, %v", out, err)
	}
	// A proof edited to claim another entry fails.
	b, _ := os.ReadFile(proof)
	var p steward.InclusionProof
	json.Unmarshal(b, &p)
	p.Entry.Reason = "edited"
	b, _ = json.Marshal(p)
	os.WriteFile(proof, b, 0o600)
	if _, err := auditCLI(t, env, "audit", "verify-proof", proof, "--public-key", pub); err == nil || exitCode(err, io.Discard) != 2 {
		t.Fatalf("edited proof: %v", err)
	}
	// Against another key it fails too.
	os.WriteFile(pub, []byte(audit.NewSigner(ed25519.NewKeyFromSeed(make([]byte, 32))).PublicKey().PEM), 0o600)
	if _, err := auditCLI(t, env, "audit", "verify-proof", proof, "--public-key", pub); err == nil {
		t.Fatal("verified with another key")
	}
}

func TestAuditExportJSONLGolden(t *testing.T) {
	args, open := auditEngines(t)["sqlite"](t)
	st := open()
	defer st.Close()
	seedChain(t, st, 4)
	out, err := auditCLI(t, nil, append([]string{"audit", "export", "--since", "2026-03-04T05:07:00Z", "-o", "jsonl"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/audit-export.golden.jsonl", []byte(out))
}
