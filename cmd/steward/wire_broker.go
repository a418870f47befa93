package main

import "context"

// brokerConfig is the broker section of steward.yaml.
type brokerConfig struct{}

// wireBroker wires the broker capability into the server.
func wireBroker(ctx context.Context, x *serverContext) error { return nil }
