package gateway_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/gateway"
	"github.com/steward-nhi/steward/gateway/gatewaytest"
)

const mcpSecret = "mcp-upstream-key"

func (e *env) mcpConnect(token string) (*mcp.ClientSession, error) {
	return gatewaytest.Connect(context.Background(), e.srv.URL+"/mcp", token, e.srv.Client().Transport)
}

const mcpPolicy = `permit(principal, action, resource == Route::"tools");
permit(principal, action == Action::"tools/call", resource == Tool::"tools/echo") when { !context.arguments.contains("sudo") };`

func newMCPEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	up := gatewaytest.MCP(t, "X-Api-Key", mcpSecret)
	e.policy("mcp", mcpPolicy)
	rt := headerRoute("tools", "/mcp", up.URL, e.secretFile("mcp.key", mcpSecret))
	rt.MCP = true
	e.start(&gateway.Config{MaxBody: 4096, Routes: []gateway.Route{rt}}, nil)
	return e, e.gw.Config().Routes[0].Resource
}

func TestMCPToolCallsAreDecidedOneByOne(t *testing.T) {
	e, resource := newMCPEnv(t)
	if resource != e.srv.URL+"/mcp" {
		t.Fatalf("resource %q", resource)
	}
	tok, credID := e.accessToken(e.ident.ID, resource)
	cs, err := e.mcpConnect(tok)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, e.logs.String())
	}
	defer cs.Close()
	ctx := context.Background()

	t.Run("tools/list shows only the tools the caller may call", func(t *testing.T) {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range res.Tools {
			names = append(names, tl.Name)
		}
		if !slices.Equal(names, []string{"echo"}) {
			t.Fatalf("tools %v", names)
		}
	})
	t.Run("a permitted call reaches the tool", func(t *testing.T) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
		if err != nil || res.IsError || res.Content[0].(*mcp.TextContent).Text != "echo: hi" {
			t.Fatalf("call: %+v %v", res, err)
		}
	})
	t.Run("a call the policy denies is a JSON-RPC error", func(t *testing.T) {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "delete_all", Arguments: map[string]any{}})
		if err == nil || !strings.Contains(err.Error(), "does not permit calling tool delete_all") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("the arguments' keys are in the decision's context", func(t *testing.T) {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x", "sudo": true}})
		if err == nil || !strings.Contains(err.Error(), "does not permit") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("every call is a usage event from the agent to the tool", func(t *testing.T) {
		var calls []steward.UsageEvent
		for _, ev := range e.usage.kind(steward.UsageGateway) {
			if ev.Action == gateway.ActionToolCall {
				calls = append(calls, ev)
			}
		}
		if len(calls) != 3 {
			t.Fatalf("%d tool-call events: %+v", len(calls), calls)
		}
		want := []struct{ res, outcome, args string }{{"Tool:tools/echo", "allow", "text"}, {"Tool:tools/delete_all", "deny", ""}, {"Tool:tools/echo", "deny", "sudo,text"}}
		for i, w := range want {
			c := calls[i]
			if c.Resource != w.res || c.Outcome != w.outcome || c.Attributes["arguments"] != w.args || c.IdentityID != e.ident.ID || c.CredentialID != credID || c.Attributes["session"] == "" {
				t.Fatalf("call %d: %+v", i, c)
			}
		}
	})
	t.Run("a revoked caller's next call is refused", func(t *testing.T) {
		if err := e.b.RevokeCredential(e.admin, credID, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "again"}}); err == nil {
			t.Fatal("a revoked caller called a tool")
		}
	})
}

func TestMCPRoutesAcceptOnlyTokensForThem(t *testing.T) {
	e, resource := newMCPEnv(t)
	other, _ := e.accessToken(e.ident.ID, "https://elsewhere.example/mcp")
	steward_, _ := e.accessToken(e.ident.ID, "")
	for name, tok := range map[string]string{"a token for another resource": other, "a token for Steward itself": steward_, "an API key": e.key} {
		t.Run(name+" is refused", func(t *testing.T) {
			if cs, err := e.mcpConnect(tok); err == nil {
				cs.Close()
				t.Fatal("connected")
			}
			r := e.do("POST", "/mcp", tok, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
			if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), `resource_metadata="`+e.srv.URL+`/.well-known/oauth-protected-resource/mcp"`) {
				t.Fatalf("%d %v %s", r.status, r.header, r.body)
			}
		})
	}
	t.Run("the protected resource metadata names the resource and Steward", func(t *testing.T) {
		for _, p := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"} {
			r := e.do("GET", p, "", nil)
			var md struct {
				Resource string   `json:"resource"`
				AS       []string `json:"authorization_servers"`
				Methods  []string `json:"bearer_methods_supported"`
			}
			if r.status != 200 || json.Unmarshal([]byte(r.body), &md) != nil || md.Resource != resource || !slices.Equal(md.AS, []string{e.issuer}) || !slices.Equal(md.Methods, []string{"header"}) {
				t.Fatalf("%s: %d %s", p, r.status, r.body)
			}
		}
	})
}

func TestMCPBadInputIsRefusedBeforeTheUpstream(t *testing.T) {
	e, resource := newMCPEnv(t)
	tok, _ := e.accessToken(e.ident.ID, resource)
	tests := []struct {
		name, body string
		status     int
		code       int
		msg        string
	}{
		{"malformed JSON", `{"jsonrpc":"2.0","id":1,"method":`, 400, -32700, "not JSON"},
		{"a batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, 400, -32600, "batch requests are not accepted"},
		{"no jsonrpc version", `{"id":1,"method":"ping"}`, 400, -32600, `"jsonrpc" must be "2.0"`},
		{"an unknown method", `{"jsonrpc":"2.0","id":7,"method":"admin/shutdown"}`, 200, -32601, "not an MCP method"},
		{"a tool name with a path trick", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"../echo"}}`, 200, -32602, "params.name must be a tool name"},
		{"a tool name with a slash", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo/../../delete_all"}}`, 200, -32602, "params.name"},
		{"a method given twice in different case", `{"jsonrpc":"2.0","id":3,"method":"tools/list","Method":"tools/call"}`, 400, -32700, "twice"},
		{"a tool name given twice", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","name":"delete_all"}}`, 200, -32602, "twice"},
		{"arguments that are not an object", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":[1]}}`, 200, -32602, "must be a JSON object"},
		{"a tools/call notification", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}`, 400, -32600, "with an id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/mcp", tok, strings.NewReader(tc.body), "Content-Type", "application/json", "Accept", "application/json, text/event-stream")
			var msg struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if r.status != tc.status || json.Unmarshal([]byte(r.body), &msg) != nil || msg.Error.Code != tc.code || !strings.Contains(msg.Error.Message, tc.msg) {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	t.Run("an oversized body is 413", func(t *testing.T) {
		big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"` + strings.Repeat("x", 5000) + `"}}}`
		if r := e.do("POST", "/mcp", tok, strings.NewReader(big)); r.status != 413 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	if n := len(e.usage.kind(steward.UsageGateway)); n != 0 {
		t.Fatalf("refused messages recorded %d gateway events", n)
	}
}
