package main

import "context"

// alertsConfig is the alerts section of steward.yaml.
type alertsConfig struct{}

// wireAlerts wires the alerts capability into the server.
func wireAlerts(ctx context.Context, x *serverContext) error { return nil }
