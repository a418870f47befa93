package alerts

// Incidents: detector hits are grouped per identity and detector within
// Config.Window into one live alert; new and changed alerts are written in
// batches, and groups that are over are pruned.

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

func bump(s steward.Severity) steward.Severity {
	switch s {
	case steward.SeverityMedium:
		return steward.SeverityHigh
	case steward.SeverityLow:
		return steward.SeverityMedium
	}
	return s
}

// raise groups s into the live alert of its detector and subject, or
// opens, notifies and answers a new alert, which it returns.
func (e *Engine) raise(ctx context.Context, d *Detector, s *Signal, in *Input) *steward.Alert {
	ev := in.Event
	e.mOccurrences.WithLabelValues(d.Name).Inc()
	subjectKey := ev.IdentityID
	if subjectKey == "" {
		subjectKey = "src:" + ev.Source
	}
	key := d.Name + ":" + subjectKey
	sev := s.Severity
	var ident *steward.Identity
	if in.Subject != nil {
		ident = in.Subject.Identity
	}
	if ident != nil && ident.Sensitivity == steward.SensitivityCritical {
		sev = bump(sev)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if a := e.live[key]; a != nil && a.Status.Live() && ev.Time.Sub(a.LastSeen) < e.cfg.Window && a.FirstSeen.Sub(ev.Time) < e.cfg.Window {
		a.Count++
		if ev.Time.After(a.LastSeen) {
			a.LastSeen = ev.Time
		}
		if steward.SeverityRank(sev) > steward.SeverityRank(a.Severity) {
			a.Severity = sev
		}
		a.UpdatedAt = now
		e.dirtyAlert[a.ID] = a
		return nil
	}
	evidence := maps.Clone(s.Evidence)
	if evidence == nil {
		evidence = map[string]any{}
	}
	if len(s.Learn) > 0 {
		evidence["learn"] = s.Learn
	}
	evidence["event_time"] = ev.Time
	if ev.Kind != "" {
		evidence["event_kind"] = ev.Kind
	}
	owasp := d.OWASP
	if s.OWASP != "" {
		owasp = s.OWASP
	}
	at := ev.Time.UTC().Truncate(time.Microsecond)
	a := &steward.Alert{ID: ids.New("alr_", now), Key: key, Detector: d.Name, Title: s.Title, Severity: sev, Status: steward.AlertOpen,
		IdentityID: ev.IdentityID, CredentialID: ev.CredentialID, Environment: ev.Environment, Evidence: evidence, OWASP: owasp,
		CSF: slices.Clone(d.CSF), FirstSeen: at, LastSeen: at, Count: 1, UpdatedAt: now}
	if ident != nil {
		a.OwnerID, a.Team, a.Sensitivity = ident.OwnerID, ident.Team, ident.Sensitivity
		if ident.Environment != "" {
			a.Environment = ident.Environment
		}
	}
	e.live[key], e.byID[a.ID], e.dirtyAlert[a.ID] = a, a, a
	e.mAlerts.WithLabelValues(d.Name, string(sev)).Inc()
	n := Notification(a, ident)
	if err := e.cfg.Notifier.Notify(ctx, n); err != nil {
		e.cfg.Logger.Warn("alerts: notify", "alert_id", a.ID, "err", err)
	}
	e.respond(ctx, a, n)
	return a
}

// pending reports whether every value s calls new already has an unjudged
// alert; the occurrence is then counted in that alert when it is in
// memory.
func (e *Engine) pending(b *Baseline, s *Signal) bool {
	if len(s.Learn) == 0 || len(b.Pending) == 0 {
		return false
	}
	id := ""
	for dim, v := range s.Learn {
		a, ok := b.Pending[pendingKey(dim, v)]
		if !ok {
			return false
		}
		id = a
	}
	if a := e.byID[id]; a != nil && a.Status.Live() {
		a.Count++
		if t := e.input.Event.Time; t.After(a.LastSeen) {
			a.LastSeen = t
		}
		a.UpdatedAt = e.clock
		e.dirtyAlert[a.ID] = a
	}
	return true
}

func (e *Engine) flushAlerts(ctx context.Context) {
	if len(e.dirtyAlert) == 0 {
		return
	}
	batch := make([]*steward.Alert, 0, len(e.dirtyAlert))
	for _, a := range e.dirtyAlert {
		c := *a
		batch = append(batch, &c)
	}
	if err := e.cfg.Store.SaveAlerts(ctx, batch); err != nil {
		e.cfg.Logger.Error("alerts: save", "alerts", len(batch), "err", err)
		return
	}
	clear(e.dirtyAlert)
}

// prune forgets grouping entries and failure windows that are over.
func (e *Engine) prune() {
	now := e.streamTime
	if wall := e.cfg.Now(); wall.After(now) {
		now = wall
	}
	for k, a := range e.live {
		if now.Sub(a.LastSeen) > e.cfg.Window || !a.Status.Live() {
			delete(e.live, k)
			if e.dirtyAlert[a.ID] == nil {
				delete(e.byID, a.ID)
			}
		}
	}
	for k, w := range e.failures {
		if len(w.times) == 0 || now.Sub(w.times[len(w.times)-1]) > e.cfg.Limits.AuthFailureWindow {
			delete(e.failures, k)
		}
	}
}
