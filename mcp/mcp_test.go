package mcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/alerts"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/apitest"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/mcp"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// env is a real Steward API (every capability, real SQLite) serving /mcp,
// with a token per role and a small estate.
type env struct {
	url    string
	sys    context.Context
	inv    *inventory.Service
	post   *posture.Engine
	tokens map[string]*steward.CreatedToken // by role
	// mine and theirs are identities of owner A (the owner token's) and B.
	mine, theirs, unowned string
	credential            string // a broker credential of mine
	secret                string // its secret, never to be shown
	finding               string // an open finding (owner.missing on unowned)
}

func newEnv(t *testing.T) *env { return newEnvOn(t, sqltest.SQLite(t)) }

func newEnvOn(t *testing.T, st *sqlstore.Store) *env {
	t.Helper()
	ctx := context.Background()
	sys := steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
	core := apitest.New(t, st)
	inv, b, pdp, us := core.Inventory, core.Broker, core.PDP, core.Usage
	post := posture.New(posture.Options{Store: st, Inventory: inv, Credentials: b})
	al, err := alerts.New(alerts.Config{Store: st, Inventory: st})
	must(t, err)

	svc := mcp.Services{Inventory: inv, Credentials: b, Posture: post, Alerts: al, Usage: us, Access: pdp}
	d := httpapi.Deps{Identities: inv, Owners: inv, Tokens: inv, Imports: inv, Ready: st.Ping, AuthFailureLimit: 1e6,
		Auth:   core.Authenticate,
		Stats:  func(ctx context.Context) (*steward.InventoryStats, error) { return st.InventoryStats(ctx, time.Now()) },
		Broker: b, Authz: core.Authz(), Posture: post, Alerts: al,
		MCP: mcp.Handler(svc, mcp.HandlerOptions{MaxBodyBytes: httpapi.MaxBodyBytes, Version: "test"})}
	srv := httptest.NewServer(httpapi.NewServer(d))
	t.Cleanup(srv.Close)

	e := &env{url: srv.URL, sys: sys, inv: inv, post: post, tokens: map[string]*steward.CreatedToken{}}
	owner := func(name string) *steward.Owner {
		o, err := inv.CreateOwner(sys, &steward.Owner{Name: name, Email: strings.ToLower(name) + "@example.com", Team: "payments"})
		must(t, err)
		return o
	}
	a, bo := owner("Alice"), owner("Bob")
	for _, r := range steward.Roles {
		tc := steward.TokenCreate{Role: r, Name: "agent-" + string(r)}
		if r == steward.RoleOwner {
			tc.OwnerID = a.ID
		}
		ct, err := inv.CreateToken(sys, tc)
		must(t, err)
		e.tokens[string(r)] = ct
	}
	ident := func(i *steward.Identity) string {
		i.Kind, i.Environment, i.Sensitivity, i.Scopes = steward.KindServiceAccount, "prod", steward.SensitivityHigh, []string{"read"}
		out, err := inv.CreateIdentity(sys, i)
		must(t, err)
		_, err = inv.TransitionIdentity(sys, out.ID, steward.TransitionActivate, steward.TransitionRequest{})
		if err != nil && steward.ErrorCode(err) != steward.ECONFLICT {
			t.Fatal(err)
		}
		return out.ID
	}
	e.mine = ident(&steward.Identity{Name: "billing-exporter", OwnerID: a.ID, Team: "payments", Purpose: "exports invoices"})
	e.theirs = ident(&steward.Identity{Name: "ledger-sync", OwnerID: bo.ID, Team: "ledger"})
	e.unowned = ident(&steward.Identity{Name: "legacy-cron", UnownedReason: "found in an old crontab, owner unknown"})
	issued, err := b.Issue(sys, e.mine, broker.IssueRequest{Type: "api_key"})
	must(t, err)
	e.credential, e.secret = issued.ID, issued.Secret
	_, err = pdp.PutPolicy(sys, "exporter-reads", `permit(principal == nhi::"`+e.mine+`", action == Action::"read", resource == Document::"invoices");`, "test")
	must(t, err)
	_, err = post.RunNow(sys)
	must(t, err)
	f, err := post.ListFindings(sys, steward.FindingFilter{IdentityID: e.unowned, Check: "owner.missing"})
	must(t, err)
	if len(f.Items) == 0 {
		t.Fatal("no owner.missing finding for the unowned identity")
	}
	e.finding = f.Items[0].ID
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// bearer adds a token to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// mode connects an MCP client session acting with token.
type mode func(t *testing.T, e *env, token string) *sdk.ClientSession

// modes are the two ways Steward serves its tools: /mcp in process over
// Streamable HTTP, and the remote services steward mcp uses (the typed
// HTTP clients against the same API), reached over an in-memory pipe.
var modes = map[string]mode{
	"in process over streamable HTTP": func(t *testing.T, e *env, token string) *sdk.ClientSession {
		tr := &sdk.StreamableClientTransport{Endpoint: e.url + "/mcp", HTTPClient: &http.Client{Transport: bearer{token}}, MaxRetries: -1, DisableStandaloneSSE: true}
		return connect(t, tr)
	},
	"remote through the HTTP clients": func(t *testing.T, e *env, token string) *sdk.ClientSession {
		c := httpapi.NewClient(e.url, token)
		caller, err := mcp.RemoteCaller(context.Background(), c)
		must(t, err)
		return serveRemote(t, mcp.NewServer(mcp.Remote(c), caller, "test"))
	},
}

func serveRemote(t *testing.T, s *sdk.Server) *sdk.ClientSession {
	t.Helper()
	st, ct := sdk.NewInMemoryTransports()
	ss, err := s.Connect(context.Background(), st, nil)
	must(t, err)
	t.Cleanup(func() { ss.Close() })
	return connect(t, ct)
}

func connect(t *testing.T, tr sdk.Transport) *sdk.ClientSession {
	t.Helper()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test-assistant", Version: "1"}, nil).Connect(context.Background(), tr, nil)
	must(t, err)
	t.Cleanup(func() { cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	must(t, err)
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

// call calls a tool and returns its text and whether it is a tool error.
func call(t *testing.T, cs *sdk.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	must(t, err)
	if len(res.Content) != 1 {
		t.Fatalf("%s: %d content blocks, want 1", name, len(res.Content))
	}
	return res.Content[0].(*sdk.TextContent).Text, res.IsError
}

func decode[T any](t *testing.T, text string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("decode %s: %v", text, err)
	}
	return v
}

func TestToolsListFollowsTheRole(t *testing.T) {
	e := newEnv(t)
	reads := []string{"get_identity", "list_alerts", "list_findings", "posture_summary", "search_identities"}
	writes := []string{"acknowledge_finding", "revoke_credential", "revoke_identity", "rotate_credential", "suspend_identity"}
	sorted := func(s ...[]string) []string { out := slices.Concat(s...); slices.Sort(out); return out }
	want := map[string][]string{
		"admin":    sorted(reads, writes, []string{"explain_access"}),
		"operator": sorted(reads, writes, []string{"explain_access"}),
		"owner":    sorted(reads, writes),
		"auditor":  sorted(reads),
	}
	for name, connect := range modes {
		t.Run(name, func(t *testing.T) {
			for role, tools := range want {
				t.Run(role, func(t *testing.T) {
					if got := toolNames(t, connect(t, e, e.tokens[role].Token)); !slices.Equal(got, tools) {
						t.Errorf("tools %v, want %v", got, tools)
					}
				})
			}
		})
	}
}

func TestToolSchemasAreDescribed(t *testing.T) {
	e := newEnv(t)
	res, err := modes["in process over streamable HTTP"](t, e, e.tokens["admin"].Token).ListTools(context.Background(), nil)
	must(t, err)
	for _, tl := range res.Tools {
		if len(tl.Description) < 60 {
			t.Errorf("%s: description %q is too thin for an assistant to choose well", tl.Name, tl.Description)
		}
		schema := decode[struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		}](t, string(mustJSON(t, tl.InputSchema)))
		if schema.Type != "object" {
			t.Errorf("%s: input schema type %q", tl.Name, schema.Type)
		}
		for prop, raw := range schema.Properties {
			if !strings.Contains(string(raw), `"description"`) {
				t.Errorf("%s: argument %s has no description", tl.Name, prop)
			}
		}
		if tl.Annotations == nil || tl.Annotations.ReadOnlyHint == (tl.Annotations.DestructiveHint != nil) {
			t.Errorf("%s: annotations must say read-only or (non-)destructive: %+v", tl.Name, tl.Annotations)
		}
		if tl.Annotations != nil && !tl.Annotations.ReadOnlyHint && !slices.Contains(schema.Required, "reason") {
			t.Errorf("%s writes but does not require a reason (required: %v)", tl.Name, schema.Required)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}

func TestReadTools(t *testing.T) {
	e := newEnv(t)
	for name, connect := range modes {
		t.Run(name, func(t *testing.T) {
			admin := connect(t, e, e.tokens["admin"].Token)
			owner := connect(t, e, e.tokens["owner"].Token)
			auditor := connect(t, e, e.tokens["auditor"].Token)

			t.Run("search finds identities by text and filters, compactly", func(t *testing.T) {
				text, isErr := call(t, auditor, "search_identities", map[string]any{"query": "billing", "environment": "prod"})
				got := decode[struct {
					Items []map[string]any `json:"items"`
				}](t, text)
				if isErr || len(got.Items) != 1 || got.Items[0]["id"] != e.mine {
					t.Fatalf("search: %s", text)
				}
				if _, ok := got.Items[0]["created_at"]; ok || strings.Contains(text, `"labels":null`) {
					t.Errorf("result is not compact: %s", text)
				}
			})
			t.Run("an owner's search sees its own identities only", func(t *testing.T) {
				text, _ := call(t, owner, "search_identities", nil)
				if !strings.Contains(text, e.mine) || strings.Contains(text, e.theirs) {
					t.Fatalf("owner search: %s", text)
				}
			})
			t.Run("get_identity shows owner, credentials, history and usage, never a secret", func(t *testing.T) {
				text, isErr := call(t, admin, "get_identity", map[string]any{"id": e.mine})
				got := decode[struct {
					Identity    struct{ ID string }                `json:"identity"`
					Owner       struct{ Name, Email string }       `json:"owner"`
					Credentials []struct{ ID, Fingerprint string } `json:"credentials"`
					History     []struct{ Action, Actor string }   `json:"history"`
					Usage       *struct{ Events int64 }            `json:"usage"`
				}](t, text)
				if isErr || got.Identity.ID != e.mine || got.Owner.Name != "Alice" || len(got.Credentials) != 1 ||
					got.Credentials[0].ID != e.credential || got.Credentials[0].Fingerprint == "" || len(got.History) == 0 || got.Usage == nil {
					t.Fatalf("get_identity: %s", text)
				}
				if strings.Contains(text, e.secret) {
					t.Errorf("a secret-looking value in %s", text)
				}
			})
			t.Run("an owner may not read another owner's identity", func(t *testing.T) {
				text, isErr := call(t, owner, "get_identity", map[string]any{"id": e.theirs})
				if !isErr || strings.Contains(text, "ledger-sync") {
					t.Fatalf("owner read another's identity: %s", text)
				}
			})
			t.Run("unknown identity is a tool error naming the code", func(t *testing.T) {
				text, isErr := call(t, admin, "get_identity", map[string]any{"id": "nhi_nope"})
				if !isErr || decode[map[string]map[string]string](t, text)["error"]["code"] != steward.ENOTFOUND {
					t.Fatalf("got %s", text)
				}
			})
			t.Run("list_findings defaults to unresolved", func(t *testing.T) {
				text, isErr := call(t, auditor, "list_findings", map[string]any{"identity_id": e.unowned})
				if isErr || !strings.Contains(text, e.finding) || !strings.Contains(text, `"owasp":"NHI1`) {
					t.Fatalf("list_findings: %s", text)
				}
			})
			t.Run("list_alerts answers a page", func(t *testing.T) {
				text, isErr := call(t, auditor, "list_alerts", map[string]any{"status": "open"})
				if isErr || !strings.HasPrefix(text, `{"items":[`) {
					t.Fatalf("list_alerts: %s", text)
				}
			})
			t.Run("explain_access names who may act", func(t *testing.T) {
				text, isErr := call(t, admin, "explain_access", map[string]any{"action": "read", "resource_type": "Document", "resource_id": "invoices"})
				got := decode[struct {
					Permitted []struct{ Type, ID string } `json:"permitted"`
				}](t, text)
				if isErr || len(got.Permitted) != 1 || got.Permitted[0].ID != e.mine || got.Permitted[0].Type != "nhi" {
					t.Fatalf("explain_access: %s", text)
				}
			})
			t.Run("posture_summary counts for staff", func(t *testing.T) {
				text, isErr := call(t, auditor, "posture_summary", nil)
				got := decode[struct {
					Inventory *struct{ Identities int64 } `json:"inventory"`
					Findings  *struct {
						BySeverity map[string]int `json:"by_severity"`
					} `json:"unresolved_findings"`
					Alerts  *struct{ Total int } `json:"open_alerts"`
					Omitted map[string]string    `json:"omitted"`
				}](t, text)
				if isErr || got.Inventory == nil || got.Inventory.Identities != 3 || got.Findings == nil || len(got.Findings.BySeverity) == 0 || got.Alerts == nil || len(got.Omitted) != 0 {
					t.Fatalf("posture_summary: %s", text)
				}
			})
			t.Run("posture_summary leaves out what an owner may not read", func(t *testing.T) {
				text, isErr := call(t, owner, "posture_summary", nil)
				got := decode[struct {
					Inventory any               `json:"inventory"`
					Omitted   map[string]string `json:"omitted"`
				}](t, text)
				if isErr || got.Inventory != nil || got.Omitted["inventory"] == "" {
					t.Fatalf("owner posture_summary: %s", text)
				}
			})
		})
	}
}

// lastEvent returns the newest audit event about subject.
func (e *env) lastEvent(t *testing.T, identityID, subjectID string) *steward.Event {
	t.Helper()
	p, err := e.inv.ListEvents(e.sys, steward.EventFilter{IdentityID: identityID, SubjectID: subjectID, Limit: 1})
	must(t, err)
	if len(p.Items) == 0 {
		t.Fatalf("no event for %s", subjectID)
	}
	return p.Items[0]
}

func TestWriteTools(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		for name, connect := range modes {
			t.Run(engine.Name+"/"+name, func(t *testing.T) {
				testWriteTools(t, newEnvOn(t, engine.Store(t)), connect)
			})
		}
	}
}

func testWriteTools(t *testing.T, e *env, connect mode) {
	{
		{
			tests := []struct {
				name    string
				role    string
				tool    string
				args    func(e *env) map[string]any
				errCode string // "" when the call succeeds
				errText string
				// recorded: the subject whose newest event must name the
				// agent's token as actor and carry the reason.
				recorded func(e *env) (identityID, subjectID, action string)
			}{
				{name: "a call without a reason is refused before anything happens", role: "operator", tool: "suspend_identity",
					args: func(e *env) map[string]any { return map[string]any{"id": e.mine} }, errText: "reason"},
				{name: "a blank reason is refused", role: "operator", tool: "suspend_identity",
					args: func(e *env) map[string]any { return map[string]any{"id": e.mine, "reason": "   "} }, errCode: steward.EINVALID, errText: "reason"},
				{name: "an owner may not suspend another owner's identity", role: "owner", tool: "suspend_identity",
					args:    func(e *env) map[string]any { return map[string]any{"id": e.theirs, "reason": "looks unused"} },
					errCode: steward.EFORBIDDEN},
				{name: "rotating a credential withholds the new secret", role: "owner", tool: "rotate_credential",
					args: func(e *env) map[string]any {
						return map[string]any{"credential_id": e.credential, "reason": "scheduled rotation", "overlap": "1h"}
					},
					recorded: func(e *env) (string, string, string) { return e.mine, e.credential, steward.ActionCredentialRotate }},
				{name: "the operator's agent suspends with a reason, recorded as the agent", role: "operator", tool: "suspend_identity",
					args: func(e *env) map[string]any {
						return map[string]any{"id": e.mine, "reason": "anomalous calls from a new network"}
					},
					recorded: func(e *env) (string, string, string) {
						return e.mine, e.mine, steward.IdentityAction(steward.TransitionSuspend)
					}},
				{name: "acknowledging a finding is recorded as the agent", role: "admin", tool: "acknowledge_finding",
					args: func(e *env) map[string]any {
						return map[string]any{"finding_id": e.finding, "reason": "owner search opened with the platform team"}
					},
					recorded: func(e *env) (string, string, string) {
						return e.unowned, e.finding, steward.ActionFindingAcknowledge
					}},
				{name: "a bad overlap names the field", role: "admin", tool: "rotate_credential",
					args: func(e *env) map[string]any {
						return map[string]any{"credential_id": e.credential, "reason": "r", "overlap": "a while"}
					}, errCode: steward.EINVALID, errText: "overlap"},
				{name: "revoke_identity refuses an unknown code, naming it", role: "admin", tool: "revoke_identity",
					args: func(e *env) map[string]any {
						return map[string]any{"id": e.theirs, "reason": "decommissioned last week", "code": "bored"}
					}, errText: "code"},
				{name: "revoking an identity is recorded as the agent", role: "admin", tool: "revoke_identity",
					args: func(e *env) map[string]any {
						return map[string]any{"id": e.theirs, "reason": "service decommissioned", "code": "decommissioned"}
					},
					recorded: func(e *env) (string, string, string) {
						return e.theirs, e.theirs, steward.IdentityAction(steward.TransitionRevoke)
					}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					tok := e.tokens[tc.role]
					text, isErr := call(t, connect(t, e, tok.Token), tc.tool, tc.args(e))
					if tc.recorded == nil {
						if !isErr || !strings.Contains(text, tc.errText) {
							t.Fatalf("want a tool error about %q, got %s", tc.errText, text)
						}
						if tc.errCode != "" {
							if got := decode[map[string]map[string]string](t, text)["error"]["code"]; got != tc.errCode {
								t.Fatalf("code %q, want %q: %s", got, tc.errCode, text)
							}
						}
						return
					}
					if isErr {
						t.Fatalf("tool error: %s", text)
					}
					if strings.Contains(text, "stw_") && !strings.Contains(text, "withheld") {
						t.Fatalf("a secret in the answer: %s", text)
					}
					identityID, subjectID, action := tc.recorded(e)
					ev := e.lastEvent(t, identityID, subjectID)
					reason, _ := tc.args(e)["reason"].(string)
					if ev.Action != action || ev.Actor != "token:"+tok.ID || !strings.Contains(ev.Reason, reason) || !strings.Contains(ev.Reason, "[via MCP]") {
						t.Fatalf("event %s by %s, reason %q; want %s by token:%s with %q [via MCP]", ev.Action, ev.Actor, ev.Reason, action, tok.ID, reason)
					}
				})
			}
		}
	}
}

// TestServicesRefuseWhatTheListHides: a write tool reached with a token
// whose role may not write is refused by the services, whatever the list
// offered (here a server built as if the caller were an admin).
func TestServicesRefuseWhatTheListHides(t *testing.T) {
	e := newEnv(t)
	c := httpapi.NewClient(e.url, e.tokens["auditor"].Token)
	cs := serveRemote(t, mcp.NewServer(mcp.Remote(c), mcp.Caller{Role: steward.RoleAdmin}, "test"))
	text, isErr := call(t, cs, "suspend_identity", map[string]any{"id": e.mine, "reason": "testing the refusal"})
	if !isErr || decode[map[string]map[string]string](t, text)["error"]["code"] != steward.EFORBIDDEN {
		t.Fatalf("auditor suspended: %s", text)
	}
	if i, err := e.inv.GetIdentity(e.sys, e.mine); err != nil || i.Status != steward.StatusActive {
		t.Fatalf("identity changed: %v %v", i, err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	for name, connect := range modes {
		t.Run(name, func(t *testing.T) {
			cs := connect(t, e, e.tokens["auditor"].Token)
			t.Run("an unknown tool is a protocol error", func(t *testing.T) {
				_, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "drop_tables", Arguments: map[string]any{}})
				if err == nil || !strings.Contains(err.Error(), "drop_tables") {
					t.Fatalf("err = %v", err)
				}
			})
			t.Run("a write tool the role lacks is unknown to it", func(t *testing.T) {
				_, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "revoke_identity", Arguments: map[string]any{"id": e.mine, "reason": "x"}})
				if err == nil {
					t.Fatal("an auditor called revoke_identity")
				}
			})
			for _, tc := range []struct {
				name, tool string
				args       map[string]any
				want       string
			}{
				{"an argument of the wrong type", "search_identities", map[string]any{"limit": "ten"}, "limit"},
				{"an unknown argument", "search_identities", map[string]any{"owner": "alice"}, "owner"},
				{"a bad time names the field", "search_identities", map[string]any{"unused_since": "last tuesday"}, "unused_since"},
				{"a bad enum value names the field", "list_findings", map[string]any{"severity": "apocalyptic"}, "severity"},
				{"a missing required argument", "get_identity", map[string]any{}, "id"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					text, isErr := call(t, cs, tc.tool, tc.args)
					if !isErr || !strings.Contains(text, tc.want) {
						t.Fatalf("want a tool error naming %q, got %s", tc.want, text)
					}
				})
			}
		})
	}
}

// TestHTTPSessionsFollowTheToken: /mcp re-authenticates every request, so
// a token revoked mid-session is refused at its next call, a request
// without a token never reaches the tools, and a body over the API's limit
// is refused whole.
func TestHTTPSessionsFollowTheToken(t *testing.T) {
	e := newEnv(t)
	ct, err := e.inv.CreateToken(e.sys, steward.TokenCreate{Role: steward.RoleOperator, Name: "short-lived agent"})
	must(t, err)
	cs := modes["in process over streamable HTTP"](t, e, ct.Token)
	if _, isErr := call(t, cs, "search_identities", nil); isErr {
		t.Fatal("search failed before the revocation")
	}
	_, err = e.inv.RevokeToken(e.sys, ct.ID)
	must(t, err)
	if _, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "search_identities"}); err == nil {
		t.Fatal("a revoked token's call went through")
	}

	res, err := http.Post(e.url+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: status %d", res.StatusCode)
	}

	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_identities","arguments":{"query":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}}}`
	req, err := http.NewRequest("POST", e.url+"/mcp", strings.NewReader(big))
	must(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	res, err = (&http.Client{Transport: bearer{e.tokens["admin"].Token}}).Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over %d bytes: status %d", httpapi.MaxBodyBytes, res.StatusCode)
	}
}
