package httpapi

// BrokerAPI is what the broker routes need; cmd/steward sets it in Deps.
type BrokerAPI interface{}

// brokerRoutes lists the broker capability's routes.
func brokerRoutes() []Route { return nil }

// brokerSchemas adds the broker capability's OpenAPI schemas.
func brokerSchemas() map[string]any { return nil }
