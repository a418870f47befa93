package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/web"
)

// TestDashboardFindings checks the estate dashboard's findings overview
// when posture runs: the exact count of unresolved findings (critical and
// high apart), the OWASP × severity matrix linking to the filtered list,
// and the daily trend; and that an owner's dashboard has none of it.
func TestDashboardFindings(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps, func(e *env, cfg *web.Config) { cfg.Pages = append(cfg.Pages, web.FindingsPage(e.caps.posture)) })
	ctx := context.Background()
	now := e.clock.Now()
	mk := func(id, owasp string, sev steward.Severity, status steward.FindingStatus) steward.FindingWrite {
		return steward.FindingWrite{Insert: true, Finding: &steward.Finding{ID: id, Key: id + ":" + e.deployer.ID, Check: "check." + id, Title: id, Severity: sev,
			Status: status, IdentityID: e.deployer.ID, OwnerID: e.alice.ID, OWASP: owasp, CSF: []string{"PR.AA-05"}, Evidence: map[string]any{},
			CreatedAt: now, UpdatedAt: now, FirstSeen: now}}
	}
	if err := e.store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		return tx.WriteFindings(ctx, []steward.FindingWrite{
			mk("fnd_1", "NHI7:2025", steward.SeverityHigh, steward.FindingOpen),
			mk("fnd_2", "NHI7", steward.SeverityHigh, steward.FindingAcknowledged),
			mk("fnd_3", "NHI1:2025", steward.SeverityLow, steward.FindingWaived),
			mk("fnd_4", "NHI2:2025", steward.SeverityCritical, steward.FindingResolved),
		})
	}); err != nil {
		t.Fatal(err)
	}
	for d, open := range []int64{9, 5, -1} { // -1: a day posture did not run
		if err := e.store.RecordDailyStats(ctx, steward.DailyStats{Day: now.Add(-time.Duration(3-d) * 24 * time.Hour), Identities: 3, Live: 3,
			OpenFindings: open, SevereFindings: 0}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.store.ListDailyStats(ctx, now.Add(-10*24*time.Hour))
	if err != nil || len(got) != 3 || got[0].OpenFindings != 9 || got[2].OpenFindings != -1 {
		t.Fatalf("daily stats round trip: %+v %v", got, err)
	}
	b := e.browser()
	b.signIn(steward.RoleAuditor)
	b.get("/")
	b.expect(200, "Open findings", "2 critical or high", "Unresolved findings by OWASP NHI Top 10 and severity",
		`href="/findings?owasp=NHI7&amp;severity=high"`, `href="/findings?owasp=NHI1&amp;severity=low"`, "Unresolved findings, last 90 days")
	b.lacks("NHI2", "NHI7:2025")
	b.get("/findings")
	b.expect(200, `href="/findings?owasp=NHI7&amp;severity=high"`)
	b.lacks("Counted over the first 1,000")

	o := e.browser()
	o.signIn(steward.RoleOwner)
	o.get("/")
	o.lacks("Unresolved findings by OWASP")
}
