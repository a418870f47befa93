package alerts

// What the engine knows about an event's subject: the identity's inventory
// facts (cached for Config.SubjectTTL), bounded caches of parsed networks,
// user agents and resources, and the windows of failed authentications.
// All of it is owned by the Run goroutine.

import (
	"context"
	"time"

	"github.com/steward-nhi/steward"
)

type subjectEntry struct {
	subject Subject
	at      time.Time
}

type credEntry struct {
	cred *steward.Credential
	at   time.Time
}

type failWindow struct {
	times []time.Time
}

type agentInfo struct {
	family      string
	interactive bool
}

func (e *Engine) subject(ctx context.Context, id, credID string) *Subject {
	now := e.clock
	if now.IsZero() {
		now = time.Now()
	}
	ent := e.subjects[id]
	if ent == nil || now.Sub(ent.at) > e.cfg.SubjectTTL {
		var s Subject
		if i, err := e.cfg.Inventory.GetIdentity(ctx, id); err == nil {
			s.Identity = i
			if i.OwnerID != "" {
				if o, err := e.cfg.Inventory.GetOwner(ctx, i.OwnerID); err == nil && o.Status == steward.OwnerDeparted {
					s.OwnerDeparted = true
				}
			}
		} else if steward.ErrorCode(err) != steward.ENOTFOUND {
			e.cfg.Logger.Warn("alerts: read identity", "identity_id", id, "err", err)
		}
		ent = &subjectEntry{subject: s, at: now}
		e.subjects[id] = ent
	}
	if credID == "" {
		return &ent.subject
	}
	s := ent.subject
	ce := e.creds[credID]
	if ce == nil || now.Sub(ce.at) > e.cfg.SubjectTTL {
		c, err := e.cfg.Inventory.GetCredential(ctx, credID)
		if err != nil {
			c = nil
		}
		ce = &credEntry{cred: c, at: now}
		e.creds[credID] = ce
	}
	s.Credential = ce.cred
	return &s
}

// cached returns f(k) through a bounded cache.
func cached(m map[string]string, k string, f func(string) string) string {
	if v, ok := m[k]; ok {
		return v
	}
	v := f(k)
	if len(m) >= 10000 {
		clear(m)
	}
	m[k] = v
	return v
}

func (e *Engine) agent(ua string) (string, bool) {
	if a, ok := e.agents[ua]; ok {
		return a.family, a.interactive
	}
	f, i := UAFamily(ua)
	if len(e.agents) > 10000 {
		clear(e.agents)
	}
	e.agents[ua] = agentInfo{f, i}
	return f, i
}

// countFailure records a failed authentication and returns how many fell
// in the window ending at t.
func (e *Engine) countFailure(key string, t time.Time) int {
	w := e.failures[key]
	if w == nil {
		w = &failWindow{}
		e.failures[key] = w
	}
	cut := t.Add(-e.cfg.Limits.AuthFailureWindow)
	k := 0
	for k < len(w.times) && !w.times[k].After(cut) {
		k++
	}
	w.times = append(w.times[k:], t)
	if len(w.times) > 4*e.cfg.Limits.AuthFailures {
		w.times = w.times[len(w.times)-4*e.cfg.Limits.AuthFailures:]
	}
	return len(w.times)
}
