package mcp

import (
	"context"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/httpapi"
)

// Remote returns the services of the Steward server c talks to: the typed
// HTTP clients the CLI uses. The server authenticates c's token and
// authorizes every call.
func Remote(c *httpapi.Client) Services {
	return Services{Inventory: c, Credentials: c.Broker(), Posture: c.Posture(), Alerts: c.Alerts(), Usage: c.Authz(), Access: c.Authz()}
}

// RemoteCaller asks the server who c's token is, to offer the tools of
// its role.
func RemoteCaller(ctx context.Context, c *httpapi.Client) (Caller, error) {
	var who struct {
		Role       steward.Role        `json:"role"`
		Kind       string              `json:"kind"`
		Delegation *steward.Delegation `json:"delegation"`
	}
	if err := c.DoJSON(ctx, "GET", "/api/v1/whoami", nil, &who); err != nil {
		return Caller{}, err
	}
	return Caller{Role: who.Role, NHI: who.Kind == "nhi", Delegated: who.Delegation != nil}, nil
}
