package httpapi

// PostureAPI is what the posture routes need; cmd/steward sets it in Deps.
type PostureAPI interface{}

// postureRoutes lists the posture capability's routes.
func postureRoutes() []Route { return nil }

// postureSchemas adds the posture capability's OpenAPI schemas.
func postureSchemas() map[string]any { return nil }
