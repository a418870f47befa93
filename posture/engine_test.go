package posture_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/evidence"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/testrec"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

type notes = testrec.Notifier

type env struct {
	t     *testing.T
	ctx   context.Context // admin
	store steward.PostureStore
	svc   *inventory.Service
	clk   *clock.Fake
	e     *posture.Engine
	notes *notes
}

func newEnv(t *testing.T, open func(testing.TB) steward.Store, mod func(o *posture.Options)) *env {
	t.Helper()
	s := open(t).(steward.PostureStore)
	clk := clock.NewFake(sqltest.Base)
	svc := inventory.New(inventory.Config{Store: s, Clock: clk})
	n := &notes{}
	o := posture.Options{Store: s, Inventory: svc, Clock: clk, Notifier: n}
	if mod != nil {
		mod(&o)
	}
	admin := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})
	return &env{t: t, ctx: admin, store: s, svc: svc, clk: clk, e: posture.New(o), notes: n}
}

func (v *env) owner(name string, mod func(o *steward.Owner)) *steward.Owner {
	v.t.Helper()
	o := &steward.Owner{Name: name, Email: strings.ToLower(name) + "@example.com", ExternalRef: "okta:00u" + strings.ToLower(name)}
	if mod != nil {
		mod(o)
	}
	out, err := v.svc.CreateOwner(v.ctx, o)
	if err != nil {
		v.t.Fatal(err)
	}
	return out
}

func (v *env) identity(name, owner string, mod func(i *steward.Identity)) *steward.Identity {
	v.t.Helper()
	used := v.clk.Now()
	exp := v.clk.Now().Add(30 * 24 * time.Hour)
	i := &steward.Identity{Name: name, Kind: steward.KindServiceAccount, Provider: "steward", OwnerID: owner, LastUsedAt: &used, ExpiresAt: &exp, LastRotatedAt: &used}
	if owner == "" {
		i.UnownedReason = "test fixture"
	}
	if mod != nil {
		mod(i)
	}
	out, err := v.svc.CreateIdentity(v.ctx, i)
	if err != nil {
		v.t.Fatal(err)
	}
	return out
}

func (v *env) findings(f steward.FindingFilter) []*steward.Finding {
	v.t.Helper()
	p, err := v.e.ListFindings(v.ctx, f)
	if err != nil {
		v.t.Fatal(err)
	}
	return p.Items
}

func (v *env) one(identityID, check string) *steward.Finding {
	v.t.Helper()
	fs := v.findings(steward.FindingFilter{IdentityID: identityID, Check: check})
	if len(fs) != 1 {
		v.t.Fatalf("%s findings of %s: %d", check, identityID, len(fs))
	}
	return fs[0]
}

func (v *env) run() *steward.PostureRun {
	v.t.Helper()
	r, err := v.e.FullRun(v.ctx)
	if err != nil {
		v.t.Fatal(err)
	}
	return r
}

func TestFindingLifecycle(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			v := newEnv(t, eng.Open, nil)
			ada := v.owner("Ada", nil)
			unowned := v.identity("orphan-key", "", nil)
			fine := v.identity("good-key", ada.ID, nil)
			r := v.run()
			if r.Opened == 0 || r.Identities != 2 {
				t.Fatalf("first run %+v", r)
			}
			f := v.one(unowned.ID, "owner.missing")
			if f.Status != steward.FindingOpen || f.OWASP != "NHI1" || !slices.Equal(f.CSF, []string{"GV.RR-02", "PR.AA-01"}) || f.Severity != steward.SeverityMedium {
				t.Fatalf("finding %+v", f)
			}
			if n := len(v.findings(steward.FindingFilter{IdentityID: fine.ID})); n != 0 {
				t.Fatalf("a well-kept identity has %d findings", n)
			}
			if again := v.run(); again.Opened != 0 || again.Resolved != 0 {
				t.Fatalf("a second run changes nothing: %+v", again)
			}
			// Acknowledge, then fix: resolved automatically with the fixing event.
			if _, err := v.e.AcknowledgeFinding(v.ctx, f.ID, "on it"); err != nil {
				t.Fatal(err)
			}
			if _, err := v.e.AcknowledgeFinding(v.ctx, f.ID, ""); steward.ErrorCode(err) != steward.ECONFLICT {
				t.Fatalf("acknowledging twice: %v", err)
			}
			if _, err := v.svc.UpdateIdentity(v.ctx, unowned.ID, steward.IdentityPatch{OwnerID: steward.Some(ada.ID)}); err != nil {
				t.Fatal(err)
			}
			head, _ := v.store.LastEvent(context.Background())
			if _, err := v.e.Incremental(v.ctx, head.Seq-1); err != nil {
				t.Fatal(err)
			}
			f = v.one(unowned.ID, "owner.missing")
			if f.Status != steward.FindingResolved || f.ResolvedSeq != head.Seq || f.AcknowledgedBy != "token:admin" {
				t.Fatalf("resolved finding %+v (head %d)", f, head.Seq)
			}
			// The condition returns: the same finding reopens.
			if _, err := v.svc.UpdateIdentity(v.ctx, unowned.ID, steward.IdentityPatch{OwnerID: steward.Opt[string]{Set: true, Null: true}}); err != nil {
				t.Fatal(err)
			}
			v.run()
			g := v.one(unowned.ID, "owner.missing")
			if g.ID != f.ID || g.Status != steward.FindingOpen || g.ReopenedAt == nil {
				t.Fatalf("reopened %+v", g)
			}
			// Waive until tomorrow; after that the waiver expires and it reopens.
			until := v.clk.Now().Add(24 * time.Hour)
			if _, err := v.e.WaiveFinding(v.ctx, g.ID, steward.WaiverRequest{Reason: "decommissioning", Until: until}); steward.ErrorField(err) != "approver" {
				t.Fatalf("a waiver needs an approver: %v", err)
			}
			w, err := v.e.WaiveFinding(v.ctx, g.ID, steward.WaiverRequest{Reason: "decommissioning", Approver: "ciso@example.com", Until: until})
			if err != nil || w.Status != steward.FindingWaived || w.Waiver == nil {
				t.Fatalf("waive %+v %v", w, err)
			}
			v.run()
			if s := v.one(unowned.ID, "owner.missing").Status; s != steward.FindingWaived {
				t.Fatalf("still waived: %s", s)
			}
			v.clk.Advance(25 * time.Hour)
			if _, err := v.e.Incremental(v.ctx, 1<<40); err != nil {
				t.Fatal(err)
			}
			h := v.one(unowned.ID, "owner.missing")
			ws, _ := v.store.ListWaivers(context.Background(), h.ID)
			if h.Status != steward.FindingOpen || h.Waiver != nil || len(ws) != 1 || ws[0].EndReason != "expired" {
				t.Fatalf("expired waiver: %+v %+v", h, ws)
			}
			// Every human act on a finding is in the audit chain.
			evs, _ := v.store.ListEvents(context.Background(), steward.EventFilter{SubjectID: h.ID})
			var acts []string
			for _, e := range evs.Items {
				acts = append(acts, e.Action)
			}
			if !slices.Contains(acts, steward.ActionFindingAcknowledge) || !slices.Contains(acts, steward.ActionFindingWaive) {
				t.Fatalf("events %v", acts)
			}
		})
	}
}

func TestOwnerRoleSeesOwnFindings(t *testing.T) {
	v := newEnv(t, sqltest.OpenSQLite, nil)
	ada, bob := v.owner("Ada", nil), v.owner("Bob", nil)
	a := v.identity("a", ada.ID, func(i *steward.Identity) { i.ExpiresAt = nil })
	v.identity("b", bob.ID, func(i *steward.Identity) { i.ExpiresAt = nil })
	v.run()
	octx := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:ada", Role: steward.RoleOwner, OwnerID: ada.ID})
	p, err := v.e.ListFindings(octx, steward.FindingFilter{})
	if err != nil || len(p.Items) == 0 {
		t.Fatalf("%v %v", p, err)
	}
	for _, f := range p.Items {
		if f.IdentityID != a.ID {
			t.Fatalf("owner sees %s", f.IdentityID)
		}
	}
	if _, err := v.e.WaiveFinding(octx, p.Items[0].ID, steward.WaiverRequest{Reason: "x", Approver: "y", Until: v.clk.Now().Add(time.Hour)}); steward.ErrorCode(err) != steward.EFORBIDDEN {
		t.Fatalf("an owner may not waive: %v", err)
	}
	if _, err := v.e.RunNow(octx); steward.ErrorCode(err) != steward.EFORBIDDEN {
		t.Fatalf("an owner may not run posture: %v", err)
	}
}

func TestOffboardingAndReassign(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			v := newEnv(t, eng.Open, func(o *posture.Options) {
				o.Offboarding = posture.OffboardingPolicy{ReassignWithin: 14 * 24 * time.Hour, Suspend: true}
			})
			mgr := v.owner("Grace", nil)
			ada := v.owner("Ada", func(o *steward.Owner) { o.ManagerID = mgr.ID })
			a := v.identity("a", ada.ID, nil)
			b := v.identity("b", ada.ID, nil)
			v.run()
			ob, err := v.e.DepartByRef(v.ctx, "scim", "ada@example.com", "")
			if err != nil {
				t.Fatal(err)
			}
			if len(ob.Identities) != 2 || !slices.Contains(ob.Notified, mgr.ID) || ob.NotifiedAt == nil {
				t.Fatalf("offboarding %+v", ob)
			}
			if f := v.one(a.ID, "owner.departed"); f.OWASP != "NHI1" || f.Status != steward.FindingOpen {
				t.Fatalf("NHI1 finding %+v", f)
			}
			if got := v.notes.All(); len(got) != 1 || got[0].Kind != "offboarding" || got[0].OwnerID != mgr.ID || got[0].Severity != "high" {
				t.Fatalf("notifications %+v", got)
			}
			if again, err := v.e.DepartByRef(v.ctx, "okta", "00uada", ""); err != nil || again.Source != "scim" {
				t.Fatalf("offboarding is idempotent: %+v %v", again, err)
			}
			// Reassign one in time; the other is suspended at the deadline.
			if _, err := v.e.Reassign(v.ctx, ada.ID, steward.ReassignRequest{NewOwnerID: ada.ID}); steward.ErrorField(err) != "new_owner_id" {
				t.Fatalf("reassign to the same owner: %v", err)
			}
			res, err := v.e.Reassign(v.ctx, ada.ID, steward.ReassignRequest{NewOwnerID: mgr.ID, IdentityIDs: []string{a.ID}})
			if err != nil || len(res.Moved) != 1 {
				t.Fatalf("reassign %+v %v", res, err)
			}
			if f := v.one(a.ID, "owner.departed"); f.Status != steward.FindingResolved {
				t.Fatalf("reassignment resolves the finding: %s", f.Status)
			}
			v.clk.Advance(15 * 24 * time.Hour)
			r := v.run()
			got, _ := v.store.GetIdentity(context.Background(), b.ID)
			if got.Status != steward.StatusSuspended || len(r.Actions) == 0 {
				t.Fatalf("not reassigned in time → suspended: %s %v", got.Status, r.Actions)
			}
			evs, _ := v.store.ListEvents(context.Background(), steward.EventFilter{IdentityID: b.ID, Action: "identity.suspend"})
			if len(evs.Items) != 1 || evs.Items[0].Actor != "system:posture" || !strings.HasPrefix(evs.Items[0].Reason, "owner_departed") {
				t.Fatalf("suspension event %+v", evs.Items)
			}
		})
	}
}

func TestDormancyEnforcement(t *testing.T) {
	for _, dry := range []bool{true, false} {
		t.Run(map[bool]string{true: "dry run only reports", false: "enforcement suspends then revokes"}[dry], func(t *testing.T) {
			v := newEnv(t, sqltest.OpenSQLite, func(o *posture.Options) {
				o.Dormancy = posture.DormancyPolicy{Enabled: true, DryRun: dry, Grace: 7 * 24 * time.Hour}
			})
			ada := v.owner("Ada", nil)
			old := v.clk.Now().Add(-200 * 24 * time.Hour)
			i := v.identity("sleepy", ada.ID, func(i *steward.Identity) { i.LastUsedAt = &old })
			r := v.run()
			got, _ := v.store.GetIdentity(context.Background(), i.ID)
			if dry {
				if got.Status != steward.StatusActive || len(r.Actions) != 1 || !strings.HasPrefix(r.Actions[0], "would suspend") {
					t.Fatalf("dry run: %s %v", got.Status, r.Actions)
				}
				return
			}
			if got.Status != steward.StatusSuspended {
				t.Fatalf("suspended: %s %v", got.Status, r.Actions)
			}
			if f := v.one(i.ID, "dormant"); f.Status != steward.FindingResolved || f.ResolvedSeq == 0 {
				t.Fatalf("the suspension resolves the finding: %+v", f)
			}
			v.clk.Advance(8 * 24 * time.Hour)
			v.run()
			got, _ = v.store.GetIdentity(context.Background(), i.ID)
			if got.Status != steward.StatusRevoked {
				t.Fatalf("revoked after grace: %s", got.Status)
			}
			evs, _ := v.store.ListEvents(context.Background(), steward.EventFilter{IdentityID: i.ID, Action: "identity.revoke"})
			if len(evs.Items) != 1 || !strings.HasPrefix(evs.Items[0].Reason, "dormant") {
				t.Fatalf("revocation reason %+v", evs.Items)
			}
		})
	}
}

func TestAccessReview(t *testing.T) {
	v := newEnv(t, sqltest.OpenSQLite, nil)
	ada, bob := v.owner("Ada", func(o *steward.Owner) { o.Team = "payments" }), v.owner("Bob", nil)
	keep := v.identity("keep", ada.ID, func(i *steward.Identity) { i.Team = "payments" })
	reduce := v.identity("reduce", ada.ID, func(i *steward.Identity) { i.Team, i.Scopes = "payments", []string{"read", "write"} })
	revoke := v.identity("revoke", ada.ID, func(i *steward.Identity) { i.Team = "payments" })
	move := v.identity("move", ada.ID, func(i *steward.Identity) { i.Team = "payments" })
	silent := v.identity("silent", ada.ID, func(i *steward.Identity) { i.Team = "payments" })
	v.identity("other team", bob.ID, nil)
	c, err := v.e.StartReview(v.ctx, steward.ReviewRequest{Name: "Q1", Scope: steward.ReviewScope{Team: "payments"}})
	if err != nil || len(c.Items) != 5 {
		t.Fatalf("campaign %+v %v", c, err)
	}
	item := func(id string) string {
		for _, it := range c.Items {
			if it.IdentityID == id {
				return it.ID
			}
		}
		t.Fatalf("no item for %s", id)
		return ""
	}
	octx := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:ada", Role: steward.RoleOwner, OwnerID: ada.ID})
	bctx := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:bob", Role: steward.RoleOwner, OwnerID: bob.ID})
	if _, err := v.e.DecideReviewItem(bctx, c.ID, item(keep.ID), steward.ReviewDecisionRequest{Decision: steward.DecisionRevoke}); steward.ErrorCode(err) != steward.EFORBIDDEN {
		t.Fatalf("another owner decides: %v", err)
	}
	if _, err := v.e.DecideReviewItem(octx, c.ID, item(keep.ID), steward.ReviewDecisionRequest{Decision: steward.DecisionKeep}); steward.ErrorField(err) != "justification" {
		t.Fatalf("keep without justification: %v", err)
	}
	for _, d := range []struct {
		id string
		r  steward.ReviewDecisionRequest
	}{
		{keep.ID, steward.ReviewDecisionRequest{Decision: steward.DecisionKeep, Justification: "billing runs on it"}},
		{reduce.ID, steward.ReviewDecisionRequest{Decision: steward.DecisionReduce, Scopes: []string{"read"}}},
		{revoke.ID, steward.ReviewDecisionRequest{Decision: steward.DecisionRevoke}},
		{move.ID, steward.ReviewDecisionRequest{Decision: steward.DecisionReassign, NewOwnerID: bob.ID}},
	} {
		it, err := v.e.DecideReviewItem(octx, c.ID, item(d.id), d.r)
		if err != nil || it.EventSeq == 0 || it.DecidedBy != "token:ada" {
			t.Fatalf("decide %s: %+v %v", d.r.Decision, it, err)
		}
	}
	if _, err := v.e.DecideReviewItem(octx, c.ID, item(keep.ID), steward.ReviewDecisionRequest{Decision: steward.DecisionRevoke}); steward.ErrorCode(err) != steward.ECONFLICT {
		t.Fatalf("decide twice: %v", err)
	}
	r, _ := v.store.GetIdentity(context.Background(), reduce.ID)
	x, _ := v.store.GetIdentity(context.Background(), revoke.ID)
	m, _ := v.store.GetIdentity(context.Background(), move.ID)
	if !slices.Equal(r.Scopes, []string{"read"}) || x.Status != steward.StatusRevoked || m.OwnerID != bob.ID {
		t.Fatalf("executed: scopes %v, status %s, owner %s", r.Scopes, x.Status, m.OwnerID)
	}
	// The unanswered item becomes a finding after the deadline.
	v.clk.Advance(15 * 24 * time.Hour)
	v.run()
	if f := v.one(silent.ID, "review.overdue"); f.OWASP != "NHI5" {
		t.Fatalf("overdue finding %+v", f)
	}
	got, err := v.e.GetReview(octx, c.ID)
	if err != nil || got.Counts["decided"] != 4 || got.Counts["pending"] != 1 {
		t.Fatalf("counts %v %v", got.Counts, err)
	}
}

func TestSchedules(t *testing.T) {
	v := newEnv(t, sqltest.OpenSQLite, nil)
	ada := v.owner("Ada", nil)
	old := v.clk.Now().Add(-200 * 24 * time.Hour)
	soon := v.clk.Now().Add(5 * 24 * time.Hour)
	over := v.identity("overdue", ada.ID, func(i *steward.Identity) { i.LastRotatedAt = &old })
	exp := v.identity("expiring", ada.ID, func(i *steward.Identity) { i.ExpiresAt = &soon })
	rot, err := v.e.RotationSchedule(v.ctx, steward.ScheduleFilter{Days: 30})
	if err != nil || len(rot) != 1 || rot[0].IdentityID != over.ID || rot[0].State != "overdue" {
		t.Fatalf("rotation %+v %v", rot, err)
	}
	ex, err := v.e.Expiring(v.ctx, steward.ScheduleFilter{Days: 7})
	if err != nil || len(ex) != 1 || ex[0].IdentityID != exp.ID || ex[0].DaysLeft != 5 {
		t.Fatalf("expiring %+v %v", ex, err)
	}
}

type signer struct{}

func (signer) KeyID() string                   { return "k1" }
func (signer) Sign(msg []byte) ([]byte, error) { return []byte("sig"), nil }

func TestEvidencePackFromStore(t *testing.T) {
	v := newEnv(t, sqltest.OpenSQLite, func(o *posture.Options) { o.Signer = signer{} })
	ada := v.owner("Ada", nil)
	v.identity("orphan", "", nil)
	i := v.identity("gone", ada.ID, nil)
	if _, err := v.svc.TransitionIdentity(v.ctx, i.ID, steward.TransitionRevoke, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	v.run()
	files, err := v.e.EvidencePack(v.ctx, v.clk.Now().Add(-time.Hour), v.clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range files {
		m[f.Name] = f.Content
	}
	for _, n := range []string{"index.html", "ownership.csv", "evidence.json", "manifest.json"} {
		if len(m[n]) == 0 {
			t.Fatalf("%s missing", n)
		}
	}
	if err := evidence.Verify(m, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m["revocations.csv"]), "revoked in inventory") || !strings.Contains(string(m["manifest.json"]), `"key_id": "k1"`) {
		t.Fatalf("revocations:\n%s\nmanifest:\n%s", m["revocations.csv"], m["manifest.json"])
	}
}
