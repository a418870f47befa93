package main

import "context"

// authzConfig is the authz section of steward.yaml.
type authzConfig struct{}

// wireAuthz wires the authz capability into the server.
func wireAuthz(ctx context.Context, x *serverContext) error { return nil }
