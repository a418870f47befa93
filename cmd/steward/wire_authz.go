package main

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/usage"
)

// authzConfig is the authz section of steward.yaml.
type authzConfig struct {
	// Disabled turns the PDP and the usage log off (their routes answer 501).
	Disabled bool `yaml:"disabled"`
	// QueueSize bounds the usage events waiting to be written; when full,
	// events are dropped and counted (steward_usage_events_dropped_total).
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most usage events written per transaction.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is the longest a usage event waits to be written.
	FlushInterval steward.Duration `yaml:"flush_interval"`
	// PollInterval is how often a node checks for policy, entity and
	// identity changes made by any node (at most 500ms).
	PollInterval steward.Duration `yaml:"poll_interval"`
	// IdentityTTL bounds how long an identity is cached for decisions.
	IdentityTTL steward.Duration `yaml:"identity_ttl"`
	// Learning logs policy denies but answers permit (the guard still denies).
	Learning bool `yaml:"learning"`
}

// authzAPI joins the PDP and the usage service into httpapi.AuthzAPI.
type authzAPI struct {
	*authz.PDP
	*usage.Service
}

// wireAuthz wires the usage recorder and the policy decision point.
func wireAuthz(ctx context.Context, x *serverContext) error {
	c := x.cfg.Authz
	if c.Disabled {
		return nil
	}
	if c.PollInterval > steward.Duration(500*time.Millisecond) {
		return fmt.Errorf("config authz.poll_interval: at most 500ms, so policy changes reach every node within a second")
	}
	rec := usage.NewRecorder(usage.RecorderConfig{Store: x.store, QueueSize: c.QueueSize, BatchSize: c.BatchSize,
		FlushInterval: time.Duration(c.FlushInterval), Logger: x.log})
	x.usage = rec
	pdp, err := authz.New(ctx, authz.Config{Inventory: x.store, Store: x.store, Usage: rec, Logger: x.log,
		PollInterval: time.Duration(c.PollInterval), IdentityTTL: time.Duration(c.IdentityTTL), Learning: c.Learning})
	if err != nil {
		return fmt.Errorf("authz: %w", err)
	}
	svc := usage.New(usage.Config{Store: x.store, Inventory: x.store, Credentials: x.store, Recorder: rec})
	x.deps.Authz = authzAPI{pdp, svc}
	x.jobs = append(x.jobs, rec.Run, pdp.Run)
	x.closers = append(x.closers, func() {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec.Flush(fctx)
	})
	if c.Learning {
		x.log.Warn("authz learning mode: policy denies are logged but answered as permits")
	}
	return nil
}
