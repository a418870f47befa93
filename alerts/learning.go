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
		for _, d := range [...]struct{ dim, v string }{{"network", in.Network}, {"agent", in.Agent}, {"action", ev.Action},
			{"resource", in.Resource}, {"environment", ev.Environment}, {"workload", in.Workload}} {
			if !skip[d.dim] {
				b.set(d.dim).Add(d.v)
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
		if set := b.set(dim); set != nil {
			set.Add(s)
			continue
		}
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
		case dim == "hour" && n >= 0 && n < 24:
			b.Hours[n]++
		case dim == "day" && n >= 0 && n < 7:
			b.Days[n]++
		}
	}
	if a.Detector == DetRateSpike {
		// A legitimate burst: widen the spread the z-score divides by.
		b.Var = max(b.Var*4, b.Mean*b.Mean)
	}
	e.dirtyBase[a.IdentityID] = true
}
