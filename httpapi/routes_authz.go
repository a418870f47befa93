package httpapi

// AuthzAPI is what the authz routes need; cmd/steward sets it in Deps.
type AuthzAPI interface{}

// authzRoutes lists the authz capability's routes.
func authzRoutes() []Route { return nil }

// authzSchemas adds the authz capability's OpenAPI schemas.
func authzSchemas() map[string]any { return nil }
