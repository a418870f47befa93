package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

func TestReviews(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	reporter, err := e.svc.CreateIdentity(sys(), &steward.Identity{Name: "alice-reporter", Kind: steward.KindBot, Provider: "github", OwnerID: e.alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	deadline := e.clock.Now().Add(10 * 24 * time.Hour)
	c, err := e.caps.posture.StartReview(admin(), steward.ReviewRequest{Name: "Q1 access review", Deadline: &deadline})
	if err != nil || len(c.Items) != 4 {
		t.Fatalf("campaign %+v %v", c, err)
	}
	item := map[string]string{} // identity name → item id
	for _, it := range c.Items {
		item[it.IdentityName] = it.ID
	}
	if _, err := e.caps.posture.DecideReviewItem(admin(), c.ID, item["stray-key"], steward.ReviewDecisionRequest{Decision: steward.DecisionKeep, Justification: "vendor integration"}); err != nil {
		t.Fatal(err)
	}
	list, detail := "/reviews", "/reviews/"+c.ID
	itemPath := func(name string) string { return detail + "/items/" + item[name] }
	count := func(k string, n string) string { return `data-count="` + k + `">` + n + `<` }

	t.Run("pages by role", func(t *testing.T) {
		tests := []struct {
			name string
			role steward.Role
			path string
			want []string
			not  []string
		}{
			{"the list shows each campaign's progress and due date", steward.RoleAdmin, list,
				[]string{"Q1 access review", `href="` + detail + `"`, count("attested", "1"), count("revoked", "0"), count("pending", "3"), deadline.Format("2006-01-02"),
					`<meter`, `aria-current="page">Reviews`}, nil},
			{"an auditor sees the list", steward.RoleAuditor, list, []string{"Q1 access review", count("pending", "3")}, nil},
			{"an owner sees the campaigns it takes part in", steward.RoleOwner, list, []string{"Q1 access review"}, nil},
			{"the campaign lists its items and who may attest them", steward.RoleAdmin, detail,
				[]string{"alice-deployer", "bob-bot", "stray-key", "vendor integration", `id="attest-` + item["bob-bot"] + `"`, "Alice", "Bob"},
				[]string{`id="attest-` + item["stray-key"] + `"`}},
			{"an auditor sees the items but may not attest", steward.RoleAuditor, detail, []string{"alice-deployer", "bob-bot"}, []string{`id="attest-`}},
			{"an owner sees its own items", steward.RoleOwner, detail,
				[]string{"alice-deployer", "alice-reporter", `id="attest-` + item["alice-deployer"] + `"`}, []string{"bob-bot", "stray-key"}},
			{"the items filter by status", steward.RoleAdmin, detail + "?status=decided", []string{"stray-key"}, []string{"bob-bot", "alice-deployer"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := e.browserFor(t)
				b.signIn(tc.role)
				b.get(tc.path)
				b.expect(http.StatusOK, tc.want...)
				b.lacks(tc.not...)
			})
		}
	})

	t.Run("an owner attests its own items", func(t *testing.T) {
		b := e.browserFor(t)
		b.signIn(steward.RoleOwner)
		b.get(itemPath("alice-deployer"))
		b.expect(http.StatusOK, "What will happen", `name="decision"`, `value="keep"`, `value="revoke"`, `name="justification"`, "Revocation is final")
		b.post(itemPath("alice-deployer"), url.Values{"decision": {"keep"}, "justification": {""}})
		b.expect(http.StatusUnprocessableEntity, "justification")
		b.post(itemPath("alice-deployer"), url.Values{"decision": {"keep"}, "justification": {"deploys billing"}})
		if b.status != http.StatusSeeOther || b.header.Get("Location") != detail+"?msg=decided" {
			t.Fatalf("keep: %d %q\n%s", b.status, b.header.Get("Location"), b.body)
		}
		b.get(detail + "?msg=decided")
		b.expect(http.StatusOK, "decision was recorded", "deploys billing")
		b.lacks(`id="attest-` + item["alice-deployer"] + `"`)

		b.get(itemPath("alice-reporter"))
		b.post(itemPath("alice-reporter"), url.Values{"decision": {"revoke"}, "justification": {"no longer used"}})
		b.expect(http.StatusSeeOther)
		if i, _ := e.svc.GetIdentity(sys(), reporter.ID); i.Status != steward.StatusRevoked {
			t.Fatalf("revoked by review, the identity is %s", i.Status)
		}
		b.get(list)
		b.expect(http.StatusOK, count("attested", "2"), count("revoked", "1"), count("pending", "1"))
	})
	t.Run("an owner may not attest another's item", func(t *testing.T) {
		b := e.browserFor(t)
		b.signIn(steward.RoleOwner)
		b.get(itemPath("bob-bot"))
		b.expect(http.StatusNotFound)
		b.get(detail)
		b.post(itemPath("bob-bot"), url.Values{"decision": {"revoke"}})
		if b.status < 400 {
			t.Fatalf("an owner decided another's item: %d", b.status)
		}
	})
	t.Run("an auditor may not attest", func(t *testing.T) {
		b := e.browserFor(t)
		b.signIn(steward.RoleAuditor)
		b.get(itemPath("bob-bot"))
		b.expect(http.StatusForbidden, "may not")
		b.get(detail)
		b.post(itemPath("bob-bot"), url.Values{"decision": {"keep"}, "justification": {"x"}})
		b.expect(http.StatusForbidden)
	})
	t.Run("the last decision closes the campaign", func(t *testing.T) {
		b := e.browserFor(t)
		b.signIn(steward.RoleOperator)
		b.get(itemPath("bob-bot"))
		b.expect(http.StatusOK, `name="new_owner_id"`)
		b.post(itemPath("bob-bot"), url.Values{"decision": {"reassign"}, "justification": {"team moved"}, "new_owner_id": {e.alice.ID}})
		b.expect(http.StatusSeeOther)
		b.get(detail)
		b.expect(http.StatusOK, "closed")
		b.lacks(`id="attest-`)
		b.get(itemPath("bob-bot"))
		b.expect(http.StatusConflict)
		if i, _ := e.svc.GetIdentity(sys(), e.b.ID); i.OwnerID != e.alice.ID {
			t.Fatalf("reassigned by review, the owner is %s", i.OwnerID)
		}
	})
}
