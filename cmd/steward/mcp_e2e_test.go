package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/httpapi"
)

// mcpChildEnv makes the test binary act as `steward mcp` (see
// TestMCPChildProcess): the stdio tests run it as a real subprocess
// without building the binary.
const mcpChildEnv = "STEWARD_TEST_MCP_CHILD"

// TestMCPChildProcess is `steward mcp` when the test binary is re-executed
// by mcpSession; otherwise it has nothing to do.
func TestMCPChildProcess(t *testing.T) {
	if os.Getenv(mcpChildEnv) != "1" {
		t.Skip("runs only as the subprocess of the steward mcp tests")
	}
	err := run(context.Background(), []string{"mcp"}, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "steward mcp:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// mcpCommand is `steward mcp` as a subprocess with server and token in its
// environment.
func mcpCommand(server, token string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestMCPChildProcess$")
	cmd.Env = append(os.Environ(), mcpChildEnv+"=1", "STEWARD_SERVER="+server, "STEWARD_TOKEN="+token)
	return cmd
}

func mcpConnect(t *testing.T, tr sdk.Transport) *sdk.ClientSession {
	t.Helper()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "e2e-assistant", Version: "1"}, nil).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func mcpTools(t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	return out
}

func mcpCall(t *testing.T, cs *sdk.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res.Content[0].(*sdk.TextContent).Text, res.IsError
}

// mcpEstate is a real `steward serve` for the MCP tests: an admin client,
// and an owner Dana with a prod API key billing-api.
type mcpEstate struct {
	s       *server
	admin   *httpapi.Client
	owner   *steward.Owner
	billing *steward.Identity
}

func startMCPEstate(t *testing.T, dbArgs []string) *mcpEstate {
	t.Helper()
	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey}, dbArgs...)
	e := &mcpEstate{s: s, admin: httpapi.NewClient(s.url, adminToken)}
	owner, err := e.admin.CreateOwner(context.Background(), &steward.Owner{Name: "Dana", Email: "dana@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.owner = owner
	e.billing = e.identity(t, "billing-api", steward.KindAPIKey)
	return e
}

// identity creates a prod identity owned by Dana.
func (e *mcpEstate) identity(t *testing.T, name string, kind steward.Kind) *steward.Identity {
	t.Helper()
	id, err := e.admin.CreateIdentity(context.Background(), &steward.Identity{Name: name, Kind: kind, OwnerID: e.owner.ID, Environment: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// token creates a staff token of role named prefix-role.
func (e *mcpEstate) token(t *testing.T, prefix string, role steward.Role) *steward.CreatedToken {
	t.Helper()
	ct, err := e.admin.CreateToken(context.Background(), steward.TokenCreate{Role: role, Name: prefix + "-" + string(role)})
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// httpTransport is /mcp over Streamable HTTP with tok as bearer.
func (e *mcpEstate) httpTransport(tok string) sdk.Transport {
	return &sdk.StreamableClientTransport{Endpoint: e.s.url + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{tok}}, MaxRetries: -1, DisableStandaloneSSE: true}
}

// TestMCP drives Steward's MCP tools with the Go SDK's client against a
// real `steward serve`: `steward mcp` as a subprocess over stdio, and /mcp
// over Streamable HTTP. Each role sees its tools; a write needs a reason
// and is recorded with the agent's token as the actor.
func TestMCP(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			e := startMCPEstate(t, dbArgs(t))
			s, admin, id := e.s, e.admin, e.billing
			ctx := context.Background()
			token := func(role steward.Role) *steward.CreatedToken { return e.token(t, "assistant", role) }
			operator, auditor := token(steward.RoleOperator), token(steward.RoleAuditor)

			transports := map[string]func(tok string) sdk.Transport{
				"steward mcp over stdio": func(tok string) sdk.Transport {
					return &sdk.CommandTransport{Command: mcpCommand(s.url, tok)}
				},
				"/mcp over streamable HTTP": e.httpTransport,
			}
			for tname, transport := range transports {
				t.Run(tname, func(t *testing.T) {
					aud := mcpConnect(t, transport(auditor.Token))
					if tools := mcpTools(t, aud); slices.Contains(tools, "suspend_identity") || !slices.Contains(tools, "search_identities") {
						t.Fatalf("auditor tools: %v", tools)
					}
					op := mcpConnect(t, transport(operator.Token))
					if tools := mcpTools(t, op); !slices.Contains(tools, "suspend_identity") || !slices.Contains(tools, "explain_access") {
						t.Fatalf("operator tools: %v", tools)
					}
					if text, isErr := mcpCall(t, op, "search_identities", map[string]any{"query": "billing"}); isErr || !strings.Contains(text, id.ID) {
						t.Fatalf("search: %s", text)
					}
					if text, isErr := mcpCall(t, op, "suspend_identity", map[string]any{"id": id.ID}); !isErr || !strings.Contains(text, "reason") {
						t.Fatalf("suspend without a reason: %s", text)
					}
					reason := "suspicious calls, via " + tname
					if text, isErr := mcpCall(t, op, "suspend_identity", map[string]any{"id": id.ID, "reason": reason}); isErr || !strings.Contains(text, `"status":"suspended"`) {
						t.Fatalf("suspend: %s", text)
					}
					events, err := admin.ListEvents(ctx, steward.EventFilter{IdentityID: id.ID, Limit: 1})
					if err != nil {
						t.Fatal(err)
					}
					ev := events.Items[0]
					if ev.Action != "identity.suspend" || ev.Actor != "token:"+operator.ID || !strings.Contains(ev.Reason, reason+" [via MCP]") {
						t.Fatalf("recorded %s by %s: %q", ev.Action, ev.Actor, ev.Reason)
					}
					if _, err := admin.TransitionIdentity(ctx, id.ID, steward.TransitionResume, steward.TransitionRequest{Reason: "test resets"}); err != nil {
						t.Fatal(err)
					}
				})
			}

			nhi, err := admin.Broker().Issue(ctx, id.ID, broker.IssueRequest{Type: "api_key"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct{ name, token, want string }{
				{"a bad token", "stwo_not-a-real-token-000000000000000000000000", "who the token is"},
				{"an NHI credential", nhi.Secret, "operator token"},
			} {
				t.Run("steward mcp with "+tc.name+" fails to start, saying why", func(t *testing.T) {
					cmd := mcpCommand(s.url, tc.token)
					var stderr strings.Builder
					cmd.Stderr = &stderr
					cmd.Stdin = strings.NewReader("")
					if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), tc.want) {
						t.Fatalf("err %v, stderr %q", err, stderr.String())
					}
				})
			}
		})
	}
}
