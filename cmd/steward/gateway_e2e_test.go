package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/gateway/gatewaytest"
)

const gatewayPolicy = `permit(principal, action == Action::"GET", resource == Route::"echo");
permit(principal, action, resource == Route::"tools");
permit(principal, action == Action::"tools/call", resource == Tool::"tools/echo");`

// gatewayFixture is a running server with an agent identity, its API key,
// the gateway policy, and real upstreams.
type gatewayFixture struct {
	s        *server
	ident    steward.Identity
	key      string
	echo     string
	mcp      string
	keyFile  string
	mcpFile  string
	dir      string
	gwListen string
}

const gatewayUpstreamKey = "billing-upstream-key-123"

func newGatewayFixture(t *testing.T, dbArgs []string, section bool) *gatewayFixture {
	t.Helper()
	f := &gatewayFixture{dir: t.TempDir(), gwListen: freeAddr(t)}
	f.echo = gatewaytest.Echo(t).URL
	f.mcp = gatewaytest.MCP(t, "Authorization", "Bearer mcp-upstream-token").URL
	f.keyFile = filepath.Join(f.dir, "billing.key")
	f.mcpFile = filepath.Join(f.dir, "mcp.key")
	os.WriteFile(f.keyFile, []byte(gatewayUpstreamKey+"\n"), 0o600)
	os.WriteFile(f.mcpFile, []byte("mcp-upstream-token\n"), 0o600)
	args := dbArgs
	if section {
		conf := filepath.Join(f.dir, "steward.yaml")
		os.WriteFile(conf, []byte("gateway:\n  listen: "+f.gwListen+"\n"+f.routes("  ")), 0o600)
		args = append(args, "--config", conf)
	}
	f.s = startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey}, args...)
	decode(t, f.s.mustCLI(t, "identity", "create", "--name", "billing-agent", "--kind", "ai_agent", "--unowned-reason", "test fixture", "--scope", "read", "-o", "json"), &f.ident)
	f.key = strings.TrimSpace(mustOut(t)(f.s.credCLI(t, "credential", "issue", f.ident.ID, "--ttl", "720h")))
	if code, body := httpDo(t, "PUT", f.s.url+"/api/v1/policies/gateway?reason=test", adminToken, "text/plain", gatewayPolicy); code != 200 {
		t.Fatalf("put policy: %d %s", code, body)
	}
	return f
}

// routes is the routes key, indented by in.
func (f *gatewayFixture) routes(in string) string {
	return fmt.Sprintf(in+`routes:
`+in+`  - {name: echo, path_prefix: /billing, strip_prefix: true, upstream: %q, credential_file: %q, inject: {type: header, name: X-Api-Key}}
`+in+`  - {name: tools, path_prefix: /mcp, mcp: true, upstream: %q, credential_file: %q, inject: {type: bearer}}
`, f.echo, f.keyFile, f.mcp, f.mcpFile)
}

func (f *gatewayFixture) waitGateway(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + f.gwListen + "/.well-known/oauth-protected-resource/mcp")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not come up:\n%s", f.s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkCalls drives plain requests through the gateway.
func (f *gatewayFixture) checkCalls(t *testing.T) {
	t.Helper()
	base := "http://" + f.gwListen
	code, body := httpDo(t, "GET", base+"/billing/invoices?month=5", f.key, "", "")
	var got gatewaytest.Echoed
	if code != 200 || json.Unmarshal(body, &got) != nil || got.Headers.Get("X-Api-Key") != gatewayUpstreamKey || got.Headers.Get("Authorization") != "" || got.Path != "/invoices" {
		t.Fatalf("GET through the gateway: %d %s", code, body)
	}
	if code, body := httpDo(t, "DELETE", base+"/billing/invoices", f.key, "", ""); code != 403 || !strings.Contains(string(body), "does not permit DELETE") {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if code, _ := httpDo(t, "GET", base+"/billing/invoices", "", "", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
}

// waitUsage polls the server's usage log for the identity until match
// finds n events.
func (f *gatewayFixture) waitUsage(t *testing.T, n int, match func(steward.UsageEvent) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := httpDo(t, "GET", f.s.url+"/api/v1/usage?limit=500&identity_id="+f.ident.ID, adminToken, "", "")
		var page struct {
			Items []steward.UsageEvent `json:"items"`
		}
		json.Unmarshal(body, &page)
		found := 0
		for _, ev := range page.Items {
			if match(ev) {
				found++
			}
		}
		if code == 200 && found >= n {
			if strings.Contains(string(body), gatewayUpstreamKey) {
				t.Fatal("a usage event holds the upstream secret")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d matching usage events, want %d: %d %s", found, n, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestGatewayInsideServe(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			f := newGatewayFixture(t, dbArgs(t), true)
			f.waitGateway(t)
			f.checkCalls(t)
			f.waitUsage(t, 2, func(ev steward.UsageEvent) bool {
				return ev.Kind == steward.UsageGateway && ev.Resource == "Route:echo"
			})

			// An agent on the MCP route: the Go SDK's client, with a token
			// issued by the server for the route's resource (RFC 8707).
			resource := "http://" + f.gwListen + "/mcp"
			code, body := httpDo(t, "POST", f.s.url+"/api/v1/identities/"+f.ident.ID+"/credentials", adminToken, "application/json", `{"type":"client_secret"}`)
			var cl struct {
				ClientID string `json:"client_id"`
				Secret   string `json:"secret"`
			}
			if code != 201 || json.Unmarshal(body, &cl) != nil {
				t.Fatalf("client: %d %s", code, body)
			}
			cc := clientcredentials.Config{ClientID: cl.ClientID, ClientSecret: cl.Secret, TokenURL: f.s.url + "/oauth2/token",
				EndpointParams: url.Values{"resource": {resource}}, AuthStyle: oauth2.AuthStyleInHeader}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			cs, err := gatewaytest.Connect(ctx, resource, tok.AccessToken, nil)
			if err != nil {
				t.Fatalf("connect: %v\n%s", err, f.s.logs.String())
			}
			defer cs.Close()
			tools, err := cs.ListTools(ctx, nil)
			if err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "echo" {
				t.Fatalf("tools %+v %v", tools, err)
			}
			if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}}); err != nil || res.Content[0].(*mcp.TextContent).Text != "echo: hi" {
				t.Fatalf("call echo: %+v %v", res, err)
			}
			if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "delete_all"}); err == nil {
				t.Fatal("delete_all was called")
			}
			f.waitUsage(t, 2, func(ev steward.UsageEvent) bool { return ev.Kind == steward.UsageGateway && ev.Action == "tools/call" })
			// The Steward-audience token and the API key are not for the MCP route.
			if _, err := gatewaytest.Connect(ctx, resource, f.key, nil); err == nil {
				t.Fatal("an API key opened an MCP session")
			}
		})
	}
}

func TestGatewayApartFromTheServer(t *testing.T) {
	f := newGatewayFixture(t, engines(t)["sqlite"](t), false)
	conf := filepath.Join(f.dir, "gateway.yaml")
	os.WriteFile(conf, []byte("listen: "+f.gwListen+"\n"+f.routes("")), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"gateway", "--config", conf, "--server", f.s.url, "--token", adminToken}, func(string) string { return "" }, strings.NewReader(""), logs, logs)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	}()
	f.waitGateway(t)
	f.checkCalls(t)
	// The gateway's events join the server's usage log through ingest.
	f.waitUsage(t, 2, func(ev steward.UsageEvent) bool {
		return ev.Attributes["kind"] == steward.UsageGateway && ev.Resource == "Route:echo"
	})

	// A route added to the file is served without a restart.
	os.WriteFile(conf, []byte("listen: "+f.gwListen+"\n"+f.routes("")+fmt.Sprintf("  - {name: echo2, path_prefix: /v2, upstream: %q, credential_file: %q, inject: {type: bearer}}\n", f.echo, f.keyFile)), 0o600)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := httpDo(t, "GET", "http://"+f.gwListen+"/v2/x", f.key, "", "")
		if code == 403 { // routed, and the policy names only echo
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new route was not served: %d\n%s", code, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(logs.String(), gatewayUpstreamKey) || strings.Contains(f.s.logs.String(), gatewayUpstreamKey) {
		t.Fatal("a log holds the upstream secret")
	}
}

// TestGatewayInjectsTheSecretInCustody: a route names a credential in
// custody; the gateway injects its current version, a new version is
// injected from the very next request, and neither value reaches the
// server's logs.
func TestGatewayInjectsTheSecretInCustody(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			f := newGatewayFixture(t, dbArgs(t), true)
			f.waitGateway(t)
			var cred struct {
				ID string `json:"id"`
			}
			code, body := httpDo(t, "POST", f.s.url+"/api/v1/identities/"+f.ident.ID+"/credentials", adminToken, "application/json",
				`{"type":"password","external_ref":"billing-api","secret":"custody-secret-v1"}`)
			if code != 201 || json.Unmarshal(body, &cred) != nil || cred.ID == "" || strings.Contains(string(body), "custody-secret-v1") {
				t.Fatalf("register the upstream secret in custody: %d %s", code, body)
			}
			// Hot reload: the echo route now takes its secret from custody.
			conf := filepath.Join(f.dir, "steward.yaml")
			routes := fmt.Sprintf(`  routes:
    - {name: echo, path_prefix: /billing, strip_prefix: true, upstream: %q, credential_id: %q, inject: {type: header, name: X-Api-Key}}
`, f.echo, cred.ID)
			if err := os.WriteFile(conf, []byte("gateway:\n  listen: "+f.gwListen+"\n"+routes), 0o600); err != nil {
				t.Fatal(err)
			}
			injected := func() string {
				code, body := httpDo(t, "GET", "http://"+f.gwListen+"/billing/invoices", f.key, "", "")
				var got gatewaytest.Echoed
				if code != 200 || json.Unmarshal(body, &got) != nil {
					t.Fatalf("GET through the gateway: %d %s", code, body)
				}
				return got.Headers.Get("X-Api-Key")
			}
			deadline := time.Now().Add(20 * time.Second)
			for injected() != "custody-secret-v1" {
				if time.Now().After(deadline) {
					t.Fatalf("the gateway never injected the secret in custody:\n%s", f.s.logs.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			if code, body := httpDo(t, "PUT", f.s.url+"/api/v1/credentials/"+cred.ID+"/secret", adminToken, "application/json", `{"secret":"custody-secret-v2"}`); code != 200 {
				t.Fatalf("new version: %d %s", code, body)
			}
			if got := injected(); got != "custody-secret-v2" {
				t.Fatalf("after the new version the gateway injected %q", got)
			}
			// The server's metrics count the gateway's requests.
			if code, body := httpDo(t, "GET", f.s.url+"/metrics", "", "", ""); code != 200 ||
				!strings.Contains(string(body), `steward_gateway_requests_total{action="http",outcome="allow",resource="Route:echo"}`) {
				t.Fatalf("metrics: %d, no gateway counter in:\n%s", code, body)
			}
			for _, secret := range []string{"custody-secret-v1", "custody-secret-v2"} {
				if strings.Contains(f.s.logs.String(), secret) {
					t.Fatalf("the server's logs hold the upstream secret %q", secret)
				}
			}
		})
	}
}
