package httpapi

import "net/http"

// mcpRoutes lists the MCP endpoint: Steward's own tools for assistants
// over Streamable HTTP (package mcp builds the handler, Deps.MCP). It sits
// behind the same authentication as the API, and each tool call acts as
// the caller, so the services authorize it as they authorize the API.
func mcpRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/mcp", Summary: "MCP over Streamable HTTP (stateless JSON-RPC): Steward's tools for assistants; tools/list shows the tools of the caller's role",
			Roles: anyone, Status: 200, Needs: CapMCP, handler: (*Server).handleMCP},
	}
}

func (s *Server) handleMCP() http.Handler { return s.MCP }
