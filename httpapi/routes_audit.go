package httpapi

// AuditAPI is what the audit routes need; cmd/steward sets it in Deps.
type AuditAPI interface{}

// auditRoutes lists the audit capability's routes.
func auditRoutes() []Route { return nil }

// auditSchemas adds the audit capability's OpenAPI schemas.
func auditSchemas() map[string]any { return nil }
