package httpapi

// AlertsAPI is what the alerts routes need; cmd/steward sets it in Deps.
type AlertsAPI interface{}

// alertsRoutes lists the alerts capability's routes.
func alertsRoutes() []Route { return nil }

// alertsSchemas adds the alerts capability's OpenAPI schemas.
func alertsSchemas() map[string]any { return nil }
