package main

import "context"

// postureConfig is the posture section of steward.yaml.
type postureConfig struct{}

// wirePosture wires the posture capability into the server.
func wirePosture(ctx context.Context, x *serverContext) error { return nil }
