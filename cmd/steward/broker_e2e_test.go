package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/testhttp"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

const brokerTestMasterKey = "0101010101010101010101010101010101010101010101010101010101010101"

// credCLI runs `steward credential …` / `steward keys …` against s.
func (s *server) credCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"STEWARD_SERVER": s.url, "STEWARD_TOKEN": adminToken}
	root := newRootCmd(func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	// Until root.go registers them.
	if c, _, err := root.Find([]string{"credential"}); err != nil || c == root {
		g := &globals{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errb, output: "table"}
		root.PersistentFlags().Lookup("output").Value.Set("table")
		root.AddCommand(newCredentialCmd(g), newKeysCmd(g))
		for i, a := range args {
			if a == "-o" && i+1 < len(args) {
				g.output = args[i+1]
			}
		}
	}
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func httpDo(t *testing.T, method, u, token, ct, body string) (int, []byte) {
	t.Helper()
	r := testhttp.Do(t, nil, method, u, token, ct, strings.NewReader(body))
	return r.Status, r.Body
}

// newIssuedIdentity creates a workload identity with scopes on the server
// at base and issues it one credential of each type ("api_key",
// "client_secret"), in that order.
func newIssuedIdentity(t *testing.T, base string, scopes []string, types ...string) (*steward.Identity, []broker.Issued) {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"name": "edge", "kind": "workload", "scopes": scopes, "unowned_reason": "test fixture"})
	var id steward.Identity
	createdJSON(t, base+"/api/v1/identities", string(in), &id)
	issued := make([]broker.Issued, len(types))
	for n, typ := range types {
		createdJSON(t, base+"/api/v1/identities/"+id.ID+"/credentials", `{"type":"`+typ+`"}`, &issued[n])
	}
	return &id, issued
}

// createdJSON posts body as the admin, expects 201 Created and decodes the
// answer into out.
func createdJSON(t *testing.T, u, body string, out any) {
	t.Helper()
	st, b := httpDo(t, "POST", u, adminToken, "application/json", body)
	if st != 201 {
		t.Fatalf("POST %s: %d %s", u, st, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("POST %s: %v in %s", u, err, b)
	}
}

func TestBrokerEndToEnd(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			args := dbArgs(t)
			if name == "sqlite" {
				args = []string{"--data-dir", dataDir}
			}
			s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey}, args...)
			var id steward.Identity
			decode(t, s.mustCLI(t, "identity", "create", "--name", "ci-bot", "--kind", "bot", "--unowned-reason", "test fixture", "--scope", "deploy", "--scope", broker.ScopeIntrospect, "-o", "json"), &id)

			key := strings.TrimSpace(mustOut(t)(s.credCLI(t, "credential", "issue", id.ID, "--scope", "deploy", "--scope", broker.ScopeIntrospect, "--ttl", "720h")))
			if !broker.WellFormed(key) {
				t.Fatalf("issued %q", key)
			}
			st, body := httpDo(t, "GET", s.url+"/api/v1/whoami", key, "", "")
			if st != 200 || !strings.Contains(string(body), "nhi:"+id.ID) {
				t.Fatalf("whoami with API key: %d %s", st, body)
			}
			var cl broker.Issued
			decode(t, mustOut(t)(s.credCLI(t, "credential", "issue", id.ID, "--type", "client_secret", "-o", "json")), &cl)
			cfg := clientcredentials.Config{ClientID: cl.ClientID, ClientSecret: cl.Secret, TokenURL: s.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
			tok, err := cfg.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			st, body = httpDo(t, "POST", s.url+"/oauth2/introspect", key, "application/x-www-form-urlencoded", url.Values{"token": {tok.AccessToken}}.Encode())
			if st != 200 || !strings.Contains(string(body), `"active":true`) {
				t.Fatalf("introspect: %d %s", st, body)
			}
			if _, metrics := httpDo(t, "GET", s.url+"/metrics", key, "", ""); !strings.Contains(string(metrics), `steward_oauth_tokens_issued_total{grant_type="client_credentials"} 1`) {
				t.Fatalf("token issuance is not counted")
			}
			var rot broker.Rotated
			decode(t, mustOut(t)(s.credCLI(t, "credential", "rotate", cl.ID, "--overlap", "1h", "-o", "json")), &rot)
			list := mustOut(t)(s.credCLI(t, "credential", "list", id.ID))
			if !strings.Contains(list, cl.ID) || !strings.Contains(list, rot.ID) {
				t.Fatalf("list:\n%s", list)
			}
			// The answer says where the revocation took effect.
			if out := mustOut(t)(s.credCLI(t, "credential", "revoke", rot.ID)); !strings.Contains(out, "REVOKED_WHERE") || !strings.Contains(out, steward.RevokedSteward) {
				t.Fatalf("revoke does not say where:\n%s", out)
			}
			if keys := mustOut(t)(s.credCLI(t, "keys", "rotate")); !strings.Contains(keys, "active") {
				t.Fatalf("keys rotate:\n%s", keys)
			}
			if keys := mustOut(t)(s.credCLI(t, "keys", "list")); strings.Count(keys, "EdDSA") != 2 {
				t.Fatalf("keys list:\n%s", keys)
			}
			// No secret in the server's log, nor in the database files.
			secrets := []string{key, cl.Secret, rot.Secret, tok.AccessToken}
			for _, sec := range secrets {
				if strings.Contains(s.logs.String(), sec) {
					t.Errorf("the server log contains a secret")
				}
			}
			if name == "sqlite" {
				s.stop(t)
				files, _ := filepath.Glob(filepath.Join(dataDir, "*"))
				for _, f := range files {
					b, _ := os.ReadFile(f)
					for _, sec := range secrets {
						if bytes.Contains(b, []byte(sec)) {
							t.Errorf("%s contains a secret", filepath.Base(f))
						}
					}
				}
			}
		})
	}
}

func mustOut(t *testing.T) func(string, error) string {
	return func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestBrokerRefusesAnUnreadableMasterKey(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"STEWARD_MASTER_KEY_FILE": filepath.Join(t.TempDir(), "missing.key"), "STEWARD_ADMIN_TOKEN": adminToken}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "--addr", freeAddr(t), "--data-dir", filepath.Join(t.TempDir(), "d")}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "master key") || !strings.Contains(err.Error(), "STEWARD_MASTER_KEY_FILE") {
		t.Fatalf("err = %v", err)
	}
}

// TestRevocationReachesTheOtherNode runs two `steward serve` processes on
// one PostgreSQL: a revocation made on one is enforced by the other within
// a second.
func TestRevocationReachesTheOtherNode(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	bin := filepath.Join(t.TempDir(), "steward")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := sqltest.PostgresURL(t)
	start := func() string {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "serve", "--addr", addr, "--db", db, "--log-level", "warn")
		cmd.Env = append(os.Environ(), "STEWARD_ADMIN_TOKEN="+adminToken, "STEWARD_MASTER_KEY="+brokerTestMasterKey)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		})
		u := "http://" + addr
		deadline := time.Now().Add(30 * time.Second)
		for {
			if res, err := http.Get(u + "/healthz"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					return u
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("node at %s did not start:\n%s", u, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	a := start()
	b := start()
	_, issued := newIssuedIdentity(t, a, []string{"x"}, "api_key")
	k := issued[0]
	// Node B knows the key (and caches it).
	for n := 0; n < 3; n++ {
		if st, body := httpDo(t, "GET", b+"/api/v1/whoami", k.Secret, "", ""); st != 200 {
			t.Fatalf("node B before revocation: %d %s", st, body)
		}
	}
	if st, body := httpDo(t, "POST", a+"/api/v1/credentials/"+k.ID+"/revoke", adminToken, "application/json", `{"reason":"incident"}`); st != 200 {
		t.Fatalf("revoke on A: %d %s", st, body)
	}
	revoked := time.Now()
	for {
		st, _ := httpDo(t, "GET", b+"/api/v1/whoami", k.Secret, "", "")
		if st == 401 {
			break
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("node B still accepts the key %s after revocation on node A", time.Since(revoked))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("node B refused the key %s after the revocation on node A", time.Since(revoked).Round(time.Millisecond))

}
