package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/sqlstore"
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

// newRecorder builds the usage log's batched writer.
func newRecorder(c authzConfig, store *sqlstore.Store, log *slog.Logger) (*usage.Recorder, error) {
	if c.PollInterval > steward.Duration(500*time.Millisecond) {
		return nil, fmt.Errorf("config authz.poll_interval: at most 500ms, so policy changes reach every node within a second")
	}
	return usage.NewRecorder(usage.RecorderConfig{Store: store, QueueSize: c.QueueSize, BatchSize: c.BatchSize,
		FlushInterval: time.Duration(c.FlushInterval), Logger: log}), nil
}

// newPDP builds the policy decision point; its decisions go into the
// usage pipeline.
func newPDP(ctx context.Context, c authzConfig, store *sqlstore.Store, pipeline steward.UsagePipeline, changes *steward.Changes, log *slog.Logger) (*authz.PDP, error) {
	pdp, err := authz.New(ctx, authz.Config{Inventory: store, Store: store, Usage: pipeline, Logger: log, Changes: changes,
		PollInterval: time.Duration(c.PollInterval), IdentityTTL: time.Duration(c.IdentityTTL), Learning: c.Learning})
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	if c.Learning {
		log.Warn("authz learning mode: policy denies are logged but answered as permits")
	}
	return pdp, nil
}
