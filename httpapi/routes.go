package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/steward-nhi/steward"
)

// Route is one documented route of the API.
type Route struct {
	Method  string
	Path    string
	Summary string
	// Public routes need no token; Auth says how they authenticate
	// instead, if at all (a SCIM token, a hook secret).
	Public bool
	Auth   string
	// Who may call an authenticated route. The services enforce it; the
	// OpenAPI text is generated from it, and the authorization matrix test
	// checks every route against it. Roles may act on any resource; Own
	// lets the owner role act on its own identities' resources; NHI lets
	// any NHI credential call, Scope one holding that scope.
	Roles   []steward.Role
	Own     bool
	NHI     bool
	Scope   string
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

// Role sets of the route tables.
var (
	anyone   = []steward.Role{steward.RoleAdmin, steward.RoleOperator, steward.RoleAuditor, steward.RoleOwner}
	staff    = []steward.Role{steward.RoleAdmin, steward.RoleOperator, steward.RoleAuditor}
	writers  = []steward.Role{steward.RoleAdmin, steward.RoleOperator}
	auditors = []steward.Role{steward.RoleAdmin, steward.RoleAuditor}
	admins   = []steward.Role{steward.RoleAdmin}
)

// Allows reports whether the route admits principal p (ownership of the
// resource aside: Own admits the owner role, and the service checks that
// the resource is its own).
func (rt Route) Allows(p *steward.Principal) bool {
	switch {
	case p == nil:
		return false
	case p.IsNHI() && (rt.NHI || (rt.Scope != "" && p.HasScope(rt.Scope))):
		return true
	case p.IsNHI() && (p.Delegation == nil || p.Role == ""):
		return false
	// An agent a person delegated to acts within that person's role.
	case p.Role == steward.RoleOwner && rt.Own:
		return true
	}
	return slices.Contains(rt.Roles, p.Role)
}

// admit refuses, at the edge, a caller the route does not admit. The
// services check roles and ownership too; this makes a route whose
// service forgets a check fail closed, as declared.
func admit(rt Route, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := steward.PrincipalFrom(r.Context()); !rt.Allows(p) {
			who := "this caller"
			switch {
			case p.IsNHI():
				who = "an NHI credential"
			case p != nil:
				who = "role " + string(p.Role)
			}
			Error(w, r, steward.Errorf(steward.EFORBIDDEN, "%s may not call %s %s (it admits %s)", who, rt.Method, rt.Path, rt.Access()))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Access describes who may call the route, in words.
func (rt Route) Access() string {
	if rt.Public {
		return rt.Auth
	}
	var who []string
	for _, r := range rt.Roles {
		who = append(who, string(r))
	}
	if rt.Own && !slices.Contains(rt.Roles, steward.RoleOwner) {
		who = append(who, "owner (own)")
	}
	switch {
	case rt.NHI:
		who = append(who, "an NHI credential")
	case rt.Scope != "":
		who = append(who, "an NHI credential with scope "+rt.Scope)
	}
	return strings.Join(who, ", ")
}

// Routes lists every route Steward serves. The OpenAPI document is built
// from this list and a test checks both ways that the document and the mux
// agree. Each capability keeps its routes in its own file.
func Routes() []Route {
	return slices.Concat(coreRoutes(), discoveryRoutes(), auditRoutes(), brokerRoutes(), authzRoutes(), postureRoutes(), provisioningRoutes(), alertsRoutes(), federationRoutes(), custodyRoutes(), mcpRoutes(), debugRoutes())
}

func coreRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness: the process is up", Public: true, Reply: "Health", Status: 200, handler: (*Server).handleHealthz},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: the database answers", Public: true, Reply: "Health", Status: 200, handler: (*Server).handleReadyz},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics; a staff token is required when metrics.require_auth is on (the default off loopback)", Public: true,
			Auth: "public on a loopback address; a staff token (admin, operator, auditor) when metrics.require_auth is on", Status: 200, handler: (*Server).handleMetrics},
		{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This OpenAPI 3.1 document", Public: true, Reply: "OpenAPIDocument", Status: 200, handler: (*Server).handleOpenAPI},

		{Method: "GET", Path: "/api/v1/whoami", Summary: "The authenticated caller", Roles: anyone, NHI: true, Reply: "Whoami", Status: 200, handler: (*Server).handleWhoami},
		{Method: "GET", Path: "/api/v1/stats", Summary: "Inventory counts", Roles: staff, Reply: "InventoryStats", Status: 200, handler: (*Server).handleStats},

		{Method: "POST", Path: "/api/v1/owners", Summary: "Create an owner", Roles: writers, Request: "OwnerCreate", Reply: "Owner", Status: 201, handler: (*Server).handleCreateOwner},
		{Method: "GET", Path: "/api/v1/owners", Summary: "List owners", Roles: anyone, Reply: "OwnerPage", Status: 200, handler: (*Server).handleListOwners},
		{Method: "GET", Path: "/api/v1/owners/{id}", Summary: "Get an owner", Roles: anyone, Reply: "Owner", Status: 200, handler: (*Server).handleGetOwner},
		{Method: "PATCH", Path: "/api/v1/owners/{id}", Summary: "Change an owner", Roles: writers, Request: "OwnerPatch", Reply: "Owner", Status: 200, handler: (*Server).handleUpdateOwner},
		{Method: "POST", Path: "/api/v1/owners/{id}/depart", Summary: "Mark an owner departed; lists the identities it owned", Roles: writers, Request: "Reason", Reply: "Departure", Status: 200, handler: (*Server).handleDepartOwner},

		{Method: "POST", Path: "/api/v1/identities", Summary: "Register an identity", Roles: writers, Own: true, Request: "IdentityCreate", Reply: "Identity", Status: 201, handler: (*Server).handleCreateIdentity},
		{Method: "GET", Path: "/api/v1/identities", Summary: "List identities with filters and cursor pagination", Roles: staff, Own: true, Reply: "IdentityPage", Status: 200, handler: (*Server).handleListIdentities},
		{Method: "GET", Path: "/api/v1/identities/{id}", Summary: "Get an identity", Roles: staff, Own: true, Reply: "Identity", Status: 200, handler: (*Server).handleGetIdentity},
		{Method: "PATCH", Path: "/api/v1/identities/{id}", Summary: "Change an identity", Roles: writers, Own: true, Request: "IdentityPatch", Reply: "Identity", Status: 200, handler: (*Server).handleUpdateIdentity},
		{Method: "DELETE", Path: "/api/v1/identities/{id}", Summary: "Delete a pending identity", Roles: writers, Own: true, Status: 204, handler: (*Server).handleDeleteIdentity},
		{Method: "POST", Path: "/api/v1/identities/{id}/activate", Summary: "Activate a pending identity", Roles: writers, Own: true, Request: "Transition", Reply: "Identity", Status: 200, handler: transitionHandler("activate")},
		{Method: "POST", Path: "/api/v1/identities/{id}/suspend", Summary: "Suspend an active identity", Roles: writers, Own: true, Request: "Transition", Reply: "Identity", Status: 200, handler: transitionHandler("suspend")},
		{Method: "POST", Path: "/api/v1/identities/{id}/resume", Summary: "Resume a suspended identity", Roles: writers, Own: true, Request: "Transition", Reply: "Identity", Status: 200, handler: transitionHandler("resume")},
		{Method: "POST", Path: "/api/v1/identities/{id}/revoke", Summary: "Revoke an identity and its credentials (final)", Roles: writers, Own: true, Request: "Transition", Reply: "Identity", Status: 200, handler: transitionHandler("revoke")},
		{Method: "GET", Path: "/api/v1/identities/{id}/events", Summary: "An identity's change history", Roles: staff, Own: true, Reply: "EventPage", Status: 200, handler: (*Server).handleIdentityEvents},
		{Method: "GET", Path: "/api/v1/identities/{id}/credentials", Summary: "An identity's credentials (metadata and fingerprints)", Roles: staff, Own: true, Reply: "CredentialList", Status: 200, handler: (*Server).handleIdentityCredentials},

		{Method: "GET", Path: "/api/v1/events", Summary: "List events (filters: since, until, actor, identity_id, action)", Roles: staff, Own: true, Reply: "EventPage", Status: 200, handler: (*Server).handleListEvents},

		{Method: "POST", Path: "/api/v1/import/{format}", Summary: "Import a provider export (body: the file)", Roles: writers, Request: "File", Reply: "ImportSummary", Status: 200, handler: (*Server).handleImport},

		{Method: "POST", Path: "/api/v1/tokens", Summary: "Mint an operator token (shown once)", Roles: admins, Request: "TokenCreate", Reply: "CreatedToken", Status: 201, handler: (*Server).handleCreateToken},
		{Method: "GET", Path: "/api/v1/tokens", Summary: "List operator tokens", Roles: auditors, Reply: "TokenList", Status: 200, handler: (*Server).handleListTokens},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Summary: "Revoke an operator token", Roles: admins, Reply: "Token", Status: 200, handler: (*Server).handleRevokeToken},
	}
}

// apiCatchAll is the pattern of the API's problem+json 404.
const apiCatchAll = "/api/"

func (s *Server) routes() {
	for _, rt := range Routes() {
		h := s.wrap(rt)
		if rt.Path == "/metrics" && s.MetricsRequireAuth {
			rt.Public, rt.Roles = false, staff
		}
		if !rt.Public {
			h = s.authenticate(admit(rt, h))
		}
		s.Handle(rt.Method+" "+rt.Path, h)
	}
	// Anything else under the API is a problem+json 404 rather than text.
	s.Handle(apiCatchAll, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		statusProblem(w, r, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	}))
}
