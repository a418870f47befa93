package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/alerts"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/discovery"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/apitest"
	"github.com/steward-nhi/steward/mcp"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/rotation/postgres"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// matrix is a server with every capability wired on a real SQLite store,
// and for each kind of resource one owned by owner A and one by owner B.
type matrix struct {
	t      *testing.T
	srv    *httptest.Server
	tokens map[string]string // caller → bearer
	// own and other map a path parameter kind to the resource of owner A
	// (the owner token's) and of owner B.
	own, other map[string]string
	ownerA     string
	ownerB     string
	n          int
}

func newMatrix(t *testing.T) *matrix {
	t.Helper()
	ctx := context.Background()
	sys := steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
	st := sqltest.SQLite(t)
	core := apitest.New(t, st)
	svc, b, pdp, us := core.Inventory, core.Broker, core.PDP, core.Usage
	post := posture.New(posture.Options{Store: st, Inventory: svc, SCIMToken: "scim-secret-0123456789", OktaSecret: "okta-secret-0123456789"})
	eng, err := alerts.New(alerts.Config{Store: st, Inventory: st, FlushInterval: 10 * time.Millisecond})
	must(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { eng.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	fed, err := federation.New(federation.Config{Store: st, Broker: b})
	must(t, err)
	aud := audit.NewService(audit.Config{Store: st, Signer: audit.NewSigner(ed25519.NewKeyFromSeed(make([]byte, 32)))})

	cus, err := custody.New(custody.Config{Store: st, Box: core.Box})
	must(t, err)
	rot, err := rotation.New(rotation.Config{Store: st, Custody: cus, Kinds: []rotation.Kind{postgres.Kind()}})
	must(t, err)
	d := httpapi.Deps{Custody: cus, Rotation: rot, Identities: svc, Owners: svc, Tokens: svc, Imports: svc, Ready: st.Ping, AuthFailureLimit: 1e6,
		Stats:  func(ctx context.Context) (*steward.InventoryStats, error) { return st.InventoryStats(ctx, time.Now()) },
		Auth:   core.Authenticate,
		Broker: b, Authz: core.Authz(), Posture: post, Alerts: eng, Audit: aud, Discovery: discovery.New(st, nil, nil), Federation: fed,
		Pprof: true,
		MCP:   mcp.Handler(mcp.Services{Inventory: svc, Credentials: b, Posture: post, Alerts: eng, Usage: us, Access: pdp}, mcp.HandlerOptions{MaxBodyBytes: httpapi.MaxBodyBytes})}
	m := &matrix{t: t, tokens: map[string]string{"bad": "stwo_not-a-real-token-000000000000000000000000"},
		own: map[string]string{}, other: map[string]string{}}
	m.srv = httptest.NewServer(httpapi.NewServer(d))
	t.Cleanup(m.srv.Close)

	m.tokens["admin"], err = svc.Bootstrap(ctx, "")
	must(t, err)
	owner := func(name string) *steward.Owner {
		o, err := svc.CreateOwner(sys, &steward.Owner{Name: name, Email: strings.ToLower(name) + "@example.com"})
		must(t, err)
		return o
	}
	a, bo, c := owner("Alice"), owner("Bob"), owner("Carol")
	m.ownerA, m.ownerB = a.ID, bo.ID
	for _, r := range []steward.Role{steward.RoleOperator, steward.RoleAuditor, steward.RoleOwner} {
		tc := steward.TokenCreate{Role: r}
		if r == steward.RoleOwner {
			tc.OwnerID = a.ID
		}
		ct, err := svc.CreateToken(sys, tc)
		must(t, err)
		m.tokens[string(r)] = ct.Token
	}
	victim, err := svc.CreateToken(sys, steward.TokenCreate{Role: steward.RoleAuditor, Name: "victim"})
	must(t, err)
	ident := func(name, ownerID string) string {
		i, err := svc.CreateIdentity(sys, &steward.Identity{Name: name, Kind: steward.KindServiceAccount, OwnerID: ownerID, Scopes: []string{"read"}})
		must(t, err)
		return i.ID
	}
	cred := func(identityID string) *broker.Issued {
		out, err := b.Issue(sys, identityID, broker.IssueRequest{Type: "api_key"})
		must(t, err)
		return out
	}
	for _, side := range []struct {
		ids     map[string]string
		ownerID string
	}{{m.own, a.ID}, {m.other, bo.ID}} {
		id := ident("svc-"+side.ownerID, side.ownerID)
		side.ids["identity"] = id
		side.ids["lifecycle"] = ident("life-"+side.ownerID, side.ownerID)
		side.ids["credential"] = cred(id).ID
		side.ids["owner"] = c.ID
		side.ids["lease"] = "lse_matrix"
		side.ids["token"] = victim.ID
		side.ids["issuer"] = "mx"
		if _, err := fed.GetIssuer(sys, "mx"); err != nil {
			_, err = fed.CreateIssuer(sys, &steward.TrustedIssuer{Name: "mx", Kind: steward.IssuerOIDC, Issuer: "https://mx.example.com", JWKS: []byte(`{"keys":[]}`)})
			must(t, err)
		}
		bnd, err := fed.Bind(sys, id, federation.BindingInput{Issuer: "mx", Subject: "sub-" + side.ownerID})
		must(t, err)
		side.ids["binding"] = bnd.ID
		eng.Record(ctx, steward.UsageEvent{Kind: steward.UsageAuth, IdentityID: id, CredentialID: side.ids["credential"], Outcome: "revoked", Source: "203.0.113.7"})
	}
	// An NHI credential of owner A's identity.
	m.tokens["nhi"] = cred(m.own["identity"]).Secret
	must(t, eng.Sync(ctx))
	alertsOf := func(identityID string) string {
		p, err := eng.ListAlerts(sys, steward.AlertFilter{IdentityID: identityID})
		must(t, err)
		if len(p.Items) == 0 {
			t.Fatalf("no alert for %s", identityID)
		}
		return p.Items[0].ID
	}
	m.own["alert"], m.other["alert"] = alertsOf(m.own["identity"]), alertsOf(m.other["identity"])
	_, err = post.RunNow(sys)
	must(t, err)
	for _, side := range []map[string]string{m.own, m.other} {
		p, err := post.ListFindings(sys, steward.FindingFilter{IdentityID: side["identity"]})
		must(t, err)
		side["finding"] = "fnd_none"
		if len(p.Items) > 0 {
			side["finding"] = p.Items[0].ID
		}
	}
	camp, err := post.StartReview(sys, steward.ReviewRequest{Name: "matrix"})
	must(t, err)
	camp, err = post.GetReview(sys, camp.ID)
	must(t, err)
	for _, it := range camp.Items {
		for _, side := range []map[string]string{m.own, m.other} {
			side["review"] = camp.ID
			if it.IdentityID == side["identity"] {
				side["item"] = it.ID
			}
		}
	}
	_, err = pdp.PutPolicy(sys, "matrix", `permit (principal, action, resource);`, "test")
	must(t, err)
	_, err = aud.Checkpoint(sys)
	must(t, err)
	return m
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// path fills a route's parameters with the resources of one side.
func (m *matrix) path(rt httpapi.Route, side map[string]string) string {
	kind := map[string]string{"identities": "identity", "credentials": "credential", "owners": "owner", "tokens": "token",
		"findings": "finding", "alerts": "alert", "reviews": "review", "issuers": "issuer", "bindings": "binding", "leases": "lease"}
	parts := strings.Split(rt.Path, "/")
	for i, p := range parts {
		switch p {
		case "{id}":
			k := kind[parts[i-1]]
			if k == "identity" && (rt.Method == "DELETE" || (i+1 < len(parts) && strings.Contains("activate suspend resume revoke", parts[i+1]))) {
				k = "lifecycle" // acts that would lock the NHI credential out
			}
			parts[i] = side[k]
		case "{item}":
			parts[i] = side["item"]
		case "{name}":
			parts[i] = "matrix"
		case "{seq}":
			parts[i] = "1"
		case "{profile}":
			parts[i] = "heap"
		case "{format}":
			parts[i] = map[bool]string{true: "jsonl", false: "kubernetes"}[strings.Contains(rt.Path, "/usage/")]
		}
	}
	return strings.Join(parts, "/")
}

// bodies are sample request bodies by route; a route that takes a body
// must have one here, so no new route escapes the matrix.
func (m *matrix) body(key, ownerID string) (string, string, bool) {
	m.n++
	j := func(s string) (string, string, bool) { return "application/json", s, true }
	switch key {
	case "POST /api/v1/owners":
		return j(fmt.Sprintf(`{"name":"M","email":"m%d@example.com"}`, m.n))
	case "PATCH /api/v1/owners/{id}":
		return j(`{"team":"t"}`)
	case "POST /api/v1/owners/{id}/depart", "POST /api/v1/findings/{id}/acknowledge", "POST /api/v1/findings/{id}/reopen":
		return j(`{"reason":"matrix"}`)
	case "POST /api/v1/owners/{id}/reassign":
		return j(`{"new_owner_id":"` + m.ownerA + `"}`)
	case "POST /api/v1/identities":
		return j(fmt.Sprintf(`{"name":"m%d","kind":"bot","owner_id":%q}`, m.n, ownerID))
	case "PATCH /api/v1/identities/{id}":
		return j(`{"purpose":"p"}`)
	case "POST /api/v1/identities/{id}/activate", "POST /api/v1/identities/{id}/suspend", "POST /api/v1/identities/{id}/resume",
		"POST /api/v1/identities/{id}/revoke":
		return j(`{"reason":"incident"}`)
	case "POST /api/v1/import/{format}":
		return "application/yaml", fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: m%d\n  namespace: x\n", m.n), true
	case "POST /api/v1/tokens":
		return j(`{"role":"auditor"}`)
	case "POST /api/v1/identities/{id}/credentials":
		return j(`{"type":"api_key"}`)
	case "POST /api/v1/credentials/{id}/rotate":
		return j(`{"overlap":"1h"}`)
	case "POST /api/v1/credentials/{id}/revoke":
		return j(`{"reason":"manual"}`)
	case "POST /api/v1/credentials/{id}/extend":
		return j(`{"ttl":"1d"}`)
	case "POST /api/v1/discovery/reports":
		return j(`{"source":"matrix","findings":[]}`)
	case "POST /access/v1/evaluation", "POST /access/v1/evaluations", "POST /access/v1/search/subject", "POST /access/v1/search/resource",
		"POST /access/v1/search/action":
		return j(`{"subject":{"type":"nhi","id":"x"},"action":{"name":"read"},"resource":{"type":"Doc","id":"1"}}`)
	case "PUT /api/v1/policies/schema":
		return "text/plain", `entity Doc;`, true
	case "PUT /api/v1/policies/{name}":
		return "text/plain", `permit (principal, action, resource);`, true
	case "PUT /api/v1/entities", "PATCH /api/v1/entities":
		return j(`[]`)
	case "POST /api/v1/usage", "POST /api/v1/usage/import/{format}":
		return "application/x-ndjson", "", true
	case "POST /api/v1/findings/{id}/waive":
		return j(`{"reason":"r","approver":"a","until":"2030-01-01T00:00:00Z"}`)
	case "POST /api/v1/reviews":
		return j(`{"name":"m"}`)
	case "POST /api/v1/reviews/{id}/items/{item}/decide":
		return j(`{"decision":"keep","justification":"still used"}`)
	case "POST /api/v1/alerts/{id}/ack", "POST /api/v1/alerts/{id}/resolve", "POST /api/v1/alerts/{id}/false-positive":
		return j(`{"note":"n"}`)
	case "POST /api/v1/alerts/test-notification":
		return j(`{}`)
	case "POST /api/v1/federation/issuers":
		return j(fmt.Sprintf(`{"name":"mx%d","kind":"oidc","issuer":"https://mx%d.example.com","jwks":{"keys":[]}}`, m.n, m.n))
	case "PATCH /api/v1/federation/issuers/{id}":
		return j(`{"audiences":["steward"]}`)
	case "POST /api/v1/identities/{id}/federation/bindings":
		return j(fmt.Sprintf(`{"issuer":"mx","subject":"s%d"}`, m.n))
	case "POST /api/v1/federation/bindings/{id}/remove":
		return j(`{"reason":"r"}`)
	case "POST /mcp":
		return j(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	case "PUT /api/v1/credentials/{id}/secret":
		return j(`{"secret":"matrix-secret"}`)
	case "POST /api/v1/rotators":
		return j(fmt.Sprintf(`{"name":"r%d","kind":"postgres","config":{"url":"postgres://a:b@127.0.0.1:1/x"}}`, m.n))
	case "POST /api/v1/leases":
		return j(`{"rotator":"none","identity_id":"nhi_x","creation_statements":["CREATE ROLE \"{{name}}\""]}`)
	case "POST /api/v1/leases/{id}/renew":
		return j(`{"ttl":"1h"}`)
	}
	return "", "", false
}

func (m *matrix) do(method, path, token, ct, body string) (int, string) {
	m.t.Helper()
	r := send(m.t, m.srv, method, path, token, ct, strings.NewReader(body))
	return r.status, string(r.body)
}

// TestAuthorizationMatrix calls every authenticated route with no token, a
// bad token, an NHI credential and each role's token (the owner role on
// its own resource and on another owner's), and checks each answer
// against the route's declared access: 401 without a valid token, 403 for
// a caller the route does not admit (403 or 404 for another owner's
// resource), and neither (nor a 5xx: every capability is wired) for one
// it admits.
func TestAuthorizationMatrix(t *testing.T) {
	m := newMatrix(t)
	principals := map[string]*steward.Principal{
		"admin": {Role: steward.RoleAdmin}, "operator": {Role: steward.RoleOperator}, "auditor": {Role: steward.RoleAuditor},
		"owner": {Role: steward.RoleOwner}, "nhi": {IdentityID: m.own["identity"]},
	}
	// Least privileged first, so that an admitted caller's act (a
	// revocation, a departure) comes after the refusals.
	callers := []struct{ name, token string }{{"no token", ""}, {"bad token", "bad"}, {"nhi", "nhi"}, {"auditor", "auditor"},
		{"owner of another resource", "owner"}, {"owner of the resource", "owner"}, {"operator", "operator"}, {"admin", "admin"}}
	for _, rt := range httpapi.Routes() {
		if rt.Public {
			continue
		}
		key := rt.Method + " " + rt.Path
		t.Run(key, func(t *testing.T) {
			if len(rt.Roles) == 0 && !rt.Own && !rt.NHI && rt.Scope == "" {
				t.Fatalf("%s declares no roles: say who may call it", key)
			}
			for _, c := range callers {
				side, ownerID := m.own, m.ownerA
				if c.name == "owner of another resource" {
					side, ownerID = m.other, m.ownerB
				}
				path := m.path(rt, side)
				ct, body, ok := m.body(key, ownerID)
				if !ok && rt.Request != "" {
					t.Fatalf("no sample body for %s: add one to matrix.body", key)
				}
				status, reply := m.do(rt.Method, path, m.tokens[c.token], ct, body)
				ownPath := m.path(rt, m.own)
				_, ownBody, _ := m.body(key, m.ownerA)
				sameAsOwn := path == ownPath && (body == ownBody || !strings.Contains(body, m.ownerB))
				var want string
				switch {
				case c.token == "" || c.token == "bad":
					want = "401"
				case !rt.Allows(principals[c.token]):
					want = "403"
				case c.name == "owner of another resource" && !rt.Public && rt.Own && !sameAsOwn:
					want = "403 or 404"
				default:
					want = "admitted"
				}
				var good bool
				switch want {
				case "401":
					good = status == http.StatusUnauthorized
				case "403":
					good = status == http.StatusForbidden
				case "403 or 404":
					// or 400 naming owner_id: creating for another owner
					good = status == http.StatusForbidden || status == http.StatusNotFound ||
						(status == http.StatusBadRequest && strings.Contains(reply, `"field":"owner_id"`))
				default:
					good = status != http.StatusUnauthorized && status != http.StatusForbidden && status < 500
				}
				if !good {
					t.Errorf("%s %s as %s: status %d, want %s (route admits: %s): %.300s", rt.Method, path, c.name, status, want, rt.Access(), reply)
				}
			}
		})
	}
}
