package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/web"
)

// seedActivity gives identity a (alice-deployer) usage, an alert, an open
// and a resolved finding, and a suspension, at known times after Base:
//
//	+10m finding opened (resolved +40m)   +30m finding opened
//	+45m usage, revoked credential         +48..50m usage, ok
//	+55m alert (first seen +45m)           +60m suspended
func seedActivity(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	base := sqltest.Base
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	e.usageEvents(e.deployer.ID, 3, at(50), "ok")
	e.usageEvents(e.deployer.ID, 1, at(45), "revoked")
	e.usageEvents(e.bot.ID, 2, at(50), "ok") // another identity's
	if err := e.store.SaveAlerts(ctx, []*steward.Alert{{ID: "alr_1", Key: "revoked_use:" + e.deployer.ID, Detector: "revoked_use", Title: "Use of a revoked credential",
		Severity: steward.SeverityCritical, Status: steward.AlertOpen, IdentityID: e.deployer.ID, OwnerID: e.alice.ID, Evidence: map[string]any{}, OWASP: "NHI2:2025",
		CSF: []string{"DE.CM-01"}, FirstSeen: at(45), LastSeen: at(55), Count: 2, UpdatedAt: at(55)}}); err != nil {
		t.Fatal(err)
	}
	resolved := at(40)
	finding := func(id, check, title string, first time.Time, status steward.FindingStatus, res *time.Time) steward.FindingWrite {
		return steward.FindingWrite{Insert: true, Finding: &steward.Finding{ID: id, Key: check + ":" + e.deployer.ID, Check: check, Title: title, Severity: steward.SeverityHigh,
			Status: status, IdentityID: e.deployer.ID, OwnerID: e.alice.ID, OWASP: "NHI7", CSF: []string{"PR.AA-05"}, Evidence: map[string]any{}, Remediation: "Rotate it.",
			CreatedAt: first, UpdatedAt: first, FirstSeen: first, ResolvedAt: res}}
	}
	if err := e.store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		return tx.WriteFindings(ctx, []steward.FindingWrite{
			finding("fnd_1", "rotation.overdue", "Rotation overdue", at(30), steward.FindingOpen, nil),
			finding("fnd_2", "no_expiry", "No expiry", at(10), steward.FindingResolved, &resolved),
		})
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(at(60).Sub(e.clock.Now()))
	if _, err := e.svc.TransitionIdentity(sys(), e.deployer.ID, steward.TransitionSuspend, steward.TransitionRequest{Reason: "investigating"}); err != nil {
		t.Fatal(err)
	}
}

func kinds(items []timelineItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Kind)
	}
	return out
}

func TestIdentityTimeline(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	seedActivity(t, e)
	if _, err := e.caps.pdp.PutPolicy(admin(), "deployer-reads", `permit (principal == nhi::"`+e.deployer.ID+`", action == Action::"s3:GetObject", resource);`, "least privilege"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.caps.pdp.PutPolicy(admin(), "others", `permit (principal == nhi::"`+e.bot.ID+`", action, resource);`, "other"); err != nil {
		t.Fatal(err)
	}
	path := "/identities/" + e.deployer.ID
	tests := []struct {
		name  string
		role  steward.Role
		query string
		want  []string // kinds, newest first
		has   []string // page text
		lacks []string
	}{
		{"merges changes, usage, alerts and findings newest first", steward.RoleAdmin, "",
			[]string{"change", "alert", "usage", "usage", "usage", "usage", "finding", "finding", "finding", "change"},
			[]string{"Use of a revoked credential", "Rotation overdue", "Finding resolved", "s3:GetObject", `href="/identities/` + e.deployer.ID + `/usage"`,
				`href="/alerts?identity_id=` + e.deployer.ID + `"`, "deployer-reads"},
			[]string{"others"}},
		{"shows one kind when asked", steward.RoleAdmin, "?show=usage", []string{"usage", "usage", "usage", "usage"}, []string{`aria-current="true"`}, nil},
		{"shows the changes alone", steward.RoleAdmin, "?show=changes", []string{"change", "change"}, nil, []string{"Use of a revoked credential"}},
		{"an auditor sees the same timeline", steward.RoleAuditor, "",
			[]string{"change", "alert", "usage", "usage", "usage", "usage", "finding", "finding", "finding", "change"}, []string{"deployer-reads"}, nil},
		// Owners read their own identity's usage; the policies that name
		// it are for staff and left out.
		{"an owner sees its identity without the parts its role may not read", steward.RoleOwner, "",
			[]string{"change", "alert", "usage", "usage", "usage", "usage", "finding", "finding", "finding", "change"},
			[]string{"Use of a revoked credential", "s3:GetObject"}, []string{"deployer-reads"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browserFor(t)
			b.signIn(tc.role)
			b.get(path + tc.query)
			b.expect(http.StatusOK, tc.has...)
			b.lacks(tc.lacks...)
			items := timeline(b.body)
			if got := kinds(items); !slices.Equal(got, tc.want) {
				t.Fatalf("timeline kinds %q, want %q\n%+v", got, tc.want, items)
			}
			for n := 1; n < len(items); n++ {
				if items[n].Time > items[n-1].Time {
					t.Errorf("entry %d (%s %s) is newer than entry %d (%s)", n, items[n].Kind, items[n].Time, n-1, items[n-1].Time)
				}
			}
			for _, it := range items {
				var want string
				switch it.Kind {
				case "usage":
					want = "/identities/" + e.deployer.ID + "/usage#use-"
				case "alert":
					want = "/alerts?identity_id=" + e.deployer.ID + "#alert-alr_1"
				case "finding":
					want = "/findings?identity_id=" + e.deployer.ID
				}
				if !strings.HasPrefix(it.Href, want) {
					t.Errorf("%s entry %q links to %q, want %s…", it.Kind, it.Text, it.Href, want)
				}
			}
		})
	}
	t.Run("a revoked credential's use is marked bad", func(t *testing.T) {
		b := e.browserFor(t)
		b.signIn(steward.RoleAdmin)
		b.get(path + "?show=usage")
		if !strings.Contains(b.body, `<li class="ev-bad" data-kind="usage" data-action="usage.auth">`) {
			t.Fatalf("no bad usage entry:\n%s", b.body)
		}
	})
	t.Run("each kind is limited and links to the rest", func(t *testing.T) {
		e.usageEvents(e.deployer.ID, 70, sqltest.Base.Add(59*time.Minute), "ok")
		b := e.browserFor(t)
		b.signIn(steward.RoleAdmin)
		b.get(path)
		n := 0
		for _, k := range kinds(timeline(b.body)) {
			if k == "usage" {
				n++
			}
		}
		if n != 50 {
			t.Fatalf("%d usage entries, want 50", n)
		}
		b.expect(http.StatusOK, `href="/identities/`+e.deployer.ID+`/usage">All usage`)
	})
	t.Run("the usage page lists every event with pagination", func(t *testing.T) {
		b := e.browserFor(t)
		b.signIn(steward.RoleAuditor)
		b.get(path + "/usage")
		b.expect(http.StatusOK, "Usage of alice-deployer", "aws-cli/2", "10.1.2.3", `rel="next"`)
		b.lacks("bob-bot")
		if n := strings.Count(b.body, `<tr id="use-`); n != 50 {
			t.Fatalf("%d rows on the first usage page, want 50", n)
		}
		next := hrefRE.FindAllStringSubmatch(b.body[strings.Index(b.body, `class="pager"`):], -1)
		b.get(strings.ReplaceAll(next[0][1], "&amp;", "&"))
		b.expect(http.StatusOK)
		if n := strings.Count(b.body, `<tr id="use-`); n != 24 {
			t.Fatalf("%d rows on the second usage page, want 24", n)
		}
		b.get("/identities/" + e.bot.ID + "/usage")
		b.expect(http.StatusOK, "Usage of bob-bot")
	})
}

func TestIdentityPageWithSomeCapabilities(t *testing.T) {
	only := func(set func(e *env, cfg *web.Config)) func(e *env, cfg *web.Config) {
		return func(e *env, cfg *web.Config) {
			var all web.Config
			withCaps(e, &all)
			set(e, cfg)
		}
	}
	tests := []struct {
		name   string
		wire   func(e *env, cfg *web.Config)
		kinds  []string
		has    []string
		lacks  []string
		served string // of the usage and reviews pages
	}{
		{"with none the timeline shows the changes", func(*env, *web.Config) {}, []string{"change", "change"},
			[]string{"Timeline", "Suspended"},
			[]string{"Use of a revoked credential", "Open findings", "Rotate", "Policies naming", `href="/reviews"`, `class="chips"`}, ""},
		{"with alerts alone they join the changes", only(func(e *env, cfg *web.Config) { cfg.Alerts = e.store }), []string{"change", "alert", "change"},
			[]string{"Use of a revoked credential", `?show=alerts#timeline`}, []string{`?show=usage`, "Open findings", `href="/reviews"`}, ""},
		{"with the broker alone its keys offer rotation", only(func(e *env, cfg *web.Config) { cfg.Broker = e.caps.broker }), []string{"change", "change", "change"},
			[]string{`id="rotate-`, "Credential issued"}, []string{`class="chips"`, `href="/reviews"`}, ""},
		{"with reviews alone the navigation links them", only(func(e *env, cfg *web.Config) { cfg.Reviews = e.caps.posture }), []string{"change", "change"},
			[]string{`href="/reviews"`}, []string{`class="chips"`, "Rotate"}, "/reviews"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sqltest.OpenSQLite, tc.wire)
			seedActivity(t, e)
			if e.caps != nil {
				if _, err := e.svc.TransitionIdentity(sys(), e.deployer.ID, steward.TransitionResume, steward.TransitionRequest{Reason: "cleared"}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.caps.broker.Issue(admin(), e.deployer.ID, broker.IssueRequest{}); err != nil {
					t.Fatal(err)
				}
			}
			b := e.browserFor(t)
			b.signIn(steward.RoleAdmin)
			b.get("/identities/" + e.deployer.ID)
			b.expect(http.StatusOK, tc.has...)
			b.lacks(tc.lacks...)
			got := kinds(timeline(b.body))
			if e.caps != nil { // resumed and issued: two more changes
				got = slices.DeleteFunc(got, func(k string) bool { return k == "change" })
				want := slices.DeleteFunc(slices.Clone(tc.kinds), func(k string) bool { return k == "change" })
				if !slices.Equal(got, want) {
					t.Fatalf("timeline kinds %q, want %q besides the changes", got, want)
				}
			} else if !slices.Equal(got, tc.kinds) {
				t.Fatalf("timeline kinds %q, want %q", got, tc.kinds)
			}
			for _, p := range []string{"/identities/" + e.deployer.ID + "/usage", "/reviews"} {
				b.get(p)
				if want := p == tc.served; (b.status == http.StatusOK) != want {
					t.Errorf("%s answers %d (served: %v)", p, b.status, want)
				}
			}
		})
	}
}

func TestTimelineOlderEvents(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	seedActivity(t, e)
	for n := range 55 {
		if _, err := e.svc.UpdateIdentity(sys(), e.deployer.ID, steward.IdentityPatch{Purpose: steward.Some(fmt.Sprintf("purpose %d", n)), Reason: "churn"}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browserFor(t)
	b.signIn(steward.RoleAdmin)
	b.get("/identities/" + e.deployer.ID)
	m := regexp.MustCompile(`href="(/identities/[^"]+\?events=[^"]+)"`).FindStringSubmatch(b.body)
	if m == nil {
		t.Fatalf("no link to older events:\n%s", b.body)
	}
	b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	b.expect(http.StatusOK)
	got := kinds(timeline(b.body))
	if len(got) == 0 || slices.ContainsFunc(got, func(k string) bool { return k != "change" }) {
		t.Fatalf("older events page shows %q, want changes only", got)
	}
}
