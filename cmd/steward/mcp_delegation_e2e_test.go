package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/httpapi"
)

// toolPolicy lets agents call Steward's tools, except revoke_identity.
const toolPolicy = `permit(principal, action == Action::"tools/call", resource) unless { resource == Tool::"steward/revoke_identity" };`

// TestMCPDelegatedAgent drives /mcp (Streamable HTTP, the Go SDK's
// client) against a real `steward serve` with a token a person delegated
// to an AI agent (RFC 8693 token exchange: the person's operator token as
// subject, the agent's client-credentials token as actor). The agent gets
// the tools of the person's role, each call decided by policy; a write is
// recorded with the agent as actor and the person it acts for; revoking
// the person's token or the agent's credential refuses the next call.
func TestMCPDelegatedAgent(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			e := startMCPEstate(t, dbArgs(t))
			s, admin, target := e.s, e.admin, e.billing
			ctx := context.Background()
			agent := e.identity(t, "ops-assistant", steward.KindAIAgent)
			if _, err := admin.Authz().PutPolicy(ctx, "agent-tools", toolPolicy, "agents may use Steward's tools but not revoke"); err != nil {
				t.Fatal(err)
			}
			cl, err := admin.Broker().Issue(ctx, agent.ID, broker.IssueRequest{Type: "client_secret"})
			if err != nil {
				t.Fatal(err)
			}
			agentToken := func() string {
				cc := clientcredentials.Config{ClientID: cl.ClientID, ClientSecret: cl.Secret, TokenURL: s.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
				tok, err := cc.Token(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return tok.AccessToken
			}
			person := func(role steward.Role) *steward.CreatedToken { return e.token(t, "person", role) }
			delegate := func(human *steward.CreatedToken) string {
				out, err := httpapi.NewClient(s.url, "").Federation().Exchange(ctx, federation.ExchangeRequest{GrantType: federation.GrantTokenExchange,
					SubjectToken: human.Token, SubjectTokenType: federation.TokenTypeAccess, ActorToken: agentToken(), ActorTokenType: federation.TokenTypeJWT})
				if err != nil {
					t.Fatal(err)
				}
				return out.AccessToken
			}
			connect := func(tok string) *sdk.ClientSession {
				return mcpConnect(t, e.httpTransport(tok))
			}
			operator, auditor := person(steward.RoleOperator), person(steward.RoleAuditor)
			opTok, audTok := delegate(operator), delegate(auditor)

			t.Run("whoami shows the agent acting for the person", func(t *testing.T) {
				st, body := httpDo(t, "GET", s.url+"/api/v1/whoami", opTok, "", "")
				if st != 200 || !strings.Contains(string(body), `"actor":"nhi:`+agent.ID+`"`) || !strings.Contains(string(body), `"subject":"token:`+operator.ID+`"`) ||
					!strings.Contains(string(body), `"role":"operator"`) {
					t.Fatalf("whoami: %d %s", st, body)
				}
			})
			t.Run("steward mcp over stdio works with the delegated token", func(t *testing.T) {
				cs := mcpConnect(t, &sdk.CommandTransport{Command: mcpCommand(s.url, opTok)})
				if tools := mcpTools(t, cs); !slices.Contains(tools, "suspend_identity") {
					t.Fatalf("tools: %v", tools)
				}
				if text, isErr := mcpCall(t, cs, "get_identity", map[string]any{"id": target.ID}); isErr || !strings.Contains(text, target.ID) {
					t.Fatalf("get_identity: %s", text)
				}
			})
			op := connect(opTok)
			t.Run("the agent gets the tools of the person's role and reads", func(t *testing.T) {
				if tools := mcpTools(t, op); !slices.Contains(tools, "suspend_identity") || !slices.Contains(tools, "search_identities") {
					t.Fatalf("tools: %v", tools)
				}
				if text, isErr := mcpCall(t, op, "search_identities", map[string]any{"query": "billing"}); isErr || !strings.Contains(text, target.ID) {
					t.Fatalf("search: %s", text)
				}
			})
			t.Run("a write names the agent as actor and the person it acts for", func(t *testing.T) {
				if text, isErr := mcpCall(t, op, "suspend_identity", map[string]any{"id": target.ID, "reason": "leaked key reported"}); isErr || !strings.Contains(text, `"status":"suspended"`) {
					t.Fatalf("suspend: %s", text)
				}
				events, err := admin.ListEvents(ctx, steward.EventFilter{IdentityID: target.ID, Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
				ev := events.Items[0]
				if ev.Action != "identity.suspend" || ev.Actor != "nhi:"+agent.ID || ev.Reason != "leaked key reported [via MCP] [on behalf of token:"+operator.ID+"]" {
					t.Fatalf("recorded %s by %s: %q", ev.Action, ev.Actor, ev.Reason)
				}
			})
			t.Run("a tool policy forbids is refused", func(t *testing.T) {
				text, isErr := mcpCall(t, op, "revoke_identity", map[string]any{"id": target.ID, "reason": "try"})
				if !isErr || !strings.Contains(text, "no policy permits") {
					t.Fatalf("revoke: %s", text)
				}
			})
			aud := connect(audTok)
			t.Run("a tool the person's role may not use is refused", func(t *testing.T) {
				if tools := mcpTools(t, aud); slices.Contains(tools, "suspend_identity") || !slices.Contains(tools, "search_identities") {
					t.Fatalf("auditor's agent tools: %v", tools)
				}
				res, err := aud.CallTool(ctx, &sdk.CallToolParams{Name: "resume_identity", Arguments: map[string]any{"id": target.ID, "reason": "x"}})
				if err == nil && !res.IsError {
					t.Fatalf("an auditor's agent called a write tool")
				}
			})
			t.Run("revoking the person's token refuses the agent's next call", func(t *testing.T) {
				if _, err := admin.RevokeToken(ctx, operator.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := op.CallTool(ctx, &sdk.CallToolParams{Name: "search_identities", Arguments: map[string]any{"query": "billing"}}); err == nil {
					t.Fatal("a call with a revoked delegation succeeded")
				}
			})
			t.Run("revoking the agent's credential refuses its next call", func(t *testing.T) {
				if _, isErr := mcpCall(t, aud, "search_identities", map[string]any{"query": "billing"}); isErr {
					t.Fatal("the auditor's agent could not read before revocation")
				}
				if _, err := admin.Broker().Revoke(ctx, cl.ID, broker.RevokeRequest{Reason: "agent retired"}); err != nil {
					t.Fatal(err)
				}
				if _, err := aud.CallTool(ctx, &sdk.CallToolParams{Name: "search_identities", Arguments: map[string]any{"query": "billing"}}); err == nil {
					t.Fatal("a call with a revoked agent succeeded")
				}
			})
		})
	}
}
