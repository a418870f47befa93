package httpapi

import "net/http"

// mcpRoutes lists the MCP endpoint: Steward's own tools for assistants
// over Streamable HTTP (package mcp builds the handler, Deps.MCP). It sits
// behind the same authentication as the API, and each tool call acts as
// the caller, so the services authorize it as they authorize the API.
func mcpRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/mcp", Summary: "MCP over Streamable HTTP (stateless JSON-RPC): Steward's tools for assistants; tools/list shows the tools of the caller's role",
			Roles: anyone, Request: "JSONRPCMessage", Reply: "JSONRPCMessage", Status: 200, Needs: CapMCP, handler: (*Server).handleMCP},
	}
}

func (s *Server) handleMCP() http.Handler { return s.MCP }

// mcpSchemas describes the JSON-RPC 2.0 messages /mcp exchanges (MCP's
// own schema defines the params and results of each method).
func mcpSchemas() obj {
	return obj{"JSONRPCMessage": object(obj{"jsonrpc": obj{"type": "string", "enum": []string{"2.0"}}, "id": obj{"oneOf": []obj{str(), {"type": "integer"}}},
		"method": str(), "params": obj{"type": "object"}, "result": obj{"type": "object"}, "error": object(obj{"code": obj{"type": "integer"}, "message": str(), "data": obj{}}, "code", "message")}, "jsonrpc")}
}
