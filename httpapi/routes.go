package httpapi

import (
	"net/http"
	"slices"
)

// Route is one documented route of the API.
type Route struct {
	Method  string
	Path    string
	Summary string
	// Public routes need no token.
	Public bool
	// Roles that may call it (documentation; the services enforce it).
	Roles   string
	Request string   // schema name of the JSON body, if any
	Query   []string // documented query parameters
	Reply   string   // schema name of the success body
	Status  int      // success status
	// Needs is the capability the route serves; while it is not
	// configured the route answers 501 (see Server.wrap).
	Needs Capability
	// Errors is how the route writes errors (problem+json by default).
	Errors  ErrorStyle
	handler func(s *Server) http.Handler
}

// Routes lists every route Steward serves. The OpenAPI document is built
// from this list and a test checks both ways that the document and the mux
// agree. Each capability keeps its routes in its own file.
func Routes() []Route {
	return slices.Concat(coreRoutes(), discoveryRoutes(), auditRoutes(), brokerRoutes(), authzRoutes(), postureRoutes(), provisioningRoutes(), alertsRoutes())
}

func coreRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness: the process is up", Public: true, Reply: "Health", Status: 200, handler: (*Server).handleHealthz},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: the database answers", Public: true, Reply: "Health", Status: 200, handler: (*Server).handleReadyz},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics", Public: true, Status: 200, handler: (*Server).handleMetrics},
		{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This OpenAPI 3.1 document", Public: true, Status: 200, handler: (*Server).handleOpenAPI},

		{Method: "GET", Path: "/api/v1/whoami", Summary: "The authenticated caller", Roles: "any", Reply: "Whoami", Status: 200, handler: (*Server).handleWhoami},
		{Method: "GET", Path: "/api/v1/stats", Summary: "Inventory counts", Roles: "admin, operator, auditor", Reply: "InventoryStats", Status: 200, handler: (*Server).handleStats},

		{Method: "POST", Path: "/api/v1/owners", Summary: "Create an owner", Roles: "admin, operator", Request: "OwnerCreate", Reply: "Owner", Status: 201, handler: (*Server).handleCreateOwner},
		{Method: "GET", Path: "/api/v1/owners", Summary: "List owners", Roles: "any", Reply: "OwnerPage", Status: 200, handler: (*Server).handleListOwners},
		{Method: "GET", Path: "/api/v1/owners/{id}", Summary: "Get an owner", Roles: "any", Reply: "Owner", Status: 200, handler: (*Server).handleGetOwner},
		{Method: "PATCH", Path: "/api/v1/owners/{id}", Summary: "Change an owner", Roles: "admin, operator", Request: "OwnerPatch", Reply: "Owner", Status: 200, handler: (*Server).handleUpdateOwner},
		{Method: "POST", Path: "/api/v1/owners/{id}/depart", Summary: "Mark an owner departed; lists the identities it owned", Roles: "admin, operator", Request: "Reason", Reply: "Departure", Status: 200, handler: (*Server).handleDepartOwner},

		{Method: "POST", Path: "/api/v1/identities", Summary: "Register an identity", Roles: "admin, operator, owner (own)", Request: "IdentityCreate", Reply: "Identity", Status: 201, handler: (*Server).handleCreateIdentity},
		{Method: "GET", Path: "/api/v1/identities", Summary: "List identities with filters and cursor pagination", Roles: "any (owner: own)", Reply: "IdentityPage", Status: 200, handler: (*Server).handleListIdentities},
		{Method: "GET", Path: "/api/v1/identities/{id}", Summary: "Get an identity", Roles: "any (owner: own)", Reply: "Identity", Status: 200, handler: (*Server).handleGetIdentity},
		{Method: "PATCH", Path: "/api/v1/identities/{id}", Summary: "Change an identity", Roles: "admin, operator, owner (own)", Request: "IdentityPatch", Reply: "Identity", Status: 200, handler: (*Server).handleUpdateIdentity},
		{Method: "DELETE", Path: "/api/v1/identities/{id}", Summary: "Delete a pending identity", Roles: "admin, operator, owner (own)", Status: 204, handler: (*Server).handleDeleteIdentity},
		{Method: "POST", Path: "/api/v1/identities/{id}/activate", Summary: "Activate a pending identity", Roles: "admin, operator, owner (own)", Request: "Transition", Reply: "Identity", Status: 200, handler: transitionHandler("activate")},
		{Method: "POST", Path: "/api/v1/identities/{id}/suspend", Summary: "Suspend an active identity", Roles: "admin, operator, owner (own)", Request: "Transition", Reply: "Identity", Status: 200, handler: transitionHandler("suspend")},
		{Method: "POST", Path: "/api/v1/identities/{id}/resume", Summary: "Resume a suspended identity", Roles: "admin, operator, owner (own)", Request: "Transition", Reply: "Identity", Status: 200, handler: transitionHandler("resume")},
		{Method: "POST", Path: "/api/v1/identities/{id}/revoke", Summary: "Revoke an identity and its credentials (final)", Roles: "admin, operator, owner (own)", Request: "Transition", Reply: "Identity", Status: 200, handler: transitionHandler("revoke")},
		{Method: "GET", Path: "/api/v1/identities/{id}/events", Summary: "An identity's change history", Roles: "any (owner: own)", Reply: "EventPage", Status: 200, handler: (*Server).handleIdentityEvents},
		{Method: "GET", Path: "/api/v1/identities/{id}/credentials", Summary: "An identity's credentials (metadata and fingerprints)", Roles: "any (owner: own)", Reply: "CredentialList", Status: 200, handler: (*Server).handleIdentityCredentials},

		{Method: "GET", Path: "/api/v1/events", Summary: "List events (filters: since, until, actor, identity_id, action)", Roles: "any (owner: own)", Reply: "EventPage", Status: 200, handler: (*Server).handleListEvents},

		{Method: "POST", Path: "/api/v1/import/{format}", Summary: "Import a provider export (body: the file)", Roles: "admin, operator", Request: "File", Reply: "ImportSummary", Status: 200, handler: (*Server).handleImport},

		{Method: "POST", Path: "/api/v1/tokens", Summary: "Mint an operator token (shown once)", Roles: "admin", Request: "TokenCreate", Reply: "CreatedToken", Status: 201, handler: (*Server).handleCreateToken},
		{Method: "GET", Path: "/api/v1/tokens", Summary: "List operator tokens", Roles: "admin, auditor", Reply: "TokenList", Status: 200, handler: (*Server).handleListTokens},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Summary: "Revoke an operator token", Roles: "admin", Reply: "Token", Status: 200, handler: (*Server).handleRevokeToken},
	}
}

func (s *Server) routes() {
	for _, rt := range Routes() {
		h := s.wrap(rt)
		if !rt.Public {
			h = s.authenticate(h)
		}
		s.Handle(rt.Method+" "+rt.Path, h)
	}
	// Anything else under the API is a problem+json 404 rather than text.
	s.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		statusProblem(w, r, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	}))
}
