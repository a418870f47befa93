package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/syncbuf"
	"github.com/steward-nhi/steward/internal/testhttp"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// env is a real server on a real store with a token per role.
type env struct {
	t       *testing.T
	srv     *httptest.Server
	svc     *inventory.Service
	store   steward.Store
	logs    *syncBuffer
	tokens  map[string]string // role → secret
	ownerA  *steward.Owner
	ownerB  *steward.Owner
	identA  *steward.Identity // owned by A
	identB  *steward.Identity // owned by B
	pending *steward.Identity
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer = syncbuf.Buffer

func newEnv(t *testing.T, open func(testing.TB) steward.Store, mod func(d *httpapi.Deps)) *env {
	t.Helper()
	e := &env{t: t, store: open(t), logs: &syncBuffer{}, tokens: map[string]string{}}
	log := slog.New(httpapi.LogHandler{Handler: slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	e.svc = inventory.New(inventory.Config{Store: e.store, Logger: log})
	d := httpapi.Deps{Identities: e.svc, Owners: e.svc, Tokens: e.svc, Imports: e.svc, Auth: e.svc.Authenticate,
		Ready: e.store.Ping, Stats: func(ctx context.Context) (*steward.InventoryStats, error) {
			return e.store.InventoryStats(ctx, time.Now())
		},
		Logger: log, Version: "test", AuthFailureLimit: 1000}
	if mod != nil {
		mod(&d)
	}
	e.srv = httptest.NewServer(httpapi.NewServer(d))
	t.Cleanup(e.srv.Close)

	ctx := context.Background()
	admin, err := e.svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["admin"] = admin
	actx := steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
	e.ownerA, err = e.svc.CreateOwner(actx, &steward.Owner{Name: "Alice", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.ownerB, _ = e.svc.CreateOwner(actx, &steward.Owner{Name: "Bob", Email: "bob@example.com"})
	for _, r := range []steward.Role{steward.RoleOperator, steward.RoleAuditor, steward.RoleOwner} {
		tc := steward.TokenCreate{Role: r}
		if r == steward.RoleOwner {
			tc.OwnerID = e.ownerA.ID
		}
		ct, err := e.svc.CreateToken(actx, tc)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[string(r)] = ct.Token
	}
	e.identA, _ = e.svc.CreateIdentity(actx, &steward.Identity{Name: "a-svc", Kind: steward.KindServiceAccount, OwnerID: e.ownerA.ID, Scopes: []string{"read"}})
	e.identB, _ = e.svc.CreateIdentity(actx, &steward.Identity{Name: "b-svc", Kind: steward.KindServiceAccount, OwnerID: e.ownerB.ID})
	e.pending, _ = e.svc.CreateIdentity(actx, &steward.Identity{Name: "p-svc", Kind: steward.KindBot, OwnerID: e.ownerA.ID, Status: steward.StatusPending})
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) problem(t *testing.T) httpapi.Problem {
	t.Helper()
	var p httpapi.Problem
	r.json(t, &p)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("problem Content-Type = %q", ct)
	}
	return p
}

func (e *env) do(method, path, token, contentType string, body io.Reader, hdr ...string) resp {
	e.t.Helper()
	return send(e.t, e.srv, method, path, token, contentType, body, hdr...)
}

// send sends one request to srv and returns the whole answer.
func send(t *testing.T, srv *httptest.Server, method, path, token, contentType string, body io.Reader, hdr ...string) resp {
	t.Helper()
	r := testhttp.Do(t, srv.Client(), method, srv.URL+path, token, contentType, body, hdr...)
	return resp{status: r.Status, header: r.Header, body: r.Body}
}

func (e *env) call(method, path, role string, body any) resp {
	e.t.Helper()
	var r io.Reader
	ct := ""
	if s, ok := body.(string); ok {
		r, ct = strings.NewReader(s), "application/json"
	} else if body != nil {
		b, _ := json.Marshal(body)
		r, ct = bytes.NewReader(b), "application/json"
	}
	return e.do(method, path, e.tokens[role], ct, r)
}

func TestEveryProtectedRouteNeedsAToken(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	for _, rt := range httpapi.Routes() {
		if rt.Public {
			continue
		}
		path := strings.NewReplacer("{id}", e.identA.ID, "{format}", "kubernetes").Replace(rt.Path)
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			for name, tok := range map[string]string{"no token": "", "bad token": "stwo_not-a-real-token-000000000000000000000000"} {
				r := e.do(rt.Method, path, tok, "application/json", strings.NewReader("{}"))
				if r.status != http.StatusUnauthorized {
					t.Fatalf("%s: status %d, want 401", name, r.status)
				}
				if p := r.problem(t); p.Status != 401 || r.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s: problem %+v", name, p)
				}
			}
		})
	}
}

// TestRolesOnEveryRoute checks each role on each route: 2xx where the role
// may act, 403 where it may not.
func TestRolesOnEveryRoute(t *testing.T) {
	type call struct {
		method, path string
		body         any
		// allowed roles; the others must get 403
		allowed string
	}
	e := newEnv(t, sqltest.OpenSQLite, nil)
	calls := func(e *env) []call {
		a, b := e.identA.ID, e.identB.ID
		return []call{
			{"GET", "/api/v1/whoami", nil, "admin operator auditor owner"},
			{"GET", "/api/v1/stats", nil, "admin operator auditor"},
			{"POST", "/api/v1/owners", map[string]any{"name": "N", "email": "n-" + fmt.Sprint(time.Now().UnixNano()) + "@example.com"}, "admin operator"},
			{"GET", "/api/v1/owners", nil, "admin operator auditor owner"},
			{"GET", "/api/v1/owners/" + e.ownerA.ID, nil, "admin operator auditor owner"},
			{"PATCH", "/api/v1/owners/" + e.ownerB.ID, map[string]any{"team": "t"}, "admin operator"},
			{"POST", "/api/v1/identities", map[string]any{"name": "new", "kind": "bot", "owner_id": e.ownerA.ID}, "admin operator owner"},
			{"GET", "/api/v1/identities", nil, "admin operator auditor owner"},
			{"GET", "/api/v1/identities/" + a, nil, "admin operator auditor owner"},
			{"GET", "/api/v1/identities/" + b, nil, "admin operator auditor"},
			{"PATCH", "/api/v1/identities/" + a, map[string]any{"purpose": "p"}, "admin operator owner"},
			{"PATCH", "/api/v1/identities/" + b, map[string]any{"purpose": "p"}, "admin operator"},
			{"GET", "/api/v1/identities/" + a + "/events", nil, "admin operator auditor owner"},
			{"GET", "/api/v1/identities/" + b + "/events", nil, "admin operator auditor"},
			{"GET", "/api/v1/identities/" + a + "/credentials", nil, "admin operator auditor owner"},
			{"GET", "/api/v1/events", nil, "admin operator auditor owner"},
			{"POST", "/api/v1/identities/" + a + "/suspend", map[string]any{"reason": "test"}, "admin operator owner"},
			{"POST", "/api/v1/identities/" + b + "/suspend", map[string]any{"reason": "test"}, "admin operator"},
			{"POST", "/api/v1/tokens", map[string]any{"role": "auditor"}, "admin"},
			{"GET", "/api/v1/tokens", nil, "admin auditor"},
		}
	}
	for _, role := range []string{"admin", "operator", "auditor", "owner"} {
		t.Run(role, func(t *testing.T) {
			e := newEnv(t, sqltest.OpenSQLite, nil)
			for _, c := range calls(e) {
				r := e.call(c.method, c.path, role, c.body)
				want := strings.Contains(" "+c.allowed+" ", " "+role+" ")
				if want && (r.status < 200 || r.status > 299) {
					t.Errorf("%s %s as %s: status %d, want 2xx: %s", c.method, c.path, role, r.status, r.body)
				}
				if !want && r.status != http.StatusForbidden {
					t.Errorf("%s %s as %s: status %d, want 403: %s", c.method, c.path, role, r.status, r.body)
				}
			}
		})
	}
	_ = e
	// Routes whose effect is destructive, checked one role at a time on fresh data.
	destructive := []struct {
		name    string
		allowed string
		do      func(e *env, role string) resp
	}{
		{"revoke identity", "admin operator owner", func(e *env, role string) resp {
			return e.call("POST", "/api/v1/identities/"+e.identA.ID+"/revoke", role, map[string]any{"reason": "manual"})
		}},
		{"delete pending identity", "admin operator owner", func(e *env, role string) resp {
			return e.call("DELETE", "/api/v1/identities/"+e.pending.ID, role, nil)
		}},
		{"depart owner", "admin operator", func(e *env, role string) resp {
			return e.call("POST", "/api/v1/owners/"+e.ownerB.ID+"/depart", role, map[string]any{"reason": "left"})
		}},
		{"revoke token", "admin", func(e *env, role string) resp {
			toks, _ := e.svc.ListTokens(steward.WithPrincipal(context.Background(), steward.SystemPrincipal("t")))
			return e.call("DELETE", "/api/v1/tokens/"+toks[len(toks)-1].ID, role, nil)
		}},
		{"import", "admin operator", func(e *env, role string) resp {
			return e.do("POST", "/api/v1/import/kubernetes", e.tokens[role], "application/yaml", strings.NewReader("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n  namespace: y\n"))
		}},
		{"activate pending identity", "admin operator owner", func(e *env, role string) resp {
			return e.call("POST", "/api/v1/identities/"+e.pending.ID+"/activate", role, nil)
		}},
	}
	for _, d := range destructive {
		for _, role := range []string{"admin", "operator", "auditor", "owner"} {
			t.Run(d.name+" as "+role, func(t *testing.T) {
				e := newEnv(t, sqltest.OpenSQLite, nil)
				r := d.do(e, role)
				want := strings.Contains(" "+d.allowed+" ", " "+role+" ")
				if want && (r.status < 200 || r.status > 299) {
					t.Fatalf("status %d, want 2xx: %s", r.status, r.body)
				}
				if !want && r.status != http.StatusForbidden {
					t.Fatalf("status %d, want 403: %s", r.status, r.body)
				}
			})
		}
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	big := `{"name":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	id := e.identA.ID
	tests := []struct {
		name, method, path, ct, body string
		status                       int
		field                        string
	}{
		{"unknown field", "POST", "/api/v1/identities", "application/json", `{"name":"x","kind":"bot","colour":"red"}`, 400, "colour"},
		{"missing name", "POST", "/api/v1/identities", "application/json", `{"kind":"bot"}`, 400, "name"},
		{"bad kind", "POST", "/api/v1/identities", "application/json", `{"name":"x","kind":"robot"}`, 400, "kind"},
		{"bad sensitivity", "POST", "/api/v1/identities", "application/json", `{"name":"x","kind":"bot","sensitivity":"extreme"}`, 400, "sensitivity"},
		{"wrong type", "POST", "/api/v1/identities", "application/json", `{"name":"x","kind":"bot","scopes":"read"}`, 400, "scopes"},
		{"bad time", "POST", "/api/v1/identities", "application/json", `{"name":"x","kind":"bot","expires_at":"tomorrow"}`, 400, ""},
		{"not json", "POST", "/api/v1/identities", "application/json", `{"name":`, 400, ""},
		{"empty body", "POST", "/api/v1/identities", "application/json", ``, 400, ""},
		{"trailing data", "POST", "/api/v1/identities", "application/json", `{"name":"x","kind":"bot"} {}`, 400, ""},
		{"wrong content type", "POST", "/api/v1/identities", "text/plain", `{"name":"x","kind":"bot"}`, 400, ""},
		{"body too large", "POST", "/api/v1/identities", "application/json", big, 413, ""},
		{"expiry beyond tier maximum", "POST", "/api/v1/identities", "application/json",
			fmt.Sprintf(`{"name":"x","kind":"bot","sensitivity":"critical","expires_at":%q}`, time.Now().Add(30*24*time.Hour).Format(time.RFC3339)), 400, "expires_at"},
		{"unknown owner", "POST", "/api/v1/identities", "application/json", `{"name":"x","kind":"bot","owner_id":"own_nope"}`, 400, "owner_id"},
		{"unknown filter", "GET", "/api/v1/identities?colour=red", "", "", 400, "colour"},
		{"bad limit", "GET", "/api/v1/identities?limit=-1", "", "", 400, "limit"},
		{"limit too large", "GET", "/api/v1/identities?limit=5000", "", "", 400, "limit"},
		{"bad cursor", "GET", "/api/v1/identities?cursor=zzz", "", "", 400, "cursor"},
		{"bad sort", "GET", "/api/v1/identities?sort=colour", "", "", 400, "sort"},
		{"bad time filter", "GET", "/api/v1/identities?expires_before=soon", "", "", 400, "expires_before"},
		{"bad status filter", "GET", "/api/v1/identities?status=dead", "", "", 400, "status"},
		{"revoke without reason", "POST", "/api/v1/identities/" + id + "/revoke", "application/json", `{}`, 400, "reason"},
		{"revoke with unknown reason", "POST", "/api/v1/identities/" + id + "/revoke", "application/json", `{"reason":"bored"}`, 400, "reason"},
		{"unknown identity", "GET", "/api/v1/identities/nhi_nope", "", "", 404, ""},
		{"unknown route", "GET", "/api/v1/nope", "", "", 404, ""},
		{"unknown import format", "POST", "/api/v1/import/csv", "text/csv", "a,b\n", 400, "format"},
		{"patch null name", "PATCH", "/api/v1/identities/" + id, "application/json", `{"name":null}`, 400, "name"},
		{"bad token role", "POST", "/api/v1/tokens", "application/json", `{"role":"root"}`, 400, "role"},
		{"owner token without owner", "POST", "/api/v1/tokens", "application/json", `{"role":"owner"}`, 400, "owner_id"},
		{"owner without email", "POST", "/api/v1/owners", "application/json", `{"name":"x"}`, 400, "email"},
		{"owner with bad email", "POST", "/api/v1/owners", "application/json", `{"name":"x","email":"nope"}`, 400, "email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, e.tokens["admin"], tc.ct, strings.NewReader(tc.body))
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			p := r.problem(t)
			if p.Field != tc.field {
				t.Fatalf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
			}
			if p.Detail == "" || p.Type == "" || p.RequestID == "" {
				t.Fatalf("incomplete problem: %+v", p)
			}
		})
	}
}

func TestLifecycleOverHTTP(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	id := e.identA.ID
	steps := []struct {
		op, reason string
		status     int
		want       string
	}{
		{"suspend", "investigating", 200, "suspended"},
		{"suspend", "again", 409, ""},
		{"resume", "cleared", 200, "active"},
		{"activate", "", 409, ""},
		{"revoke", "incident", 200, "revoked"},
		{"resume", "", 409, ""},
		{"revoke", "manual", 409, ""},
	}
	for _, s := range steps {
		r := e.call("POST", "/api/v1/identities/"+id+"/"+s.op, "operator", map[string]string{"reason": s.reason, "note": "step"})
		if r.status != s.status {
			t.Fatalf("%s: status %d, want %d: %s", s.op, r.status, s.status, r.body)
		}
		if s.want != "" {
			var i steward.Identity
			r.json(t, &i)
			if string(i.Status) != s.want {
				t.Fatalf("%s: status %s, want %s", s.op, i.Status, s.want)
			}
		}
	}
	r := e.call("PATCH", "/api/v1/identities/"+id, "admin", map[string]any{"purpose": "x"})
	if r.status != 409 {
		t.Fatalf("patch of a revoked identity: %d", r.status)
	}
	r = e.call("DELETE", "/api/v1/identities/"+id, "admin", nil)
	if r.status != 409 {
		t.Fatalf("delete of a revoked identity: %d", r.status)
	}
	var page steward.Page[*steward.Event]
	e.call("GET", "/api/v1/identities/"+id+"/events?order=asc", "auditor", nil).json(t, &page)
	var actions []string
	for _, ev := range page.Items {
		actions = append(actions, ev.Action+"/"+ev.Reason)
		if ev.Actor == "" || ev.Time.IsZero() {
			t.Fatalf("event without actor or time: %+v", ev)
		}
	}
	want := "identity.create/ identity.suspend/investigating: step identity.resume/cleared: step identity.revoke/incident: step"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("history:\n got %s\nwant %s", got, want)
	}
}

func TestOwnerDepartureListsIdentities(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	r := e.call("POST", "/api/v1/owners/"+e.ownerA.ID+"/depart", "operator", map[string]string{"reason": "left the company"})
	if r.status != 200 {
		t.Fatalf("depart: %d %s", r.status, r.body)
	}
	var d steward.Departure
	r.json(t, &d)
	if d.Owner.Status != steward.OwnerDeparted || len(d.Identities) != 2 {
		t.Fatalf("departure: %+v with %d identities", d.Owner, len(d.Identities))
	}
	if r := e.call("POST", "/api/v1/owners/"+e.ownerA.ID+"/depart", "operator", nil); r.status != 409 {
		t.Fatalf("second departure: %d", r.status)
	}
	// A departed owner cannot be given new identities.
	r = e.call("POST", "/api/v1/identities", "admin", map[string]any{"name": "x", "kind": "bot", "owner_id": e.ownerA.ID})
	if r.status != 400 || r.problem(t).Field != "owner_id" {
		t.Fatalf("identity for departed owner: %d %s", r.status, r.body)
	}
}

func TestPaginationAndFiltersOverHTTP(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	for n := 0; n < 7; n++ {
		r := e.call("POST", "/api/v1/identities", "admin", map[string]any{"name": fmt.Sprintf("batch-%d", n), "kind": "api_key", "environment": "prod", "unowned_reason": "test fixture"})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	seen := 0
	cursor := ""
	for pages := 0; ; pages++ {
		var page steward.Page[*steward.Identity]
		r := e.call("GET", "/api/v1/identities?kind=api_key&environment=prod&limit=3&cursor="+cursor, "auditor", nil)
		if r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		r.json(t, &page)
		seen += len(page.Items)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		if pages > 5 {
			t.Fatal("too many pages")
		}
	}
	if seen != 7 {
		t.Fatalf("saw %d identities, want 7", seen)
	}
	var unowned steward.Page[*steward.Identity]
	e.call("GET", "/api/v1/identities?owner=none", "auditor", nil).json(t, &unowned)
	if len(unowned.Items) != 7 {
		t.Fatalf("unowned: %d", len(unowned.Items))
	}
	var own steward.Page[*steward.Identity]
	e.call("GET", "/api/v1/identities", "owner", nil).json(t, &own)
	for _, i := range own.Items {
		if i.OwnerID != e.ownerA.ID {
			t.Fatalf("owner token sees %s owned by %s", i.ID, i.OwnerID)
		}
	}
}

func TestRequestIDAndSecurityHeaders(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	r := e.do("GET", "/api/v1/whoami", e.tokens["auditor"], "", nil, "X-Request-ID", "abc-123")
	if r.header.Get("X-Request-ID") != "abc-123" {
		t.Fatalf("X-Request-ID = %q", r.header.Get("X-Request-ID"))
	}
	r = e.do("GET", "/healthz", "", "", nil, "X-Request-ID", "bad id with spaces")
	if got := r.header.Get("X-Request-ID"); got == "" || strings.Contains(got, " ") {
		t.Fatalf("generated X-Request-ID = %q", got)
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Cache-Control"} {
		if r.header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if !strings.Contains(e.logs.String(), `"request_id":"abc-123"`) {
		t.Fatalf("log lines lack the request id")
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	r := e.call("POST", "/api/v1/tokens", "admin", map[string]any{"role": "operator", "name": "ci"})
	var ct steward.CreatedToken
	r.json(t, &ct)
	if !strings.HasPrefix(ct.Token, inventory.TokenPrefix) {
		t.Fatalf("token %q", ct.Token)
	}
	e.do("GET", "/api/v1/whoami", ct.Token, "", nil)
	e.do("GET", "/api/v1/whoami", ct.Token+"x", "", nil)
	logs := e.logs.String()
	for name, secret := range map[string]string{"new token": ct.Token, "admin token": e.tokens["admin"]} {
		if strings.Contains(logs, secret) {
			t.Fatalf("%s appears in the logs", name)
		}
	}
	// The list never returns digests or secrets.
	r = e.call("GET", "/api/v1/tokens", "admin", nil)
	if strings.Contains(string(r.body), "digest") || strings.Contains(string(r.body), ct.Token) {
		t.Fatalf("token list leaks: %s", r.body)
	}
}

func TestRevokedTokenIsRefused(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	var ct steward.CreatedToken
	e.call("POST", "/api/v1/tokens", "admin", map[string]any{"role": "auditor"}).json(t, &ct)
	if r := e.do("GET", "/api/v1/whoami", ct.Token, "", nil); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	if r := e.call("DELETE", "/api/v1/tokens/"+ct.ID, "admin", nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/whoami", ct.Token, "", nil); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}
}

func TestRateLimits(t *testing.T) {
	t.Run("failed authentications from one address are throttled", func(t *testing.T) {
		e := newEnv(t, sqltest.OpenSQLite, func(d *httpapi.Deps) { d.AuthFailureLimit = 1 })
		got429 := false
		for n := 0; n < 20 && !got429; n++ {
			r := e.do("GET", "/api/v1/whoami", "stwo_wrong-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "", nil)
			got429 = r.status == http.StatusTooManyRequests
		}
		if !got429 {
			t.Fatal("20 failed authentications were never throttled")
		}
	})
	t.Run("requests per token are limited", func(t *testing.T) {
		e := newEnv(t, sqltest.OpenSQLite, func(d *httpapi.Deps) { d.RateLimit, d.RateBurst = 1, 3 })
		got429 := false
		for n := 0; n < 10 && !got429; n++ {
			r := e.do("GET", "/api/v1/whoami", e.tokens["auditor"], "", nil)
			got429 = r.status == http.StatusTooManyRequests
			if got429 && r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
		if !got429 {
			t.Fatal("10 rapid requests were never throttled")
		}
	})
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	r := e.do("GET", "/api/v1/openapi.json", "", "", nil)
	if r.status != 200 {
		t.Fatalf("openapi: %d", r.status)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	r.json(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			if _, ok := op["responses"]; !ok {
				t.Errorf("%s has no responses", key)
			}
			// Every documented route exists: the server answers it with
			// something other than the catch-all 404 or 405.
			p := strings.NewReplacer("{id}", e.identA.ID, "{format}", "kubernetes").Replace(path)
			res := e.do(strings.ToUpper(method), p, "", "application/json", strings.NewReader("{}"))
			if res.status == 404 || res.status == 405 {
				t.Errorf("documented %s answers %d", key, res.status)
			}
		}
	}
	for _, rt := range httpapi.Routes() {
		if !documented[rt.Method+" "+rt.Path] {
			t.Errorf("route %s %s is not in the document", rt.Method, rt.Path)
		}
	}
	if len(documented) != len(httpapi.Routes()) {
		t.Errorf("%d documented operations, %d routes", len(documented), len(httpapi.Routes()))
	}
}

func TestConcurrentScrapesAreSafe(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.do("GET", "/metrics", "", "", nil); r.status != 200 || !strings.Contains(string(r.body), "steward_identities") {
				t.Errorf("scrape: %d", r.status)
			}
		}()
	}
	wg.Wait()
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := e.do("GET", p, "", "", nil); r.status != 200 {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	e.do("GET", "/api/v1/identities", e.tokens["admin"], "", nil)
	e.do("GET", "/api/v1/no-such-thing-1", e.tokens["admin"], "", nil)
	e.do("GET", "/api/v1/no-such-thing-2", e.tokens["admin"], "", nil)
	r := e.do("GET", "/metrics", "", "", nil)
	for _, m := range []string{"steward_http_requests_total", "steward_http_request_duration_seconds", "steward_identities", "steward_build_info",
		`route="/api/v1/identities"`, `route="unmatched"`} {
		if !strings.Contains(string(r.body), m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	// The method is its own label, not repeated in the route; unmatched
	// paths share one value rather than one series each.
	for _, m := range []string{`route="GET /api/v1/identities"`, "no-such-thing"} {
		if strings.Contains(string(r.body), m) {
			t.Errorf("metrics hold %s", m)
		}
	}
}

// endless yields an unending, valid-looking YAML comment stream.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "# padding line\n"[i%15]
	}
	return len(p), nil
}

func TestImportBodyOverLimitIs413(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, nil)
	body := io.LimitReader(endless{}, httpapi.MaxImportBytes+1024)
	r := e.do("POST", "/api/v1/import/kubernetes", e.tokens["admin"], "application/yaml", body)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %.300s", r.status, r.body)
	}
	// A body just under a megabyte over the JSON limit still imports fine.
	ok := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: big\n  namespace: x\n" + strings.Repeat("# pad\n", 2<<20/6)
	if r := e.do("POST", "/api/v1/import/kubernetes", e.tokens["admin"], "application/yaml", strings.NewReader(ok)); r.status != 200 {
		t.Fatalf("2 MiB import: %d %.300s", r.status, r.body)
	}
}

// TestMetricsRequireAuth: with metrics.require_auth on, /metrics is a
// staff route like any other; off, it stays public.
func TestMetricsRequireAuth(t *testing.T) {
	closed := newEnv(t, sqltest.OpenSQLite, func(d *httpapi.Deps) { d.MetricsRequireAuth = true })
	open := newEnv(t, sqltest.OpenSQLite, nil)
	for _, tc := range []struct {
		name  string
		e     *env
		token string
		want  int
	}{
		{"required, no token", closed, "", 401},
		{"required, bad token", closed, "stwo_" + strings.Repeat("x", 43), 401},
		{"required, owner", closed, closed.tokens["owner"], 403},
		{"required, auditor", closed, closed.tokens["auditor"], 200},
		{"required, admin", closed, closed.tokens["admin"], 200},
		{"not required, no token", open, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.e.do("GET", "/metrics", tc.token, "", nil)
			if r.status != tc.want {
				t.Fatalf("GET /metrics: %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want == 200 && !strings.Contains(string(r.body), "steward_identities") {
				t.Fatalf("no metrics in %s", r.body)
			}
		})
	}
}
