package mcp

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward"
)

// HandlerOptions tune Handler.
type HandlerOptions struct {
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body (413 beyond).
	MaxBodyBytes int64
	// Version is Steward's, reported in the implementation info.
	Version string
}

// Handler serves the tools over Streamable HTTP, in process. It runs
// behind the API's authentication: every request carries its principal in
// its context (steward.PrincipalFrom), re-authenticated on each request,
// so a revoked token is refused at its next call. tools/list shows the
// tools of the principal's role, and each tool call acts as that
// principal. Sessions are stateless (any node of a cluster answers any
// request), and a session opened by one principal is refused to another.
func Handler(svc Services, opts HandlerOptions) http.Handler {
	var mu sync.Mutex
	servers := map[Caller]*sdk.Server{}
	serverFor := func(r *http.Request) *sdk.Server {
		p := steward.PrincipalFrom(r.Context())
		if p == nil {
			return nil
		}
		c := Caller{Role: p.Role, NHI: p.IsNHI(), Delegated: p.Delegation != nil}
		mu.Lock()
		defer mu.Unlock()
		if servers[c] == nil {
			servers[c] = NewServer(svc, c, opts.Version)
		}
		return servers[c]
	}
	h := sdk.NewStreamableHTTPHandler(serverFor, &sdk.StreamableHTTPOptions{
		Stateless: true, JSONResponse: true, Logger: opts.Logger, MaxRequestBodyBytes: opts.MaxBodyBytes,
		// Every request needs a bearer token, which a page that rebinds
		// DNS to a local server does not hold; the check would refuse a
		// server reached through a local reverse proxy.
		DisableLocalhostProtection: true,
	})
	// The SDK hands the token info of each HTTP request to the tool
	// handlers; the verifier only carries the principal the API's
	// authentication already established.
	carry := auth.RequireBearerToken(func(_ context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		p := steward.PrincipalFrom(r.Context())
		if p == nil {
			return nil, auth.ErrInvalidToken
		}
		return tokenInfo(p), nil
	}, nil)
	return carry(h)
}
