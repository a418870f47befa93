package main

import "context"

// auditConfig is the audit section of steward.yaml.
type auditConfig struct{}

// wireAudit wires the audit capability into the server.
func wireAudit(ctx context.Context, x *serverContext) error { return nil }
