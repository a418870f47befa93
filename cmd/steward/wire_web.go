package main

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/web"
)

// webConfig is the web section of steward.yaml.
type webConfig struct {
	// Enabled serves the console (default true).
	Enabled *bool `yaml:"enabled"`
	// SessionLifetime is how long a sign-in lasts (default 8h, at most 30d).
	SessionLifetime steward.Duration `yaml:"session_lifetime"`
}

// buildConsole builds the web console from the capabilities assembled
// before it, or nil when web.enabled is false.
func (a *app) buildConsole() (*web.Console, error) {
	wc := a.cfg.Web
	if wc.Enabled != nil && !*wc.Enabled {
		a.log.Info("web console disabled (web.enabled: false)")
		return nil, nil
	}
	lifetime := time.Duration(wc.SessionLifetime)
	switch {
	case lifetime == 0:
		lifetime = web.DefaultSessionLifetime
	case lifetime < time.Minute || lifetime > 30*24*time.Hour:
		return nil, fmt.Errorf("config web.session_lifetime: %s must be between 1m and 30d", wc.SessionLifetime)
	}
	c := web.Config{
		Identities: a.inventory, Owners: a.inventory, Authenticate: a.inventory.Authenticate, Stats: a.stats,
		Sessions: a.store, Dashboard: a.store, Policy: a.inventory.Policy(),
		Logger: a.log.With("component", "web"), SessionLifetime: lifetime, Version: version,
	}
	// Each capability's pages and sections, while it is wired. The access
	// reviews have their own routes (Reviews); the broker's credentials are
	// on each identity's page (Broker).
	if a.posture != nil {
		c.Findings, c.Reviews, c.ReviewDecisions = a.posture, a.posture, a.posture
		c.Pages = append(c.Pages, web.FindingsPage(a.posture))
	}
	if a.audit != nil {
		c.Pages = append(c.Pages, web.AuditPage(a.audit))
	}
	if a.alerts != nil {
		c.Alerts = a.alerts
		c.Pages = append(c.Pages, web.AlertsPage(a.alerts))
	}
	if a.discovery != nil {
		c.Pages = append(c.Pages, web.DiscoveryPage(a.discovery))
	}
	if a.pdp != nil {
		c.Policies, c.Usage = a.pdp, a.usageAPI
		c.Pages = append(c.Pages, web.PoliciesPage(a.pdp))
	}
	if a.broker != nil {
		c.Broker = a.broker
	}
	if a.federation != nil {
		c.Federation = a.federation
	}
	if a.rotation != nil {
		c.Rotations = a.rotation
	}
	return web.New(c)
}

// webHousekeeping computes the dashboard once at start (so no request waits
// for it), then records today's inventory snapshot and removes expired
// sessions, at start and every hour.
func webHousekeeping(ctx context.Context, a *app) {
	if err := a.console.Refresh(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("web: dashboard warm-up", "err", err)
	}
	everyTick(ctx, time.Hour, func() {
		now := time.Now().UTC()
		if st, err := a.stats(ctx); err == nil {
			d := steward.DailyStats{Day: now, Identities: st.Identities, Live: st.Identities - st.ByStatus[string(steward.StatusRevoked)],
				Unowned: st.Unowned, Orphaned: st.Orphaned, Expired: st.Expired, OpenFindings: -1, SevereFindings: -1}
			if a.posture != nil {
				if counts, err := a.posture.FindingMatrix(steward.WithPrincipal(ctx, steward.SystemPrincipal("web"))); err == nil {
					d.OpenFindings, d.SevereFindings = web.FindingTotals(counts)
				} else if ctx.Err() == nil {
					a.log.Warn("web: count findings", "err", err)
				}
			}
			if err := a.store.RecordDailyStats(ctx, d); err != nil && ctx.Err() == nil {
				a.log.Warn("web: record daily stats", "err", err)
			}
		} else if ctx.Err() == nil {
			a.log.Warn("web: inventory stats", "err", err)
		}
		if _, err := a.store.DeleteExpiredWebSessions(ctx, now); err != nil && ctx.Err() == nil {
			a.log.Warn("web: delete expired sessions", "err", err)
		}
	})
}
