package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runPolicyCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runPolicyCmdAt(t, "", args...)
}

// runPolicyCmdAt runs `steward policy …` against the server at url.
func runPolicyCmdAt(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"STEWARD_SERVER": url, "STEWARD_TOKEN": adminToken}
	g := &globals{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, output: "table"}
	cmd := newPolicyCmd(g)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestPolicyTestAndValidateOffline(t *testing.T) {
	td := "../../authz/testdata"
	out, err := runPolicyCmd(t, "test", filepath.Join(td, "conformance.tests.json"), "--policies", filepath.Join(td, "conformance.cedar"),
		"--entities", filepath.Join(td, "conformance.entities.json"))
	if err != nil || strings.Count(out, "PASS") != 8 {
		t.Fatalf("policy test: %v\n%s", err, out)
	}
	// Without the entities alice is not staff: the read cases fail, and
	// the command says so with an error (a non-zero exit in CI).
	out, err = runPolicyCmd(t, "test", filepath.Join(td, "conformance.tests.json"), "--policies", filepath.Join(td, "conformance.cedar"))
	if err == nil || !strings.Contains(out, "FAIL") {
		t.Fatalf("failing cases passed: %v\n%s", err, out)
	}
	if out, err := runPolicyCmd(t, "validate", filepath.Join(td, "conformance.cedar")); err != nil || !strings.Contains(out, "4 statements: valid") {
		t.Fatalf("validate: %v %s", err, out)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "broken.cedar"), `permit (principal, action, resource`)
	if _, err := runPolicyCmd(t, "validate", dir); err == nil {
		t.Fatal("a broken policy validated")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := osWriteFile(path, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, url, token, ct, body string) (int, string) {
	t.Helper()
	st, b := httpDo(t, "POST", url, token, ct, body)
	return st, string(b)
}

// TestAuthzAcrossNodesAndRestart runs two servers on one database: a
// policy applied on one decides on the other, and the decision log written
// by the batcher survives shutdown.
func TestAuthzAcrossNodesAndRestart(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			args := dbArgs(t)
			env := map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": strings.Repeat("ab", 32)}
			a := startServer(t, env, args...)
			b := startServer(t, env, args...)
			req := `{"subject":{"type":"Service","id":"svc-1"},"action":{"name":"read"},"resource":{"type":"Secret","id":"s1"}}`
			if st, body := post(t, b.url+"/access/v1/evaluation", adminToken, "application/json", req); st != 200 || !strings.Contains(body, `"decision":false`) {
				t.Fatalf("before: %d %s", st, body)
			}
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "readers.cedar"), `permit (principal is Service, action == Action::"read", resource is Secret);`)
			if out, err := runPolicyCmdAt(t, a.url, "apply", dir, "--reason", "test"); err != nil || !strings.Contains(out, "readers") {
				t.Fatalf("apply: %v %s", err, out)
			}
			if out, _ := runPolicyCmdAt(t, a.url, "diff", dir); !strings.Contains(out, "no differences") {
				t.Fatalf("diff after apply:\n%s", out)
			}
			if out, _ := runPolicyCmdAt(t, a.url, "list"); !strings.Contains(out, "readers") {
				t.Fatalf("list:\n%s", out)
			}
			// The other node picks the change up by polling (≤ 500 ms).
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, body := post(t, b.url+"/access/v1/evaluation", adminToken, "application/json", req)
				if strings.Contains(body, `"decision":true`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node b never saw the policy: %s", body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			b.stop(t)
			a.stop(t)
			c := startServer(t, env, args...)
			res, err := http.NewRequest("GET", c.url+"/api/v1/usage?kind=decision", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Header.Set("Authorization", "Bearer "+adminToken)
			r, err := http.DefaultClient.Do(res)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Body.Close()
			var page struct {
				Items []struct {
					Subject, Outcome string
				} `json:"items"`
			}
			if err := json.NewDecoder(r.Body).Decode(&page); err != nil || len(page.Items) < 2 {
				t.Fatalf("usage after restart: %v %+v", err, page)
			}
			if page.Items[len(page.Items)-1].Outcome != "deny" || page.Items[0].Outcome != "allow" || page.Items[0].Subject != "Service:svc-1" {
				t.Fatalf("usage %+v", page.Items)
			}
		})
	}
}

func osWriteFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
