package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
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
			var rot broker.Rotated
			decode(t, mustOut(t)(s.credCLI(t, "credential", "rotate", cl.ID, "--overlap", "1h", "-o", "json")), &rot)
			list := mustOut(t)(s.credCLI(t, "credential", "list", id.ID))
			if !strings.Contains(list, cl.ID) || !strings.Contains(list, rot.ID) {
				t.Fatalf("list:\n%s", list)
			}
			mustOut(t)(s.credCLI(t, "credential", "revoke", rot.ID))
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
	st, body := httpDo(t, "POST", a+"/api/v1/identities", adminToken, "application/json", `{"name":"edge","kind":"workload","scopes":["x"],"unowned_reason":"test fixture"}`)
	if st != 201 {
		t.Fatalf("create identity: %d %s", st, body)
	}
	var id steward.Identity
	json.Unmarshal(body, &id)
	st, body = httpDo(t, "POST", a+"/api/v1/identities/"+id.ID+"/credentials", adminToken, "application/json", `{"type":"api_key"}`)
	if st != 201 {
		t.Fatalf("issue: %d %s", st, body)
	}
	var k broker.Issued
	json.Unmarshal(body, &k)
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
