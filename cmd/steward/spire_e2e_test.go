package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
)

// spireServerBinary finds spire-server: STEWARD_SPIRE_SERVER, else PATH.
// Without it the test fails, unless STEWARD_SKIP_SPIRE=1 says this
// machine has none (CI builds it: scripts/spire-server).
func spireServerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("STEWARD_SPIRE_SERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("STEWARD_SPIRE_SERVER=%s: %v", p, err)
		}
		return p
	}
	if p, err := exec.LookPath("spire-server"); err == nil {
		return p
	}
	if os.Getenv("STEWARD_SKIP_SPIRE") == "1" {
		t.Skip("spire-server is not installed and STEWARD_SKIP_SPIRE=1")
	}
	t.Fatal("spire-server not found: run scripts/spire-server (it builds and caches it) and set STEWARD_SPIRE_SERVER, or STEWARD_SKIP_SPIRE=1 to skip")
	return ""
}

// spire is a real SPIRE server with a temporary configuration.
type spire struct {
	bin, socket string
}

func (sp *spire) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, sp.bin, append(args, "-socketPath", sp.socket)...).CombinedOutput()
	if err != nil {
		t.Fatalf("spire-server %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func startSPIRE(t *testing.T) *spire {
	t.Helper()
	bin := spireServerBinary(t)
	// Unix socket paths are short: not under t.TempDir().
	dir, err := os.MkdirTemp("", "spire")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sp := &spire{bin: bin, socket: filepath.Join(dir, "api.sock")}
	port := strings.Split(freeAddr(t), ":")[1]
	conf := fmt.Sprintf(`server {
    bind_address = "127.0.0.1"
    bind_port = "%s"
    socket_path = "%s"
    trust_domain = "example.org"
    data_dir = "%s"
    log_level = "WARN"
    ca_ttl = "24h"
    default_jwt_svid_ttl = "5m"
}
plugins {
    DataStore "sql" {
        plugin_data {
            database_type = "sqlite3"
            connection_string = "%s"
        }
    }
    KeyManager "memory" {
        plugin_data {}
    }
    NodeAttestor "join_token" {
        plugin_data {}
    }
}
`, port, sp.socket, filepath.Join(dir, "data"), filepath.Join(dir, "data", "datastore.sqlite3"))
	confPath := filepath.Join(dir, "server.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-config", confPath)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := exec.Command(bin, "healthcheck", "-socketPath", sp.socket).Run()
		if err == nil {
			return sp
		}
		select {
		case err := <-done:
			t.Fatalf("spire-server exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("spire-server did not become healthy: %v\n%s", err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSPIREWorkloadExchangesAJWTSVID runs a real SPIRE server, trusts its
// bundle, exchanges a JWT-SVID it mints at a real Steward server, and shows
// the exchanged token refused once the identity is revoked.
func TestSPIREWorkloadExchangesAJWTSVID(t *testing.T) {
	sp := startSPIRE(t)
	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey},
		"--data-dir", filepath.Join(t.TempDir(), "data"))
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.json")
	if err := os.WriteFile(bundle, []byte(sp.run(t, "bundle", "show", "-format", "spiffe")), 0o600); err != nil {
		t.Fatal(err)
	}
	s.mustCLI(t, "federation", "issuer", "add", "spire", "--kind", "spiffe", "--issuer", "spiffe://example.org",
		"--spiffe-bundle", bundle, "--audience", "steward-e2e", "--reason", "SPIRE trust domain of the cluster")
	var owner steward.Owner
	decode(t, s.mustCLI(t, "owner", "create", "--name", "Payments team", "--email", "payments@example.com", "-o", "json"), &owner)
	var id steward.Identity
	decode(t, s.mustCLI(t, "identity", "create", "--name", "payments-worker", "--kind", "workload", "--owner", owner.ID,
		"--env", "prod", "--scope", "payments:read", "--scope", broker.ScopeIntrospect, "-o", "json"), &id)
	s.mustCLI(t, "federation", "bind", id.ID, "--issuer", "spire", "--sub", "spiffe://example.org/ns/prod/sa/payments-*", "--reason", "workload identity")

	mint := func() string {
		t.Helper()
		out := sp.run(t, "jwt", "mint", "-spiffeID", "spiffe://example.org/ns/prod/sa/payments-worker", "-audience", "steward-e2e")
		tok := strings.TrimSpace(out)
		path := filepath.Join(dir, fmt.Sprintf("svid-%d.jwt", time.Now().UnixNano()))
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	svid := mint()
	access := strings.TrimSpace(s.mustCLI(t, "token", "exchange", "--subject-token", svid))
	st, body := httpDo(t, "GET", s.url+"/api/v1/whoami", access, "", "")
	if st != 200 || !strings.Contains(string(body), id.ID) {
		t.Fatalf("whoami with the exchanged token: %d %s", st, body)
	}
	st, body = httpDo(t, "POST", s.url+"/oauth2/introspect", adminToken, "application/x-www-form-urlencoded", url.Values{"token": {access}}.Encode())
	if st != 200 || !strings.Contains(string(body), `"active":true`) || !strings.Contains(string(body), "spiffe://example.org/ns/prod/sa/payments-worker") {
		t.Fatalf("introspection: %d %s", st, body)
	}
	// The same JWT-SVID is accepted once.
	_, err := s.cli(t, "token", "exchange", "--subject-token", svid)
	var oe *broker.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "replay") {
		t.Fatalf("replayed SVID: %v", err)
	}
	s.mustCLI(t, "identity", "revoke", id.ID, "--reason", "incident")
	st, body = httpDo(t, "GET", s.url+"/api/v1/whoami", access, "", "")
	if st != 401 {
		t.Fatalf("whoami with the token of a revoked identity: %d %s", st, body)
	}
	st, body = httpDo(t, "POST", s.url+"/oauth2/introspect", adminToken, "application/x-www-form-urlencoded", url.Values{"token": {access}}.Encode())
	if st != 200 || !strings.Contains(string(body), `"active":false`) {
		t.Fatalf("introspection after revocation: %d %s", st, body)
	}
	if _, err := s.cli(t, "token", "exchange", "--subject-token", mint()); !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Fatalf("a fresh SVID of a revoked identity: %v", err)
	}
	// The metrics count one exchange issued and two refused.
	st, body = httpDo(t, "GET", s.url+"/metrics", adminToken, "", "")
	for _, want := range []string{
		`steward_token_exchanges_total{grant_type="urn:ietf:params:oauth:grant-type:token-exchange",result="issued"} 1`,
		`steward_token_exchanges_total{grant_type="urn:ietf:params:oauth:grant-type:token-exchange",result="invalid_grant"} 2`,
	} {
		if st != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %s: %d", want, st)
		}
	}
}
