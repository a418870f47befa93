// Package gatewaytest runs real upstreams for the gateway's tests and
// benchmarks: an HTTP echo server and an MCP server built with the
// official Go SDK.
package gatewaytest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Echo is an upstream that answers with what it received as JSON
// (method, path, query, headers, body, protocol), the injected secret
// included: the tests prove the secret goes no further.
func Echo(t testing.TB) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(EchoHandler())
	t.Cleanup(s.Close)
	return s
}

// EchoHandler is Echo's handler.
func EchoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Echoed{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: r.Header, Body: string(b), Proto: r.Proto})
	})
}

// Echoed is what Echo answers.
type Echoed struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Query   string      `json:"query"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
	Proto   string      `json:"proto"`
}

// MCP is a real MCP server (the Go SDK's, Streamable HTTP) with the tools
// echo (argument text) and delete_all. It answers only requests whose
// header carries value and that hold no Authorization header other than
// that one: the caller's token must not reach it.
func MCP(t testing.TB, header, value string) *httptest.Server {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "tools", Version: "1.0.0"}, nil)
	type text struct {
		Text string `json:"text"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "echo the text"}, func(_ context.Context, _ *mcp.CallToolRequest, in text) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "echo: " + in.Text}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "delete_all", Description: "delete everything"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "deleted"}}}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header) != value || (header != "Authorization" && r.Header.Get("Authorization") != "") {
			http.Error(w, "upstream: wrong credentials", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	return up
}

// Connect opens an MCP session (the Go SDK's client) to endpoint with a
// bearer token.
func Connect(ctx context.Context, endpoint, token string, base http.RoundTripper) (*mcp.ClientSession, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1.0.0"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: bearer{token, base}}}, nil)
}

type bearer struct {
	tok  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.tok)
	return b.base.RoundTrip(r)
}
