package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/evidence"
)

// postureCLI runs one of the posture commands (not yet in root.go) with
// the server's URL and admin token.
func postureCLI(t *testing.T, s *server, mk func(g *globals) *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"STEWARD_SERVER": s.url, "STEWARD_TOKEN": adminToken}
	g := &globals{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, output: "table"}
	root := &cobra.Command{Use: "steward", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format")
	root.AddCommand(mk(g))
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestPostureEndToEnd(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_SCIM_TOKEN": "scim-token-0123456789",
				"STEWARD_MASTER_KEY": strings.Repeat("ab", 32)}, dbArgs(t)...)
			var id steward.Identity
			decode(t, s.mustCLI(t, "identity", "create", "--name", "nobody-owns-me", "--kind", "api_key", "--unowned-reason", "test fixture", "-o", "json"), &id)

			// Posture follows the change without being asked.
			deadline := time.Now().Add(15 * time.Second)
			var page steward.Page[*steward.Finding]
			for {
				out, err := postureCLI(t, s, newFindingsCmd, "findings", "list", "--identity", id.ID, "-o", "json")
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(out), &page); err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				if len(page.Items) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			var checks []string
			for _, f := range page.Items {
				checks = append(checks, f.Check)
				if f.Check == "owner.missing" && (f.OWASP != "NHI1" || f.CSF[0] != "GV.RR-02") {
					t.Fatalf("finding %+v", f)
				}
			}
			if !strings.Contains(strings.Join(checks, " "), "owner.missing") {
				t.Fatalf("no owner.missing finding for %s: %v\n%s", id.ID, checks, s.logs.String())
			}
			if out, err := postureCLI(t, s, newReviewCmd, "review", "start", "--scope", "kind=api_key", "--name", "keys"); err != nil || !strings.Contains(out, id.ID) {
				t.Fatalf("review start: %v\n%s", err, out)
			}
			if _, err := postureCLI(t, s, newReviewCmd, "review", "start", "--scope", "colour=blue"); err == nil {
				t.Fatal("unknown scope key accepted")
			}

			dir := filepath.Join(t.TempDir(), "pack")
			// -o is the output format everywhere: the old "-o DIR" says so.
			if _, err := postureCLI(t, s, newReportCmd, "report", "evidence", "--from", "2020-01-01", "-o", dir); err == nil || !strings.Contains(err.Error(), "--dir "+dir) {
				t.Fatalf("report evidence -o DIR: %v", err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("report evidence -o DIR wrote %s", dir)
			}
			if _, err := postureCLI(t, s, newReportCmd, "report", "evidence", "--from", "2020-01-01", "--dir", dir); err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				files[e.Name()] = b
			}
			csvs := 0
			for n := range files {
				if strings.HasSuffix(n, ".csv") {
					csvs++
				}
			}
			if files["index.html"] == nil || files["evidence.json"] == nil || files["manifest.json"] == nil || csvs == 0 {
				t.Fatalf("pack files: %v", entries)
			}
			if err := evidence.Verify(files, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
