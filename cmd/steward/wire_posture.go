package main

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/posture"
)

// postureConfig is the posture section of steward.yaml.
type postureConfig struct {
	// Disabled turns posture off (default: on).
	Disabled bool `yaml:"disabled"`
	// Poll is how often the event chain is checked for changes (≤ 2s).
	Poll steward.Duration `yaml:"poll"`
	// Interval is how often the full evaluation and sweeps run.
	Interval steward.Duration `yaml:"interval"`
	// Digest is how often owners get a digest (0: never).
	Digest          steward.Duration `yaml:"digest"`
	UnusedScopeDays int              `yaml:"unused_scope_days"`
	ReuseSources    int              `yaml:"reuse_sources"`
	MaxExtensions   int              `yaml:"max_extensions"`
	OfficeCIDRs     []string         `yaml:"office_cidrs"`
	ReviewDays      int              `yaml:"review_days"`
	Dormancy        struct {
		Enforce bool             `yaml:"enforce"`
		DryRun  *bool            `yaml:"dry_run"` // default true
		Grace   steward.Duration `yaml:"grace"`
	} `yaml:"dormancy"`
	Offboarding struct {
		ReassignDays *int  `yaml:"reassign_days"` // default 14
		Suspend      *bool `yaml:"suspend"`       // default true
		Rotate       bool  `yaml:"rotate"`
	} `yaml:"offboarding"`
}

// postureOptions turns the posture section into the engine's options;
// assemble adds the store, the sources and the sinks.
func postureOptions(pc postureConfig, getenv func(string) string) (posture.Options, error) {
	cc := posture.DefaultConfig()
	if pc.UnusedScopeDays > 0 {
		cc.UnusedScopeDays = pc.UnusedScopeDays
	}
	if pc.ReuseSources > 0 {
		cc.ReuseSources = pc.ReuseSources
	}
	if pc.MaxExtensions > 0 {
		cc.MaxExtensions = pc.MaxExtensions
	}
	for n, c := range pc.OfficeCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return posture.Options{}, fmt.Errorf("config posture.office_cidrs[%d]: %q is not a CIDR prefix", n, c)
		}
		cc.OfficeCIDRs = append(cc.OfficeCIDRs, p)
	}
	if pc.Poll > steward.Duration(2*time.Second) {
		return posture.Options{}, fmt.Errorf("config posture.poll: must be at most 2s so posture follows a change within 5s")
	}
	dryRun := true
	if pc.Dormancy.DryRun != nil {
		dryRun = *pc.Dormancy.DryRun
	}
	reassign := 14
	if pc.Offboarding.ReassignDays != nil {
		if *pc.Offboarding.ReassignDays < 0 {
			return posture.Options{}, fmt.Errorf("config posture.offboarding.reassign_days: must not be negative")
		}
		reassign = *pc.Offboarding.ReassignDays
	}
	suspend := true
	if pc.Offboarding.Suspend != nil {
		suspend = *pc.Offboarding.Suspend
	}
	opts := posture.Options{
		Config:      cc,
		Dormancy:    posture.DormancyPolicy{Enabled: pc.Dormancy.Enforce, DryRun: dryRun, Grace: time.Duration(pc.Dormancy.Grace)},
		Offboarding: posture.OffboardingPolicy{ReassignWithin: time.Duration(reassign) * 24 * time.Hour, Suspend: suspend, Rotate: pc.Offboarding.Rotate},
		ReviewDays:  pc.ReviewDays,
		SCIMToken:   getenv("STEWARD_SCIM_TOKEN"),
		OktaSecret:  getenv("STEWARD_OKTA_HOOK_SECRET"),
	}
	if reassign == 0 {
		opts.Offboarding.ReassignWithin = time.Nanosecond
	}
	return opts, nil
}

// postureLoop is how often posture follows the chain, runs in full and
// sends digests.
func postureLoop(pc postureConfig) posture.LoopOptions {
	return posture.LoopOptions{Poll: time.Duration(pc.Poll), Interval: time.Duration(pc.Interval), Digest: time.Duration(pc.Digest)}
}
