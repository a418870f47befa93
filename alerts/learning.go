package alerts

// Baselines: learning events into them, persisting the changed ones, the
// silence sweep over them, and people's verdicts (feedback) that teach them.

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/steward-nhi/steward"
)

type feedback struct {
	alert *steward.Alert
}

func (e *Engine) baseline(id string) *Baseline {
	b := e.baselines[id]
	if b == nil {
		b = &Baseline{}
		e.baselines[id] = b
	}
	return b
}

// learn adds the event to the baseline, except the values an alert just
// called new: those are learned only when a person marks the alert a
// false positive.
func (e *Engine) learn(b *Baseline, in *Input, skip map[string]bool) {
	ev := in.Event
	if b.Events == 0 || ev.Time.Before(b.First) {
		b.First = ev.Time
	}
	if ev.Time.After(b.Last) {
		b.Last = ev.Time
	}
	b.Events++
	if skip == nil {
		b.Networks.Add(in.Network)
		b.Agents.Add(in.Agent)
		b.Actions.Add(ev.Action)
		b.Resources.Add(in.Resource)
		b.Envs.Add(ev.Environment)
		b.Workloads.Add(in.Workload)
	} else {
		for _, d := range []struct {
			dim string
			s   *Set
			v   string
		}{{"network", &b.Networks, in.Network}, {"agent", &b.Agents, in.Agent}, {"action", &b.Actions, ev.Action},
			{"resource", &b.Resources, in.Resource}, {"environment", &b.Envs, ev.Environment}, {"workload", &b.Workloads, in.Workload}} {
			if !skip[d.dim] {
				d.s.Add(d.v)
			}
		}
	}
	t := ev.Time.UTC()
	if !skip["hour"] && !skip["day"] {
		b.Hours[t.Hour()]++
		b.Days[t.Weekday()]++
	}
}

func (e *Engine) flushBaselines(ctx context.Context) {
	if len(e.dirtyBase) == 0 {
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]steward.Baseline, 0, len(e.dirtyBase))
	for id := range e.dirtyBase {
		data, err := json.Marshal(e.baselines[id])
		if err != nil {
			continue
		}
		batch = append(batch, steward.Baseline{IdentityID: id, Data: data, UpdatedAt: now})
	}
	if err := e.cfg.Store.SaveBaselines(ctx, batch); err != nil {
		e.cfg.Logger.Error("alerts: save baselines", "baselines", len(batch), "err", err)
		return
	}
	clear(e.dirtyBase)
}

// SweepSilence raises a silence alert for each learned, normally busy
// identity that has been quiet since long before now.
func (e *Engine) SweepSilence(ctx context.Context, now time.Time) {
	if slices.Contains(e.cfg.Disabled, DetSilence) {
		return
	}
	for id, b := range e.baselines {
		s := detectSilence(b, now, b.Learned(e.cfg.LearningPeriod, e.cfg.MinEvents, now), e.cfg.Limits)
		if s == nil {
			continue
		}
		b.SilentSince = b.Last.Unix()
		e.dirtyBase[id] = true
		ev := &steward.UsageEvent{Time: now, IdentityID: id}
		in := Input{Event: ev, Base: b, Subject: e.subject(ctx, id, ""), Learned: true, Limits: e.cfg.Limits}
		e.raise(ctx, &SilenceDetector, s, &in)
	}
}

// applyFeedback takes a person's verdict on an alert: a final status ends
// the grouping; a false positive teaches the baseline what the alert
// called new.
func (e *Engine) applyFeedback(a *steward.Alert) {
	if cur := e.live[a.Key]; cur != nil && cur.ID == a.ID && !a.Status.Live() {
		delete(e.live, a.Key)
	}
	if m := e.byID[a.ID]; m != nil {
		m.Status = a.Status
	}
	if a.Status.Live() || a.IdentityID == "" {
		return
	}
	b := e.baseline(a.IdentityID)
	for k, id := range b.Pending {
		if id == a.ID {
			delete(b.Pending, k)
			e.dirtyBase[a.IdentityID] = true
		}
	}
	if a.Status != steward.AlertFalsePositive {
		return
	}
	learn, _ := a.Evidence["learn"].(map[string]any)
	if learn == nil {
		if m, ok := a.Evidence["learn"].(map[string]string); ok {
			learn = map[string]any{}
			for k, v := range m {
				learn[k] = v
			}
		}
	}
	for dim, v := range learn {
		s, _ := v.(string)
		switch dim {
		case "network":
			b.Networks.Add(s)
		case "agent":
			b.Agents.Add(s)
		case "action":
			b.Actions.Add(s)
		case "resource":
			b.Resources.Add(s)
		case "environment":
			b.Envs.Add(s)
		case "workload":
			b.Workloads.Add(s)
		case "hour":
			if h, err := strconv.Atoi(s); err == nil && h >= 0 && h < 24 {
				b.Hours[h]++
			}
		case "day":
			if d, err := strconv.Atoi(s); err == nil && d >= 0 && d < 7 {
				b.Days[d]++
			}
		}
	}
	if a.Detector == DetRateSpike {
		// A legitimate burst: widen the spread the z-score divides by.
		b.Var = max(b.Var*4, b.Mean*b.Mean)
	}
	e.dirtyBase[a.IdentityID] = true
}
