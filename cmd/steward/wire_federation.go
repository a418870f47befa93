package main

import (
	"fmt"
	"log/slog"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/sqlstore"
)

// federationConfig is the federation section of steward.yaml.
type federationConfig struct {
	// Disabled turns trusted issuers and token exchange off.
	Disabled bool `yaml:"disabled"`
	// MaxDelegationDepth bounds agent delegation chains (default 2).
	MaxDelegationDepth int `yaml:"max_delegation_depth"`
}

// newFederation builds the federation service on the broker, or nil when
// it is off or the broker is.
// Operator tokens (the inventory's) may delegate to agents.
func newFederation(c federationConfig, store *sqlstore.Store, b *broker.Broker, ops federation.Operators, pipeline steward.UsagePipeline, changes *steward.Changes, log *slog.Logger) (*federation.Service, error) {
	if c.Disabled || b == nil {
		return nil, nil
	}
	f, err := federation.New(federation.Config{Store: store, Broker: b, Usage: pipeline, Logger: log, Changes: changes, MaxDelegationDepth: c.MaxDelegationDepth, Operators: ops})
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	return f, nil
}
