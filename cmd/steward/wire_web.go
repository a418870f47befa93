package main

import "context"

// webConfig is the web section of steward.yaml.
type webConfig struct{}

// wireWeb mounts the web console (x.deps.Mount).
func wireWeb(ctx context.Context, x *serverContext) error { return nil }
