package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
)

// authzAPI joins the PDP and the usage service, as cmd/steward does.
type authzAPI struct {
	*authz.PDP
	*usage.Service
}

type authzEnv struct {
	t     *testing.T
	srv   *httptest.Server
	store steward.Store
	svc   *inventory.Service
	pdp   *authz.PDP
	rec   *usage.Recorder
	admin string
	oper  string
	audit string
}

// newAuthzEnv runs the real server on a real store with the PDP and usage
// wired; auth, when set, replaces the authenticator (fake NHI callers).
func newAuthzEnv(t *testing.T, open func(testing.TB) steward.Store, auth func(next httpapi.Authenticator) httpapi.Authenticator) *authzEnv {
	t.Helper()
	ctx := context.Background()
	e := &authzEnv{t: t, store: open(t)}
	e.svc = inventory.New(inventory.Config{Store: e.store})
	as := e.store.(steward.AuthzStore)
	us := e.store.(steward.UsageStore)
	e.rec = usage.NewRecorder(usage.RecorderConfig{Store: us})
	var err error
	e.pdp, err = authz.New(ctx, authz.Config{Inventory: e.store, Store: as, Usage: e.rec})
	if err != nil {
		t.Fatal(err)
	}
	us2 := usage.New(usage.Config{Store: us, Inventory: e.store, Credentials: as, Recorder: e.rec})
	d := httpapi.Deps{Identities: e.svc, Owners: e.svc, Tokens: e.svc, Imports: e.svc, Auth: e.svc.Authenticate, Ready: e.store.Ping,
		Authz: authzAPI{e.pdp, us2}, AuthFailureLimit: 1000}
	if auth != nil {
		d.Auth = auth(d.Auth)
	}
	e.srv = httptest.NewServer(httpapi.NewServer(d))
	t.Cleanup(e.srv.Close)
	if e.admin, err = e.svc.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	sys := steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
	for _, r := range []steward.Role{steward.RoleOperator, steward.RoleAuditor} {
		ct, err := e.svc.CreateToken(sys, steward.TokenCreate{Role: r})
		if err != nil {
			t.Fatal(err)
		}
		if r == steward.RoleOperator {
			e.oper = ct.Token
		} else {
			e.audit = ct.Token
		}
	}
	return e
}

func (e *authzEnv) do(method, path, token, ct, body string, hdr ...string) resp {
	e.t.Helper()
	return send(e.t, e.srv, method, path, token, ct, strings.NewReader(body), hdr...)
}

// loadFixture installs the AuthZEN certification fixture over HTTP.
func (e *authzEnv) loadFixture() {
	e.t.Helper()
	pol, err := os.ReadFile("../authz/testdata/conformance.cedar")
	if err != nil {
		e.t.Fatal(err)
	}
	ents, err := os.ReadFile("../authz/testdata/conformance.entities.json")
	if err != nil {
		e.t.Fatal(err)
	}
	if r := e.do("PUT", "/api/v1/policies/conformance?reason=fixture", e.admin, "text/plain", string(pol)); r.status != 200 {
		e.t.Fatalf("put policy: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/entities?reason=fixture", e.admin, "application/json", string(ents)); r.status != 200 {
		e.t.Fatalf("put entities: %d %s", r.status, r.body)
	}
}

func decisionOf(t *testing.T, r resp) bool {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var d struct {
		Decision *bool          `json:"decision"`
		Context  map[string]any `json:"context"`
	}
	r.json(t, &d)
	if d.Decision == nil {
		t.Fatalf("no decision in %s", r.body)
	}
	return *d.Decision
}

// TestAuthZENConformance runs the AuthZEN 1.0 certification scenario
// (Basic, Batch, Search, Discovery) against the real HTTP server.
func TestAuthZENConformance(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newAuthzEnv(t, eng.Open, nil)
			e.loadFixture()
			t.Run("basic", func(t *testing.T) { testBasic(t, e) })
			t.Run("errors", func(t *testing.T) { testErrors(t, e) })
			t.Run("batch", func(t *testing.T) { testBatch(t, e) })
			t.Run("search", func(t *testing.T) { testSearch(t, e) })
			t.Run("discovery", func(t *testing.T) {
				r := e.do("GET", "/.well-known/authzen-configuration", "", "", "")
				var md map[string]any
				r.json(t, &md)
				if r.status != 200 || md["policy_decision_point"] != e.srv.URL || md["access_evaluation_endpoint"] != e.srv.URL+"/access/v1/evaluation" {
					t.Fatalf("metadata %d %v", r.status, md)
				}
			})
		})
	}
}

func testBasic(t *testing.T, e *authzEnv) {
	tests := []struct {
		name, body string
		want       bool
	}{
		{"1 alice reads record-1", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, true},
		{"2 alice writes record-1", `{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}`, true},
		{"3 bob reads record-1", `{"subject":{"type":"user","id":"bob"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, true},
		{"4 bob may not write record-1", `{"subject":{"type":"user","id":"bob"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}`, false},
		{"5 alice may not write archived", `{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"resource":{"type":"record","id":"record-2","properties":{"status":"archived"}}}`, false},
		{"6 admin writes archived", `{"subject":{"type":"user","id":"bob","properties":{"role":"admin"}},"action":{"name":"write"},"resource":{"type":"record","id":"record-2","properties":{"status":"archived"}}}`, true},
		{"7 soft delete", `{"subject":{"type":"user","id":"alice"},"action":{"name":"delete","properties":{"soft":true}},"resource":{"type":"record","id":"record-1"}}`, true},
		{"8 hard delete", `{"subject":{"type":"user","id":"alice"},"action":{"name":"delete","properties":{"soft":false}},"resource":{"type":"record","id":"record-1"}}`, false},
		{"optional context", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"context":{"time":"2025-06-27T18:03-07:00","ip":"192.168.1.1"}}`, true},
		{"additional properties", `{"subject":{"type":"user","id":"alice","properties":{"department":"Sales","role":"manager"}},"action":{"name":"read","properties":{"method":"GET"}},"resource":{"type":"record","id":"record-1","properties":{"status":"active","owner":"bob"}}}`, true},
		{"unknown fields are ignored", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"foo":"bar","futureField":{"nested":true}}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 3 { // idempotent
				if got := decisionOf(t, e.do("POST", "/access/v1/evaluation", e.admin, "application/json", tc.body)); got != tc.want {
					t.Fatalf("decision %v, want %v", got, tc.want)
				}
			}
		})
	}
	t.Run("X-Request-ID is echoed", func(t *testing.T) {
		r := e.do("POST", "/access/v1/evaluation", e.admin, "application/json", tests[0].body, "X-Request-ID", "req-42")
		if r.header.Get("X-Request-ID") != "req-42" {
			t.Fatalf("X-Request-ID %q", r.header.Get("X-Request-ID"))
		}
		if r := e.do("POST", "/access/v1/evaluation", e.admin, "application/json", tests[0].body); r.status != 200 || r.header.Get("X-Request-ID") == "" {
			t.Fatalf("without X-Request-ID: %d", r.status)
		}
	})
}

func testErrors(t *testing.T, e *authzEnv) {
	tests := []struct {
		name, path, ct, body string
		status               int
	}{
		{"missing subject", "/access/v1/evaluation", "application/json", `{"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, 400},
		{"missing action", "/access/v1/evaluation", "application/json", `{"subject":{"type":"user","id":"alice"},"resource":{"type":"record","id":"record-1"}}`, 400},
		{"missing resource", "/access/v1/evaluation", "application/json", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"}}`, 400},
		{"subject without type", "/access/v1/evaluation", "application/json", `{"subject":{"id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, 400},
		{"subject without id", "/access/v1/evaluation", "application/json", `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, 400},
		{"action without name", "/access/v1/evaluation", "application/json", `{"subject":{"type":"user","id":"alice"},"action":{},"resource":{"type":"record","id":"record-1"}}`, 400},
		{"resource without type", "/access/v1/evaluation", "application/json", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"id":"record-1"}}`, 400},
		{"resource without id", "/access/v1/evaluation", "application/json", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"}}`, 400},
		{"wrong content type", "/access/v1/evaluation", "text/plain", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, 415},
		{"no content type", "/access/v1/evaluation", "", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, 415},
		{"malformed JSON", "/access/v1/evaluation", "application/json", `{"subject":`, 400},
		{"empty body", "/access/v1/evaluation", "application/json", ``, 400},
		{"subject is a string", "/access/v1/evaluation", "application/json", `{"subject":"alice","action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, 400},
		{"action name is a number", "/access/v1/evaluation", "application/json", `{"subject":{"type":"user","id":"alice"},"action":{"name":123},"resource":{"type":"record","id":"record-1"}}`, 400},
		{"subject search without action", "/access/v1/search/subject", "application/json", `{"subject":{"type":"user"},"resource":{"type":"record","id":"record-1"}}`, 400},
		{"resource search without subject", "/access/v1/search/resource", "application/json", `{"action":{"name":"read"},"resource":{"type":"record"}}`, 400},
		{"action search without resource", "/access/v1/search/action", "application/json", `{"subject":{"type":"user","id":"alice"}}`, 400},
		{"subject search, resource without id", "/access/v1/search/subject", "application/json", `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record"}}`, 400},
		{"resource search, subject without id", "/access/v1/search/resource", "application/json", `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record"}}`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, e.admin, tc.ct, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	t.Run("no token is 401", func(t *testing.T) {
		if r := e.do("POST", "/access/v1/evaluation", "", "application/json", `{}`); r.status != 401 {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("an auditor may not ask", func(t *testing.T) {
		if r := e.do("POST", "/access/v1/evaluation", e.audit, "application/json", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`); r.status != 403 {
			t.Fatalf("status %d", r.status)
		}
	})
}

func decisionsOf(t *testing.T, r resp) []bool {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var out struct {
		Evaluations []struct {
			Decision *bool `json:"decision"`
		} `json:"evaluations"`
	}
	r.json(t, &out)
	ds := make([]bool, len(out.Evaluations))
	for i, d := range out.Evaluations {
		if d.Decision == nil {
			t.Fatalf("item %d has no decision: %s", i, r.body)
		}
		ds[i] = *d.Decision
	}
	return ds
}

func testBatch(t *testing.T, e *authzEnv) {
	tests := []struct {
		name, body string
		want       []bool
	}{
		{"defaults with resources", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{"resource":{"type":"record","id":"record-2"}}]}`, []bool{true, true}},
		{"fixture decisions in order", `{"subject":{"type":"user","id":"bob"},"resource":{"type":"record","id":"record-1"},"evaluations":[{"action":{"name":"read"}},{"action":{"name":"write"}}]}`, []bool{true, false}},
		{"resource properties per item", `{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"evaluations":[{"resource":{"type":"record","id":"record-1","properties":{"status":"active"}}},{"resource":{"type":"record","id":"record-2","properties":{"status":"archived"}}}]}`, []bool{true, false}},
		{"subject properties per item", `{"action":{"name":"write"},"resource":{"type":"record","id":"record-2","properties":{"status":"archived"}},"evaluations":[{"subject":{"type":"user","id":"alice"}},{"subject":{"type":"user","id":"bob","properties":{"role":"admin"}}}]}`, []bool{false, true}},
		{"fully specified items", `{"evaluations":[{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}},{"subject":{"type":"user","id":"bob"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}]}`, []bool{true, false}},
		{"context inheritance", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"context":{"time":"2025-06-27T18:03-07:00"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{"resource":{"type":"record","id":"record-2"},"context":{"time":"2025-06-27T19:00-07:00","source":"batch-override"}}]}`, []bool{true, true}},
		{"default value merging", `{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"resource":{"type":"record"},"evaluations":[{"resource":{"id":"record-1","properties":{"status":"active"}}},{"resource":{"type":"record","id":"record-2","properties":{"status":"archived"}}}]}`, []bool{true, false}},
		{"an item error fails closed", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"evaluations":[{"resource":{"type":"record","id":"record-1"}},{}]}`, []bool{true, false}},
		{"deny_on_first_deny stops", `{"subject":{"type":"user","id":"bob"},"resource":{"type":"record","id":"record-1"},"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[{"action":{"name":"read"}},{"action":{"name":"write"}},{"action":{"name":"read"}}]}`, []bool{true, false}},
		{"permit_on_first_permit stops", `{"subject":{"type":"user","id":"bob"},"resource":{"type":"record","id":"record-1"},"options":{"evaluations_semantic":"permit_on_first_permit"},"evaluations":[{"action":{"name":"write"}},{"action":{"name":"read"}},{"action":{"name":"write"}}]}`, []bool{false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decisionsOf(t, e.do("POST", "/access/v1/evaluations", e.admin, "application/json", tc.body))
			if len(got) != len(tc.want) {
				t.Fatalf("%d decisions %v, want %v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("decisions %v, want %v", got, tc.want)
				}
			}
		})
	}
	for name, body := range map[string]string{
		"without evaluations":     `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`,
		"with empty evaluations":  `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"evaluations":[]}`,
		"with an unknown options": `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"options":{"x":1}}`,
	} {
		t.Run(name+" it is a single evaluation", func(t *testing.T) {
			if !decisionOf(t, e.do("POST", "/access/v1/evaluations", e.admin, "application/json", body)) {
				t.Fatal("decision false")
			}
		})
	}
}

type searchResult struct {
	Page *struct {
		NextToken *string `json:"next_token"`
	} `json:"page"`
	Results []map[string]string `json:"results"`
}

func (e *authzEnv) search(t *testing.T, kind, body string) searchResult {
	t.Helper()
	r := e.do("POST", "/access/v1/search/"+kind, e.admin, "application/json", body)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var out searchResult
	r.json(t, &out)
	if out.Results == nil {
		t.Fatalf("no results array: %s", r.body)
	}
	return out
}

func names(rs []map[string]string, key string) string {
	var out []string
	for _, r := range rs {
		out = append(out, r[key])
	}
	return strings.Join(out, ",")
}

func testSearch(t *testing.T, e *authzEnv) {
	tests := []struct {
		name, kind, body, key, want string
	}{
		{"S1 subjects who read record-1", "subject", `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, "id", "alice,bob"},
		{"S1 with context", "subject", `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"context":{"ip":"10.0.0.1"}}`, "id", "alice,bob"},
		{"S2 records alice reads", "resource", `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"}}`, "id", "record-1,record-2"},
		{"S3 actions of alice on record-1", "action", `{"subject":{"type":"user","id":"alice"},"resource":{"type":"record","id":"record-1"}}`, "name", "read,write"},
		{"S4 subjects who write an archived record", "subject", `{"subject":{"type":"user"},"action":{"name":"write"},"resource":{"type":"record","id":"record-2","properties":{"status":"archived"}}}`, "id", "bob"},
		{"S5 records an admin writes", "resource", `{"subject":{"type":"user","id":"bob","properties":{"role":"admin"}},"action":{"name":"write"},"resource":{"type":"record"}}`, "id", "record-2"},
		{"S6 actions of an admin on an archived record", "action", `{"subject":{"type":"user","id":"bob","properties":{"role":"admin"}},"resource":{"type":"record","id":"record-2","properties":{"status":"archived"}}}`, "name", "read,write"},
		{"an unknown subject finds nothing", "action", `{"subject":{"type":"user","id":"nonexistent-user"},"resource":{"type":"record","id":"record-1"}}`, "name", ""},
		{"an unknown type finds nothing", "subject", `{"subject":{"type":"spaceship"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`, "id", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := e.search(t, tc.kind, tc.body)
			if got := names(out.Results, tc.key); got != tc.want {
				t.Fatalf("results %q, want %q", got, tc.want)
			}
			if tc.kind != "action" {
				for _, r := range out.Results {
					if r["type"] == "" {
						t.Fatalf("result without type: %v", r)
					}
				}
			}
		})
	}
	t.Run("pagination visits every subject once", func(t *testing.T) {
		var seen []string
		token := ""
		for range 5 {
			body := `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},"page":{"limit":1,"token":"` + token + `"}}`
			out := e.search(t, "subject", body)
			if out.Page == nil || out.Page.NextToken == nil {
				t.Fatal("page.next_token missing")
			}
			seen = append(seen, names(out.Results, "id"))
			token = *out.Page.NextToken
			if token == "" {
				break
			}
		}
		if got := strings.Join(seen, ","); strings.Trim(got, ",") != "alice,bob" {
			t.Fatalf("pages %q", got)
		}
	})
}

// TestPolicyManagementOverHTTP checks versions, events, roles, schema
// validation and content types of the management routes.
func TestPolicyManagementOverHTTP(t *testing.T) {
	e := newAuthzEnv(t, sqltest.OpenSQLite, nil)
	const p1 = `permit (principal, action == Action::"read", resource);`
	const p2 = `permit (principal, action in [Action::"read", Action::"list"], resource);`
	if r := e.do("PUT", "/api/v1/policies/readers?reason=first", e.oper, "text/plain", p1); r.status != 403 {
		t.Fatalf("operator PUT: %d", r.status)
	}
	if r := e.do("PUT", "/api/v1/policies/readers", e.admin, "application/json", p1); r.status != 415 {
		t.Fatalf("JSON body: %d", r.status)
	}
	if r := e.do("PUT", "/api/v1/policies/readers", e.admin, "text/plain", `permit (principal, action, resource`); r.status != 400 {
		t.Fatalf("syntax error: %d %s", r.status, r.body)
	} else if p := r.problem(t); p.Field != "policy" {
		t.Fatalf("problem %+v", p)
	}
	for i, text := range []string{p1, p2, p2} {
		r := e.do("PUT", "/api/v1/policies/readers?reason=change", e.admin, "text/plain", text)
		var pol steward.AuthzPolicy
		r.json(t, &pol)
		want := int64(min(i+1, 2))
		if r.status != 200 || pol.Version != want {
			t.Fatalf("put %d: %d version %d, want %d", i, r.status, pol.Version, want)
		}
	}
	r := e.do("GET", "/api/v1/policies?versions=true", e.audit, "", "")
	var list authz.PolicyList
	r.json(t, &list)
	if r.status != 200 || len(list.Items) != 1 || len(list.Versions) != 2 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	evs, err := e.store.ListEvents(context.Background(), steward.EventFilter{Action: steward.ActionPolicyPut})
	if err != nil || len(evs.Items) != 2 {
		t.Fatalf("events %v %v", evs, err)
	}
	if ev := evs.Items[0]; ev.Reason != "change" || !strings.Contains(string(ev.After), `+ permit (principal, action in`) || !strings.HasPrefix(ev.Actor, "token:") {
		t.Fatalf("event %+v after %s", ev, ev.After)
	}
	// A schema that the stored policy violates is refused; a matching one is taken.
	bad := `entity User; action "read" appliesTo { principal: [User], resource: [User] };`
	if r := e.do("PUT", "/api/v1/policies/schema", e.admin, "text/plain", bad); r.status != 400 {
		t.Fatalf("schema the policy violates: %d %s", r.status, r.body)
	}
	good := `entity User; action "read", "list" appliesTo { principal: [User], resource: [User] };`
	if r := e.do("PUT", "/api/v1/policies/schema", e.admin, "text/plain", good); r.status != 200 {
		t.Fatalf("schema: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v1/policies/typo", e.admin, "text/plain", `permit (principal, action == Action::"raed", resource);`); r.status != 400 {
		t.Fatalf("policy against the schema: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/v1/policies/readers?reason=gone", e.admin, "", ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/policies/readers", e.admin, "", ""); r.status != 404 {
		t.Fatalf("get deleted: %d", r.status)
	}
	if r := e.do("PATCH", "/api/v1/entities", e.admin, "application/json", `[{"uid":{"type":"nhi","id":"x"},"attrs":{}}]`); r.status != 400 {
		t.Fatalf("nhi entity: %d", r.status)
	}
}

// TestNHICallers checks that an NHI principal needs scope authzen:evaluate,
// and that a Steward identity as subject meets the runtime guard.
func TestNHICallers(t *testing.T) {
	var ident *steward.Identity
	fake := func(next httpapi.Authenticator) httpapi.Authenticator {
		return func(ctx context.Context, tok string) (*steward.Principal, error) {
			switch tok {
			case "nhi-with-scope":
				return &steward.Principal{Actor: "nhi:" + ident.ID, IdentityID: ident.ID, CredentialID: "crd_x", Scopes: []string{authz.ScopeEvaluate}}, nil
			case "nhi-without-scope":
				return &steward.Principal{Actor: "nhi:" + ident.ID, IdentityID: ident.ID, CredentialID: "crd_x", Scopes: []string{"read"}}, nil
			}
			return next(ctx, tok)
		}
	}
	e := newAuthzEnv(t, sqltest.OpenSQLite, fake)
	ctx := steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test"))
	var err error
	ident, err = e.svc.CreateIdentity(ctx, &steward.Identity{Name: "payments-api", Kind: steward.KindServiceAccount, Team: "payments", Environment: "prod", Scopes: []string{"charge"}, UnownedReason: "test fixture"})
	if err != nil {
		t.Fatal(err)
	}
	pol := `permit (principal is nhi, action == Action::"charge", resource is Card) when { principal.team == "payments" && principal.environment == "prod" && principal.scopes.contains("charge") };`
	if r := e.do("PUT", "/api/v1/policies/payments", e.admin, "text/plain", pol); r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	body := `{"subject":{"type":"nhi","id":"` + ident.ID + `"},"action":{"name":"charge"},"resource":{"type":"Card","id":"c1"}}`
	if r := e.do("POST", "/access/v1/evaluation", "nhi-without-scope", "application/json", body); r.status != 403 {
		t.Fatalf("NHI without scope: %d", r.status)
	}
	if !decisionOf(t, e.do("POST", "/access/v1/evaluation", "nhi-with-scope", "application/json", body)) {
		t.Fatal("active prod payments identity denied")
	}
	if _, err := e.svc.TransitionIdentity(ctx, ident.ID, steward.TransitionSuspend, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	e.pdp.Forget(ident.ID)
	r := e.do("POST", "/access/v1/evaluation", "nhi-with-scope", "application/json", body)
	var d authz.Decision
	r.json(t, &d)
	if d.Decision || !strings.Contains(d.Context["reason"].(string), "suspended") {
		t.Fatalf("suspended identity: %s", r.body)
	}
	// Every decision is a usage event against the identity.
	e.rec.Flush(context.Background())
	r = e.do("GET", "/api/v1/identities/"+ident.ID+"/usage", e.audit, "", "")
	var u usage.IdentityUsage
	r.json(t, &u)
	if r.status != 200 || u.Events != 2 || len(u.Actions) != 1 || u.Actions[0].Value != "charge" || len(u.Recent.Items) != 2 {
		t.Fatalf("usage: %d %s", r.status, r.body)
	}
	if u.Recent.Items[0].Outcome != "deny" || !strings.Contains(u.Recent.Items[0].Reason, "suspended") {
		t.Fatalf("newest event %+v", u.Recent.Items[0])
	}
	_ = json.Valid
}
