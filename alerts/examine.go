package alerts

// The per-event pass: build the detectors' Input, run the detectors, group
// or raise what they signal, and learn the event into the baseline.

import (
	"context"

	"github.com/steward-nhi/steward"
)

var emptyBaseline Baseline

func (e *Engine) process(ctx context.Context, ev *steward.UsageEvent) {
	e.processed.Add(1)
	if ev.Time.After(e.streamTime) {
		e.streamTime = ev.Time
	}
	in := &e.input
	*in = Input{Event: ev, Limits: e.cfg.Limits, Base: &emptyBaseline}
	var b *Baseline
	if ev.IdentityID != "" {
		in.Subject = e.subject(ctx, ev.IdentityID, ev.CredentialID)
		b = e.baseline(ev.IdentityID)
		in.Base = b
		in.Learned = b.Learned(e.cfg.LearningPeriod, e.cfg.MinEvents, ev.Time)
	}
	in.Network = cached(e.networks, ev.Source, Network)
	in.Agent, in.Interactive = e.agent(ev.UserAgent)
	in.Resource = cached(e.resources, ev.Resource, normalizeResource)
	in.Workload = workloadOf(ev.Attributes)
	stateUse := ev.Outcome == "revoked" || ev.Outcome == "expired"
	if failedAuth(ev) {
		key := ev.IdentityID
		if key == "" {
			key = "src:" + ev.Source
		}
		in.Failures = e.countFailure(key, ev.Time)
	} else if b != nil && !stateUse {
		in.MinuteCount = b.observeRate(ev.Time)
	}
	var skip map[string]bool
	for i := range e.detectors {
		d := &e.detectors[i]
		if b == nil && d.Name != DetAuthFailures {
			continue
		}
		s := d.Detect(in)
		if s == nil {
			continue
		}
		if d.Name == DetRateSpike {
			b.SpikedAt = b.Minute
		}
		for dim := range s.Learn {
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[dim] = true
		}
		if b != nil && e.pending(b, s) {
			continue
		}
		if a := e.raise(ctx, d, s, in); a != nil && b != nil && len(s.Learn) > 0 && len(b.Pending) < maxPending {
			if b.Pending == nil {
				b.Pending = map[string]string{}
			}
			for dim, v := range s.Learn {
				b.Pending[pendingKey(dim, v)] = a.ID
			}
			e.dirtyBase[ev.IdentityID] = true
		}
	}
	if b == nil || !used(ev) || stateUse {
		return
	}
	e.learn(b, in, skip)
	e.dirtyBase[ev.IdentityID] = true
}
