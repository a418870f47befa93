package main

import (
	"net/http"

	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/mcp"
)

// newMCP builds /mcp: the MCP tools over the in-process services, each
// call acting as the authenticated caller. A capability that is off
// leaves its tools out.
func newMCP(a *app) http.Handler {
	svc := mcp.Services{Inventory: a.inventory}
	if a.broker != nil {
		svc.Credentials = a.broker
	}
	if a.posture != nil {
		svc.Posture = a.posture
	}
	if a.alerts != nil {
		svc.Alerts = a.alerts
	}
	if a.usageAPI != nil {
		svc.Usage = a.usageAPI
	}
	if a.pdp != nil {
		svc.Access = a.pdp
		svc.Tools = a.pdp
	}
	return mcp.Handler(svc, mcp.HandlerOptions{Logger: a.log, MaxBodyBytes: httpapi.MaxBodyBytes, Version: version})
}
