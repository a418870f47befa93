package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/notify"
)

// alertsCLI runs `steward alerts …` against s (registered here until
// root.go lists the command).
func (s *server) alertsCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"STEWARD_SERVER": s.url, "STEWARD_TOKEN": adminToken}
	root := newRootCmd(func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	if c, _, err := root.Find([]string{"alerts"}); err != nil || c == root {
		g := &globals{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errb, output: "table"}
		for i, a := range args {
			if a == "-o" && i+1 < len(args) {
				g.output = args[i+1]
			}
		}
		root.AddCommand(newAlertsCmd(g))
	}
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

type hookLog struct {
	mu  sync.Mutex
	got []steward.Notification
	bad int
}

// TestRevokedCredentialUseIsAlerted is the contract: the use of a revoked
// credential (an API key presented to the API after its revocation, which
// the broker records as a usage event with outcome revoked) appears in
// GET /api/v1/alerts?identity_id=ID within 5 s, and reaches a signed
// webhook on 127.0.0.1.
func TestRevokedCredentialUseIsAlerted(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			secret := "alert-hook-secret-0123456789"
			hooks := &hookLog{}
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				hooks.mu.Lock()
				defer hooks.mu.Unlock()
				if err := notify.Verify([]byte(secret), r.Header, body, time.Now(), 0); err != nil {
					hooks.bad++
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				var n steward.Notification
				_ = json.Unmarshal(body, &n)
				hooks.got = append(hooks.got, n)
			}))
			defer recv.Close()
			cfg := filepath.Join(t.TempDir(), "steward.yaml")
			yaml := "alerts:\n  sinks:\n    - {name: hook, type: webhook, url: " + recv.URL + ", secret_env: STEWARD_TEST_ALERT_SECRET}\n" +
				"  rules:\n    - {name: critical, min_severity: high, sinks: [hook]}\n"
			if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey,
				"STEWARD_TEST_ALERT_SECRET": secret}, append(dbArgs(t), "--config", cfg)...)

			var id steward.Identity
			decode(t, s.mustCLI(t, "identity", "create", "--name", "deployer", "--kind", "workload", "--unowned-reason", "test fixture", "--scope", "deploy", "-o", "json"), &id)
			var key broker.Issued
			decode(t, mustOut(t)(s.credCLI(t, "credential", "issue", id.ID, "--scope", "deploy", "--ttl", "720h", "-o", "json")), &key)
			if st, body := httpDo(t, "GET", s.url+"/api/v1/whoami", key.Secret, "", ""); st != 200 {
				t.Fatalf("whoami before revocation: %d %s", st, body)
			}
			mustOut(t)(s.credCLI(t, "credential", "revoke", key.ID))
			used := time.Now()
			if st, body := httpDo(t, "GET", s.url+"/api/v1/whoami", key.Secret, "", ""); st != 401 {
				t.Fatalf("whoami after revocation: %d %s", st, body)
			}

			var alert map[string]any
			for {
				st, body := httpDo(t, "GET", s.url+"/api/v1/alerts?identity_id="+id.ID, adminToken, "", "")
				if st != 200 {
					t.Fatalf("list alerts: %d %s", st, body)
				}
				var page struct {
					Items []map[string]any `json:"items"`
				}
				decode(t, string(body), &page)
				for _, a := range page.Items {
					if a["detector"] == "revoked_use" {
						alert = a
					}
				}
				if alert != nil {
					break
				}
				if time.Since(used) > 5*time.Second {
					t.Fatalf("no alert within 5 s: %s", body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("alert listed %s after the use", time.Since(used).Round(time.Millisecond))
			if alert["severity"] != "critical" || alert["identity_id"] != id.ID || alert["status"] != "open" || alert["id"] == "" ||
				alert["owasp"] != "NHI2:2025" || alert["credential_id"] != key.ID {
				t.Fatalf("alert %v", alert)
			}

			deadline := time.Now().Add(10 * time.Second)
			for {
				hooks.mu.Lock()
				n, bad := len(hooks.got), hooks.bad
				var first steward.Notification
				if n > 0 {
					first = hooks.got[0]
				}
				hooks.mu.Unlock()
				if bad > 0 {
					t.Fatal("a webhook did not verify")
				}
				if n > 0 {
					if first.Kind != "alert" || first.Fields["detector"] != "revoked_use" || first.Fields["alert_id"] != alert["id"] {
						t.Fatalf("webhook %+v", first)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the webhook got nothing")
				}
				time.Sleep(20 * time.Millisecond)
			}

			out := mustOut(t)(s.alertsCLI(t, "alerts", "list", "--identity", id.ID))
			if !strings.Contains(out, "revoked_use") || !strings.Contains(out, "critical") {
				t.Fatalf("alerts list:\n%s", out)
			}
			out = mustOut(t)(s.alertsCLI(t, "alerts", "ack", alert["id"].(string), "--note", "investigating", "-o", "json"))
			var acked steward.Alert
			decode(t, out, &acked)
			if acked.Status != steward.AlertAcknowledged || acked.ActedBy == "" {
				t.Fatalf("ack: %+v", acked)
			}
			if _, err := s.alertsCLI(t, "alerts", "ack", alert["id"].(string)); err == nil {
				t.Fatal("a second ack was accepted")
			}
			mustOut(t)(s.alertsCLI(t, "alerts", "resolve", alert["id"].(string)))

			st, body := httpDo(t, "GET", s.url+"/metrics", "", "", "")
			if st != 200 || !strings.Contains(string(body), `steward_alerts_total{detector="revoked_use",severity="critical"} 1`) {
				t.Fatalf("metrics: %d\n%s", st, grepLines(string(body), "steward_alert"))
			}
			if st, body := httpDo(t, "GET", s.url+"/api/v1/alerts/dead-letters", adminToken, "", ""); st != 200 || !strings.Contains(string(body), `"items":[]`) {
				t.Fatalf("dead letters: %d %s", st, body)
			}
			if st, body := httpDo(t, "POST", s.url+"/api/v1/alerts/test-notification", adminToken, "application/json", `{"sinks":["hook"]}`); st != 200 ||
				!strings.Contains(string(body), `"ok":true`) {
				t.Fatalf("test notification: %d %s", st, body)
			}
		})
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
