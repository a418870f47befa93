package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/web"
)

// webConfig is the web section of steward.yaml.
type webConfig struct {
	// Enabled serves the console (default true).
	Enabled *bool `yaml:"enabled"`
	// SessionLifetime is how long a sign-in lasts (default 8h, at most 30d).
	SessionLifetime steward.Duration `yaml:"session_lifetime"`
}

// wireWeb mounts the web console on the server (x.deps.Mount) and runs its
// housekeeping: a daily inventory snapshot for the trends and the removal
// of expired sessions.
func wireWeb(ctx context.Context, x *serverContext) error {
	wc := x.cfg.Web
	if wc.Enabled != nil && !*wc.Enabled {
		x.log.Info("web console disabled (web.enabled: false)")
		return nil
	}
	lifetime := time.Duration(wc.SessionLifetime)
	switch {
	case lifetime == 0:
		lifetime = web.DefaultSessionLifetime
	case lifetime < time.Minute || lifetime > 30*24*time.Hour:
		return fmt.Errorf("config web.session_lifetime: %s must be between 1m and 30d", wc.SessionLifetime)
	}
	stats := func(ctx context.Context) (*steward.InventoryStats, error) {
		return x.store.InventoryStats(ctx, time.Now())
	}
	console, err := web.New(web.Config{
		Identities: x.svc, Owners: x.svc, Authenticate: x.svc.Authenticate, Stats: stats,
		Sessions: x.store, Dashboard: x.store, Policy: x.svc.Policy(),
		Logger: x.log.With("component", "web"), SessionLifetime: lifetime, Version: version,
		Pages: webPages(x), Findings: findingsOf(x), Alerts: alertsOf(x), Usage: usageOf(x), Policies: policiesOf(x), Broker: brokerOf(x),
		Reviews: reviewsOf(x), ReviewDecisions: reviewDecisionsOf(x),
	})
	if err != nil {
		return err
	}
	x.deps.Mount = append(x.deps.Mount, func(mux *http.ServeMux, s *httpapi.Server) { console.Register(s.Handle) })
	x.jobs = append(x.jobs, func(ctx context.Context) { webHousekeeping(ctx, x, console, stats) })
	return nil
}

// webPages lists the console pages of capabilities that are wired.
func webPages(x *serverContext) []web.Page {
	var pages []web.Page
	if f := findingsOf(x); f != nil {
		pages = append(pages, web.FindingsPage(f))
	}
	if a, ok := x.deps.Audit.(web.AuditReader); ok && a != nil {
		pages = append(pages, web.AuditPage(a))
	}
	if a := alertsOf(x); a != nil {
		pages = append(pages, web.AlertsPage(a))
	}
	if x.discovery != nil {
		pages = append(pages, web.DiscoveryPage(x.discovery))
	}
	if p := policiesOf(x); p != nil {
		pages = append(pages, web.PoliciesPage(p))
	}
	// The access reviews have their own routes (web.Config.Reviews); the
	// broker's credentials are on each identity's page (web.Config.Broker).
	return pages
}

// The capabilities the console shows, each nil while it is not wired (a
// nil interface in Deps fails the assertion).

func findingsOf(x *serverContext) web.FindingsReader {
	f, _ := x.deps.Posture.(web.FindingsReader)
	return f
}

func alertsOf(x *serverContext) web.AlertsReader {
	a, _ := x.deps.Alerts.(web.AlertsReader)
	return a
}

func policiesOf(x *serverContext) web.PoliciesReader {
	p, _ := x.deps.Authz.(web.PoliciesReader)
	return p
}

func brokerOf(x *serverContext) web.CredentialBroker {
	b, _ := x.deps.Broker.(web.CredentialBroker)
	return b
}

func reviewsOf(x *serverContext) web.ReviewsReader {
	r, _ := x.deps.Posture.(web.ReviewsReader)
	return r
}

func reviewDecisionsOf(x *serverContext) web.ReviewDecider {
	d, _ := x.deps.Posture.(web.ReviewDecider)
	return d
}

func usageOf(x *serverContext) web.UsageReader {
	u, _ := x.deps.Authz.(web.UsageReader)
	return u
}

// webHousekeeping computes the dashboard once at start (so no request waits
// for it), then records today's inventory snapshot and removes expired
// sessions, at start and every hour.
func webHousekeeping(ctx context.Context, x *serverContext, console *web.Console, stats func(context.Context) (*steward.InventoryStats, error)) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	if err := console.Refresh(ctx); err != nil && ctx.Err() == nil {
		x.log.Warn("web: dashboard warm-up", "err", err)
	}
	for {
		now := time.Now().UTC()
		if st, err := stats(ctx); err == nil {
			d := steward.DailyStats{Day: now, Identities: st.Identities, Live: st.Identities - st.ByStatus[string(steward.StatusRevoked)],
				Unowned: st.Unowned, Orphaned: st.Orphaned, Expired: st.Expired, OpenFindings: -1, SevereFindings: -1}
			if m, ok := x.deps.Posture.(web.FindingMatrixReader); ok && m != nil {
				if counts, err := m.FindingMatrix(steward.WithPrincipal(ctx, steward.SystemPrincipal("web"))); err == nil {
					d.OpenFindings, d.SevereFindings = web.FindingTotals(counts)
				} else if ctx.Err() == nil {
					x.log.Warn("web: count findings", "err", err)
				}
			}
			if err := x.store.RecordDailyStats(ctx, d); err != nil && ctx.Err() == nil {
				x.log.Warn("web: record daily stats", "err", err)
			}
		} else if ctx.Err() == nil {
			x.log.Warn("web: inventory stats", "err", err)
		}
		if _, err := x.store.DeleteExpiredWebSessions(ctx, now); err != nil && ctx.Err() == nil {
			x.log.Warn("web: delete expired sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
