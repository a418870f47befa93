package mcp_test

import (
	"bytes"
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
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/mcp"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
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

type authzAPI struct {
	*authz.PDP
	*usage.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	sys := steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
	st := sqltest.OpenSQLite(t).(*sqlstore.Store)
	inv := inventory.New(inventory.Config{Store: st})
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	must(t, err)
	b, err := broker.New(ctx, broker.Config{Store: st, Box: box, Pepper: []byte("pepper-pepper-pepper-pepper"), Issuer: "http://steward.test"})
	must(t, err)
	rec := usage.NewRecorder(usage.RecorderConfig{Store: st})
	pdp, err := authz.New(ctx, authz.Config{Inventory: st, Store: st, Usage: rec})
	must(t, err)
	us := usage.New(usage.Config{Store: st, Inventory: st, Credentials: st, Recorder: rec})
	post := posture.New(posture.Options{Store: st, Inventory: inv, Credentials: b})
	al, err := alerts.New(alerts.Config{Store: st, Inventory: st})
	must(t, err)

	svc := mcp.Services{Inventory: inv, Credentials: b, Posture: post, Alerts: al, Usage: us, Access: pdp}
	d := httpapi.Deps{Identities: inv, Owners: inv, Tokens: inv, Imports: inv, Ready: st.Ping, AuthFailureLimit: 1e6,
		Auth: func(ctx context.Context, tok string) (*steward.Principal, error) {
			if broker.IsStewardToken(tok) {
				return b.Authenticate(ctx, tok)
			}
			return inv.Authenticate(ctx, tok)
		},
		Stats:  func(ctx context.Context) (*steward.InventoryStats, error) { return st.InventoryStats(ctx, time.Now()) },
		Broker: b, Authz: authzAPI{pdp, us}, Posture: post, Alerts: al,
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
