package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/gateway"
)

const routePolicy = `permit(principal, action == Action::"GET", resource == Route::"echo");
permit(principal, action == Action::"POST", resource == Route::"echo") when { resource.path like "/echo/allowed*" };`

// headerRoute is the contract's route: the secret in X-Api-Key.
func headerRoute(name, prefix, upstream, file string) gateway.Route {
	return gateway.Route{Name: name, PathPrefix: prefix, Upstream: upstream, CredentialFile: file,
		Inject: gateway.Inject{Type: gateway.InjectHeader, Name: "X-Api-Key"}}
}

func TestRequestsAreAuthenticatedDecidedInjectedAndRecorded(t *testing.T) {
	e := newEnv(t)
	up := echo(t)
	e.policy("echo", routePolicy)
	const secret = "upstream-secret-AAAA"
	e.start(&gateway.Config{Routes: []gateway.Route{headerRoute("echo", "/echo", up.URL, e.secretFile("echo.key", secret))}}, nil)

	tests := []struct {
		name, method, path, token string
		status                    int
		detail                    string
	}{
		{"a permitted GET reaches the upstream", "GET", "/echo/items?x=1", e.key, 200, ""},
		{"a POST the policy permits by path reaches the upstream", "POST", "/echo/allowed/1", e.key, 200, ""},
		{"a POST to another path is denied with 403", "POST", "/echo/other", e.key, 403, "the policy does not permit POST on route echo"},
		{"a method no policy names is denied with 403", "DELETE", "/echo/items", e.key, 403, "does not permit DELETE"},
		{"a request without a token is refused with 401", "GET", "/echo/items", "", 401, "a Steward token is required"},
		{"an unknown token is refused with 401", "GET", "/echo/items", "stw_" + strings.Repeat("A", 43), 401, "invalid, expired or revoked credential"},
		{"a path no route matches is 404", "GET", "/nowhere", e.key, 404, "no gateway route matches"},
		{"a prefix matches on segment boundaries only", "GET", "/echoes", e.key, 404, "no gateway route matches"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.token, strings.NewReader("body"))
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("content type %q", ct)
				}
				var p struct {
					Status int    `json:"status"`
					Title  string `json:"title"`
					Detail string `json:"detail"`
				}
				if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Status != tc.status || !strings.Contains(p.Detail, tc.detail) {
					t.Fatalf("problem %s (%v), want detail %q", r.body, err, tc.detail)
				}
				return
			}
			got := r.echoed(t)
			if got.Headers.Get("X-Api-Key") != secret {
				t.Fatalf("upstream saw X-Api-Key %q", got.Headers.Get("X-Api-Key"))
			}
			if a := got.Headers.Get("Authorization"); a != "" {
				t.Fatalf("the caller's Authorization reached the upstream: %q", a)
			}
			if got.Path != strings.SplitN(tc.path, "?", 2)[0] {
				t.Fatalf("upstream path %q", got.Path)
			}
		})
	}

	t.Run("every decided request is a gateway usage event of the caller's identity", func(t *testing.T) {
		evs := e.usage.kind(steward.UsageGateway)
		if len(evs) != 4 {
			t.Fatalf("%d gateway events, want 4 (2 allowed, 2 denied): %+v", len(evs), evs)
		}
		allowed, denied := 0, 0
		for _, ev := range evs {
			if ev.IdentityID != e.ident.ID || ev.CredentialID == "" || ev.Resource != "Route:echo" || ev.Source != "127.0.0.1" || ev.Attributes["route"] != "echo" {
				t.Fatalf("event %+v", ev)
			}
			switch ev.Outcome {
			case "allow":
				allowed++
				if ev.Attributes["status"] != "200" || len(ev.PolicyIDs) != 1 || !strings.HasPrefix(ev.PolicyIDs[0], "echo") || ev.Attributes["decision_id"] == "" {
					t.Fatalf("allowed event without status, policy or decision: %+v", ev)
				}
			case "deny":
				denied++
				if ev.Reason != "no policy permits the request" || ev.Attributes["decision_id"] == "" {
					t.Fatalf("denied event %+v", ev)
				}
			}
		}
		if allowed != 2 || denied != 2 {
			t.Fatalf("allowed %d denied %d", allowed, denied)
		}
		if n := len(e.usage.kind(steward.UsageDecision)); n != 0 {
			t.Fatalf("the PDP recorded %d decisions the gateway's events already carry", n)
		}
	})
}

func TestEachInjectionPutsTheSecretWhereTheUpstreamExpectsIt(t *testing.T) {
	e := newEnv(t)
	up := echo(t)
	e.policy("all", `permit(principal, action, resource);`)
	const secret = "user:pa ss&=word"
	file := e.secretFile("s", secret)
	routes := []gateway.Route{
		{Name: "bearer", PathPrefix: "/bearer", StripPrefix: true, Upstream: up.URL + "/base", CredentialFile: file, Inject: gateway.Inject{Type: "bearer"}},
		{Name: "basic", PathPrefix: "/basic", Upstream: up.URL, CredentialFile: file, Inject: gateway.Inject{Type: "basic"}},
		{Name: "header", PathPrefix: "/header", Upstream: up.URL, CredentialFile: file, Inject: gateway.Inject{Type: "header", Name: "X-Token"}},
		{Name: "query", PathPrefix: "/query", Upstream: up.URL, CredentialFile: file, Inject: gateway.Inject{Type: "query", Name: "api_key"}},
	}
	e.start(&gateway.Config{Routes: routes}, nil)
	tests := []struct {
		name, path string
		check      func(echoed) bool
	}{
		{"bearer sets Authorization: Bearer, and strip_prefix joins the rest to the upstream path", "/bearer/v1/x", func(g echoed) bool {
			return g.Headers.Get("Authorization") == "Bearer "+secret && g.Path == "/base/v1/x"
		}},
		{"basic sets Authorization: Basic of the secret", "/basic/x", func(g echoed) bool {
			return g.Headers.Get("Authorization") == "Basic "+base64.StdEncoding.EncodeToString([]byte(secret)) && g.Path == "/basic/x"
		}},
		{"header sets the named header and no Authorization", "/header/x", func(g echoed) bool {
			return g.Headers.Get("X-Token") == secret && g.Headers.Get("Authorization") == ""
		}},
		{"query sets the named parameter and keeps the caller's", "/query/x?a=1", func(g echoed) bool {
			return strings.Contains(g.Query, "api_key=user%3Apa+ss%26%3Dword") && strings.Contains(g.Query, "a=1") && g.Headers.Get("Authorization") == ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, e.key, nil)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if g := r.echoed(t); !tc.check(g) {
				t.Fatalf("upstream saw %+v", g)
			}
		})
	}
}

// custody is the test's SecretSource: what the custody service gives.
type custody struct {
	secrets map[string]string
}

func (c *custody) CurrentSecret(_ context.Context, id string) ([]byte, error) {
	s, ok := c.secrets[id]
	if !ok {
		return nil, steward.Errorf(steward.ENOTFOUND, "credential %s is not in custody", id)
	}
	return []byte(s), nil
}

func TestARotatedSecretIsUsedFromTheNextRequest(t *testing.T) {
	e := newEnv(t)
	up := echo(t)
	e.policy("all", `permit(principal, action, resource);`)
	file := e.secretFile("rot", "old-secret")
	cust := &custody{secrets: map[string]string{"cred_up": "custody-v1"}}
	e.start(&gateway.Config{Routes: []gateway.Route{
		headerRoute("file", "/file", up.URL, file),
		{Name: "custody", PathPrefix: "/custody", Upstream: up.URL, CredentialID: "cred_up", Inject: gateway.Inject{Type: "bearer"}},
		{Name: "lost", PathPrefix: "/lost", Upstream: up.URL, CredentialID: "cred_gone", Inject: gateway.Inject{Type: "bearer"}},
	}}, cust)
	seen := func(path string) string {
		r := e.do("GET", path, e.key, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		g := r.echoed(t)
		return g.Headers.Get("X-Api-Key") + g.Headers.Get("Authorization")
	}
	if got := seen("/file/a"); got != "old-secret" {
		t.Fatalf("first secret %q", got)
	}
	e.secretFile("rot", "new-secret")
	if got := seen("/file/a"); got != "new-secret" {
		t.Fatalf("after rotating the file the upstream saw %q", got)
	}
	if got := seen("/custody/a"); got != "Bearer custody-v1" {
		t.Fatalf("custody secret %q", got)
	}
	cust.secrets["cred_up"] = "custody-v2"
	if got := seen("/custody/a"); got != "Bearer custody-v2" {
		t.Fatalf("after rotation in custody the upstream saw %q", got)
	}
	r := e.do("GET", "/lost/a", e.key, nil)
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "upstream credential of route lost could not be read") {
		t.Fatalf("missing custody secret: %d %s", r.status, r.body)
	}
}

func TestTheUpstreamSecretNeverAppearsInLogsUsageOrErrors(t *testing.T) {
	e := newEnv(t)
	e.policy("all", `permit(principal, action, resource);`)
	const secret = "SUPERSECRET-7f3a9c"
	// An upstream that echoes the secret back, in headers and body, and
	// fails with it in its error body.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("X-Api-Key") + r.URL.Query().Get("key")
		w.Header().Set("X-Leak", got)
		if strings.HasSuffix(r.URL.Path, "/fail") {
			http.Error(w, "bad key "+got, http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "your key is %s", got)
	}))
	defer up.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens here any more
	file := e.secretFile("s", secret)
	e.start(&gateway.Config{Timeout: steward.Duration(2 * time.Second), Routes: []gateway.Route{
		headerRoute("echo", "/echo", up.URL, file),
		{Name: "q", PathPrefix: "/q", Upstream: up.URL, CredentialFile: file, Inject: gateway.Inject{Type: "query", Name: "key"}},
		{Name: "dead", PathPrefix: "/dead", Upstream: dead.URL, CredentialFile: file, Inject: gateway.Inject{Type: "query", Name: "key"}},
		{Name: "v4", PathPrefix: "/v4", Upstream: up.URL, CredentialFile: e.secretFile("bad-v4", secret), Inject: gateway.Inject{Type: "aws-sigv4", Region: "us-east-1", Service: "sts"}},
	}}, nil)
	var answers strings.Builder
	for _, p := range []string{"/echo/x", "/echo/fail", "/q/x", "/q/fail", "/dead/x", "/v4/x"} {
		r := e.do("GET", p, e.key, nil)
		if p == "/echo/x" && !strings.Contains(r.body, secret) {
			t.Fatalf("the echoing upstream did not get the secret: %s", r.body)
		}
		if p == "/dead/x" || p == "/v4/x" {
			answers.WriteString(r.body)
			if r.status != http.StatusBadGateway {
				t.Fatalf("%s: %d %s", p, r.status, r.body)
			}
		}
	}
	if strings.Contains(answers.String(), secret) {
		t.Fatalf("an error the gateway wrote holds the secret: %s", answers.String())
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Fatalf("the logs hold the secret:\n%s", e.logs.String())
	}
	if strings.Contains(e.usage.json(), secret) {
		t.Fatalf("a usage event holds the secret: %s", e.usage.json())
	}
	if len(e.usage.kind(steward.UsageGateway)) != 6 {
		t.Fatalf("gateway events: %s", e.usage.json())
	}
}

func TestAnUpstreamThatHangsIsA504(t *testing.T) {
	e := newEnv(t)
	e.policy("all", `permit(principal, action, resource);`)
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	defer close(release)
	rt := headerRoute("slow", "/slow", up.URL, e.secretFile("s", "k"))
	rt.Timeout = steward.Duration(200 * time.Millisecond)
	e.start(&gateway.Config{Routes: []gateway.Route{rt}}, nil)
	r := e.do("GET", "/slow/x", e.key, nil)
	if r.status != http.StatusGatewayTimeout || !strings.Contains(r.body, "did not answer in time") {
		t.Fatalf("hang: %d %s", r.status, r.body)
	}
	evs := e.usage.kind(steward.UsageGateway)
	if len(evs) != 1 || evs[0].Outcome != "error" || evs[0].Attributes["status"] != "504" {
		t.Fatalf("events %+v", evs)
	}
}

func TestEachIdentityIsRateLimited(t *testing.T) {
	e := newEnv(t)
	up := echo(t)
	e.policy("all", `permit(principal, action, resource);`)
	e.start(&gateway.Config{RateLimit: 0.001, Burst: 2, Routes: []gateway.Route{headerRoute("echo", "/", up.URL, e.secretFile("s", "k"))}}, nil)
	other := e.apiKey(e.identity("other").ID)
	for i, want := range []int{200, 200, 429} {
		if r := e.do("GET", "/x", e.key, nil); r.status != want {
			t.Fatalf("request %d: %d, want %d: %s", i, r.status, want, r.body)
		} else if want == 429 && r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if r := e.do("GET", "/x", other, nil); r.status != 200 {
		t.Fatalf("another identity is limited by the first one's traffic: %d", r.status)
	}
}

func TestRoutesReloadWithoutARestart(t *testing.T) {
	e := newEnv(t)
	up := echo(t)
	e.policy("all", `permit(principal, action, resource);`)
	file := e.secretFile("s", "k")
	e.start(&gateway.Config{Routes: []gateway.Route{headerRoute("a", "/a", up.URL, file)}}, nil)
	if r := e.do("GET", "/b/x", e.key, nil); r.status != 404 {
		t.Fatalf("before reload: %d", r.status)
	}
	if err := e.gw.Reload(&gateway.Config{Routes: []gateway.Route{headerRoute("b", "/b", up.URL, file)}}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/b/x", e.key, nil); r.status != 200 {
		t.Fatalf("after reload: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/a/x", e.key, nil); r.status != 404 {
		t.Fatalf("removed route still served: %d", r.status)
	}
	bad := &gateway.Config{Routes: []gateway.Route{{Name: "c", PathPrefix: "/c", Upstream: "ftp://x", CredentialFile: file, Inject: gateway.Inject{Type: "bearer"}}}}
	if err := e.gw.Reload(bad); steward.ErrorField(err) != "routes[c].upstream" {
		t.Fatalf("bad reload: %v", err)
	}
	if r := e.do("GET", "/b/x", e.key, nil); r.status != 200 {
		t.Fatalf("a refused reload changed the routes: %d", r.status)
	}
}

func TestARevokedCallerIsRefusedOnItsNextRequest(t *testing.T) {
	e := newEnv(t)
	up := echo(t)
	e.policy("all", `permit(principal, action, resource);`)
	e.start(&gateway.Config{Routes: []gateway.Route{headerRoute("echo", "/", up.URL, e.secretFile("s", "k"))}}, nil)
	if r := e.do("GET", "/x", e.key, nil); r.status != 200 {
		t.Fatalf("before: %d", r.status)
	}
	if _, err := e.inv.TransitionIdentity(e.admin, e.ident.ID, steward.TransitionSuspend, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/x", e.key, nil); r.status != 401 && r.status != 403 {
		t.Fatalf("a suspended caller got through: %d %s", r.status, r.body)
	}
}

func TestConfigErrorsNameTheFieldAtFault(t *testing.T) {
	tests := []struct{ name, yaml, field string }{
		{"no routes", "listen: 127.0.0.1:0\n", "routes"},
		{"bad name", "routes: [{name: 'a b', upstream: 'http://x', credential_file: f, inject: {type: bearer}}]", "routes[0].name"},
		{"duplicate name", "routes: [{name: a, upstream: 'http://x', credential_file: f, inject: {type: bearer}}, {name: a, upstream: 'http://x', credential_file: f, inject: {type: bearer}}]", "routes[a].name"},
		{"upstream with credentials", "routes: [{name: a, upstream: 'http://u:p@x', credential_file: f, inject: {type: bearer}}]", "routes[a].upstream"},
		{"no credential", "routes: [{name: a, upstream: 'http://x', inject: {type: bearer}}]", "routes[a].credential_id"},
		{"both credentials", "routes: [{name: a, upstream: 'http://x', credential_id: c, credential_file: f, inject: {type: bearer}}]", "routes[a].credential_id"},
		{"unknown injection", "routes: [{name: a, upstream: 'http://x', credential_id: c, inject: {type: cookie}}]", "routes[a].inject.type"},
		{"header without name", "routes: [{name: a, upstream: 'http://x', credential_id: c, inject: {type: header}}]", "routes[a].inject.name"},
		{"hop-by-hop header", "routes: [{name: a, upstream: 'http://x', credential_id: c, inject: {type: header, name: Connection}}]", "routes[a].inject.name"},
		{"sigv4 without region", "routes: [{name: a, upstream: 'http://x', credential_id: c, inject: {type: aws-sigv4, service: s3}}]", "routes[a].inject"},
		{"path prefix with dots", "routes: [{name: a, path_prefix: '/a/../b', upstream: 'http://x', credential_id: c, inject: {type: bearer}}]", "routes[a].path_prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.ParseConfig([]byte(tc.yaml))
			if steward.ErrorField(err) != tc.field {
				t.Fatalf("err %v (field %q), want field %q", err, steward.ErrorField(err), tc.field)
			}
		})
	}
	t.Run("an unknown key is refused", func(t *testing.T) {
		_, err := gateway.ParseConfig([]byte("routes: [{name: a, upstrem: 'http://x'}]"))
		if err == nil || !strings.Contains(err.Error(), "upstrem") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("the contract's file parses", func(t *testing.T) {
		c, err := gateway.ParseConfig([]byte("listen: 127.0.0.1:9090\nroutes:\n  - name: billing\n    path_prefix: /billing\n    upstream: https://api.example.com\n    credential_id: cred_1\n    inject: {type: header, name: X-Api-Key}\n"))
		if err != nil || c.Routes[0].Inject.Name != "X-Api-Key" || c.PublicURL != "http://127.0.0.1:9090" {
			t.Fatalf("%+v %v", c, err)
		}
	})
}

func TestTheWatchedFileReloadsTheRoutes(t *testing.T) {
	e := newEnv(t)
	up := echo(t)
	e.policy("all", `permit(principal, action, resource);`)
	file := e.secretFile("s", "k")
	conf := func(prefix string) string {
		return fmt.Sprintf("routes:\n  - {name: r, path_prefix: %s, upstream: %q, credential_file: %q, inject: {type: bearer}}\n", prefix, up.URL, file)
	}
	path := e.secretFile("gateway.yaml", conf("/one"))
	cfg, err := gateway.ParseConfig([]byte(conf("/one")))
	if err != nil {
		t.Fatal(err)
	}
	e.start(cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.gw.Watch(ctx, path, 10*time.Millisecond, gateway.ParseConfig) }()
	defer func() { cancel(); <-done }()
	waitStatus := func(p string, want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for e.do("GET", p, e.key, nil).status != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s never answered %d", p, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitStatus("/one/x", 200)
	e.secretFile("gateway.yaml", conf("/two"))
	waitStatus("/two/x", 200)
	waitStatus("/one/x", 404)
	e.secretFile("gateway.yaml", "routes: [{name: r, upstream: 'ftp://nope'}]")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), "gateway config refused") {
		if time.Now().After(deadline) {
			t.Fatal("a bad file was not reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := e.do("GET", "/two/x", e.key, nil); r.status != 200 {
		t.Fatalf("a bad file changed the routes: %d", r.status)
	}
}

func TestACredentialIDNeedsCustody(t *testing.T) {
	e := newEnv(t)
	_, err := gateway.New(&gateway.Config{Routes: []gateway.Route{{Name: "c", Upstream: "http://x", CredentialID: "cred_1", Inject: gateway.Inject{Type: "bearer"}}}},
		gateway.Deps{Auth: e.b, Decider: e.pdp})
	if steward.ErrorField(err) != "routes[c].credential_id" {
		t.Fatalf("err %v", err)
	}
}
