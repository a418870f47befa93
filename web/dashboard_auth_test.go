package web_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/golden"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestDashboardAuthShare checks the estate dashboard's panel of federated
// against static authentications: weekly shares per environment drawn as
// a chart with a legend, the same numbers as tables (per environment, and
// per week in a disclosure), refused authentications and other usage left
// out; an owner's dashboard has none of it. The panel's HTML is a golden
// file: go test ./web -run DashboardAuthShare -update rewrites it.
func TestDashboardAuthShare(t *testing.T) {
	forEngines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := e.clock.Now()
		n := 0
		ev := func(daysAgo int, id, env, outcome, kind string, attrs map[string]string) steward.UsageEvent {
			n++
			return steward.UsageEvent{ID: fmt.Sprintf("use_share%04d", n), Time: now.Add(-time.Duration(daysAgo) * 24 * time.Hour).Truncate(time.Microsecond),
				Kind: kind, IdentityID: id, Environment: env, Action: "authenticate", Outcome: outcome, PolicyIDs: []string{}, Attributes: attrs}
		}
		fed := map[string]string{"federated_iss": "https://token.actions.githubusercontent.com", "federated_sub": "repo:acme/app:ref:refs/heads/main"}
		act := map[string]string{"act_sub": "nhi_agent"}
		var evs []steward.UsageEvent
		// prod moves from static secrets to federation over three weeks.
		for range 4 {
			evs = append(evs, ev(20, e.deployer.ID, "prod", "ok", steward.UsageAuth, nil))
		}
		evs = append(evs, ev(13, e.deployer.ID, "prod", "ok", steward.UsageAuth, nil), ev(13, e.deployer.ID, "prod", "ok", steward.UsageAuth, fed))
		for range 3 {
			evs = append(evs, ev(1, e.deployer.ID, "prod", "ok", steward.UsageAuth, fed))
		}
		evs = append(evs, ev(1, e.deployer.ID, "prod", "ok", steward.UsageAuth, act))
		// dev stays on a static key; an environment-less caller too.
		evs = append(evs, ev(6, e.bot.ID, "dev", "ok", steward.UsageAuth, nil), ev(0, "", "", "ok", steward.UsageAuth, nil))
		// Not counted: refused, decisions, ingested calls, older than 26 weeks.
		evs = append(evs, ev(1, e.deployer.ID, "prod", "revoked", steward.UsageAuth, fed), ev(1, e.deployer.ID, "prod", "allow", steward.UsageDecision, nil),
			ev(1, e.deployer.ID, "prod", "ok", steward.UsageIngest, nil), ev(200, e.deployer.ID, "prod", "ok", steward.UsageAuth, nil))
		if err := e.store.AppendUsage(ctx, evs); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn(steward.RoleAuditor)
		b.get("/")
		b.expect(200, "Federated against static authentications", "41.7% federated of 12", `<svg class="chart"`,
			`<span class="swatch s0" aria-hidden="true"></span>prod`, "Weekly federated share as a table")
		panel := `<section class="card" aria-labelledby="auth-h" id="auth-share">` + between(b.body, `<section class="card" aria-labelledby="auth-h" id="auth-share">`, `</section>`) + "</section>\n"
		if !strings.Contains(panel, "<table") {
			t.Fatalf("no panel in the dashboard:\n%s", b.body)
		}
		golden.Check(t, filepath.Join("testdata", "dashboard_auth.golden.html"), []byte(panel))

		o := e.browser()
		o.signIn(steward.RoleOwner)
		o.get("/")
		o.expect(200)
		o.lacks("Federated against static authentications")
	})
}

// TestDashboardAuthShareHiddenWithoutAuthentications keeps the panel out
// of an estate that has recorded no authentication.
func TestDashboardAuthShareHiddenWithoutAuthentications(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite)
	b := e.browser()
	b.signIn(steward.RoleAuditor)
	b.get("/")
	b.expect(200, "Estate overview")
	b.lacks("Federated against static authentications")
}
