package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
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

// wirePosture wires the posture capability into the server: the engine,
// its background loop and the HTTP API (findings, schedules, reviews,
// offboarding via SCIM and Okta, evidence packs).
func wirePosture(ctx context.Context, x *serverContext) error {
	pc := x.cfg.Posture
	if pc.Disabled {
		return nil
	}
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
			return fmt.Errorf("config posture.office_cidrs[%d]: %q is not a CIDR prefix", n, c)
		}
		cc.OfficeCIDRs = append(cc.OfficeCIDRs, p)
	}
	if pc.Poll > steward.Duration(2*time.Second) {
		return fmt.Errorf("config posture.poll: must be at most 2s so posture follows a change within 5s")
	}
	dryRun := true
	if pc.Dormancy.DryRun != nil {
		dryRun = *pc.Dormancy.DryRun
	}
	reassign := 14
	if pc.Offboarding.ReassignDays != nil {
		if *pc.Offboarding.ReassignDays < 0 {
			return fmt.Errorf("config posture.offboarding.reassign_days: must not be negative")
		}
		reassign = *pc.Offboarding.ReassignDays
	}
	suspend := true
	if pc.Offboarding.Suspend != nil {
		suspend = *pc.Offboarding.Suspend
	}
	opts := posture.Options{
		Store: x.store, Inventory: x.svc, Policy: x.svc.Policy(), Logger: x.log, Config: cc, Usage: x.store,
		Dormancy:    posture.DormancyPolicy{Enabled: pc.Dormancy.Enforce, DryRun: dryRun, Grace: time.Duration(pc.Dormancy.Grace)},
		Offboarding: posture.OffboardingPolicy{ReassignWithin: time.Duration(reassign) * 24 * time.Hour, Suspend: suspend, Rotate: pc.Offboarding.Rotate},
		ReviewDays:  pc.ReviewDays,
		SCIMToken:   x.g.getenv("STEWARD_SCIM_TOKEN"),
		OktaSecret:  x.g.getenv("STEWARD_OKTA_HOOK_SECRET"),
	}
	if reassign == 0 {
		opts.Offboarding.ReassignWithin = time.Nanosecond
	}
	if dr, ok := any(x.store).(steward.DiscoveryReader); ok {
		opts.Discovery = &sightings{r: dr}
	}
	if x.notify != nil {
		opts.Notifier = postureNotifier{n: x.notify, store: x.store}
	}
	if x.auditSigner != nil {
		opts.Signer = audit.Message{S: x.auditSigner}
	}
	e := posture.New(opts)
	x.deps.Posture = e
	x.jobs = append(x.jobs, func(ctx context.Context) {
		e.Run(ctx, posture.LoopOptions{Poll: time.Duration(pc.Poll), Interval: time.Duration(pc.Interval), Digest: time.Duration(pc.Digest)})
	})
	return nil
}

// sightings adapts the scanner's stored sightings to posture discoveries,
// caching the open ones for a short while (full runs ask batch by batch).
type sightings struct {
	r    steward.DiscoveryReader
	mu   sync.Mutex
	at   time.Time
	byID map[string][]posture.Discovery
}

func (s *sightings) DiscoveriesFor(ctx context.Context, ids []string) (map[string][]posture.Discovery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil || time.Since(s.at) > 30*time.Second {
		m := map[string][]posture.Discovery{}
		f := steward.SightingFilter{Status: "open", Limit: steward.MaxLimit}
		for {
			p, err := s.r.ListSightings(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, d := range p.Items {
				if d.IdentityID == "" {
					continue
				}
				m[d.IdentityID] = append(m[d.IdentityID], posture.Discovery{IdentityID: d.IdentityID, CredentialID: d.CredentialID,
					Fingerprint: d.Fingerprint, Rule: d.Rule, Repository: d.Repository, File: d.File, Line: d.Line, Managed: d.Managed,
					Status: d.Status, FirstSeen: d.FirstSeen})
			}
			if p.NextCursor == "" {
				break
			}
			f.Cursor = p.NextCursor
		}
		s.byID, s.at = m, time.Now()
	}
	out := map[string][]posture.Discovery{}
	for _, id := range ids {
		if d := s.byID[id]; d != nil {
			out[id] = d
		}
	}
	return out, nil
}

// postureNotifier sends posture's notifications (offboarding notices,
// digests, reviews) through the alert sinks, one per owner.
type postureNotifier struct {
	n     steward.Notifier
	store steward.Store
}

func (p postureNotifier) Notify(ctx context.Context, n posture.Notification) error {
	fields := map[string]string{}
	for k, v := range n.Data {
		fields[k] = fmt.Sprint(v)
	}
	owners := n.OwnerIDs
	if len(owners) == 0 {
		owners = []string{""}
	}
	var errs []error
	for _, o := range owners {
		sn := steward.Notification{Kind: n.Kind, Severity: "info", Title: n.Subject, Body: n.Body, OwnerID: o, Time: time.Now().UTC(), Fields: fields}
		if o != "" {
			if own, err := p.store.GetOwner(ctx, o); err == nil {
				sn.Team = own.Team
				if own.Email != "" {
					sn.Fields = maps.Clone(fields)
					sn.Fields["owner_email"] = own.Email
				}
			}
		}
		if n.Kind == "offboarding" {
			sn.Severity = "high"
		}
		errs = append(errs, p.n.Notify(ctx, sn))
	}
	return errors.Join(errs...)
}
