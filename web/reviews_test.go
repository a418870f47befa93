package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
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
		e.checkVisits(t, []visit{
			{"the list shows each campaign's progress and due date", steward.RoleAdmin, list, http.StatusOK,
				[]string{"Q1 access review", `href="` + detail + `"`, count("attested", "1"), count("revoked", "0"), count("pending", "3"), deadline.Format("2006-01-02"),
					`<meter`, `aria-current="page">Reviews`}, nil},
			{"an auditor sees the list", steward.RoleAuditor, list, http.StatusOK, []string{"Q1 access review", count("pending", "3")}, nil},
			{"an owner sees the campaigns it takes part in", steward.RoleOwner, list, http.StatusOK, []string{"Q1 access review"}, nil},
			{"the campaign lists its items and who may attest them", steward.RoleAdmin, detail, http.StatusOK,
				[]string{"alice-deployer", "bob-bot", "stray-key", "vendor integration", `id="attest-` + item["bob-bot"] + `"`, "Alice", "Bob"},
				[]string{`id="attest-` + item["stray-key"] + `"`}},
			{"an auditor sees the items but may not attest", steward.RoleAuditor, detail, http.StatusOK, []string{"alice-deployer", "bob-bot"}, []string{`id="attest-`}},
			{"an owner sees its own items", steward.RoleOwner, detail, http.StatusOK,
				[]string{"alice-deployer", "alice-reporter", `id="attest-` + item["alice-deployer"] + `"`}, []string{"bob-bot", "stray-key"}},
			{"the items filter by status", steward.RoleAdmin, detail + "?status=decided", http.StatusOK, []string{"stray-key"}, []string{"bob-bot", "alice-deployer"}},
		})
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
		if i, _ := e.svc.GetIdentity(sys(), e.bot.ID); i.OwnerID != e.alice.ID {
			t.Fatalf("reassigned by review, the owner is %s", i.OwnerID)
		}
	})
}

// TestReviewPages pages through a campaign larger than one page, as every
// role, with each status filter, following the links the page gives.
func TestReviewPages(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.Open, withCaps)
			ctx := context.Background()
			now := e.clock.Now()
			if err := e.store.Update(ctx, func(tx steward.Tx) error {
				for k := range 240 {
					owner := e.alice.ID
					if k%2 == 1 {
						owner = e.bob.ID
					}
					i := &steward.Identity{ID: fmt.Sprintf("nhi_page%04d", k), Name: fmt.Sprintf("svc-%04d", k), Kind: steward.KindServiceAccount, Provider: "aws",
						Sensitivity: steward.SensitivityMedium, Source: steward.SourceImported, Status: steward.StatusActive, OwnerID: owner,
						Scopes: []string{"read"}, Labels: map[string]string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
					if err := tx.CreateIdentity(ctx, i); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			c, err := e.caps.posture.StartReview(admin(), steward.ReviewRequest{Name: "everything"})
			if err != nil || len(c.Items) != 243 {
				t.Fatalf("campaign of %d items: %v", len(c.Items), err)
			}
			items := slices.Clone(c.Items)
			slices.SortFunc(items, func(a, b *steward.ReviewItem) int { return strings.Compare(a.ID, b.ID) })
			for _, it := range []*steward.ReviewItem{items[3], items[150], items[200]} { // one of them Bob's at least
				if _, err := e.caps.posture.DecideReviewItem(admin(), c.ID, it.ID, steward.ReviewDecisionRequest{Decision: steward.DecisionKeep, Justification: "needed"}); err != nil {
					t.Fatal(err)
				}
				it.Status = steward.ReviewDecided
			}
			ids := func(keep func(it *steward.ReviewItem) bool) []string {
				var pending, decided []string
				for _, it := range items {
					switch {
					case !keep(it):
					case it.Status == steward.ReviewPending:
						pending = append(pending, it.ID)
					default:
						decided = append(decided, it.ID)
					}
				}
				return append(pending, decided...)
			}
			all := func(*steward.ReviewItem) bool { return true }
			withStatus := func(s string) func(*steward.ReviewItem) bool {
				return func(it *steward.ReviewItem) bool { return it.Status == s }
			}
			alices := func(it *steward.ReviewItem) bool { return it.OwnerID == e.alice.ID }
			detail := "/reviews/" + c.ID

			tests := []struct {
				name  string
				role  steward.Role
				path  string
				want  []string
				yours string // the owner's pending items, as the page says
			}{
				{"an admin pages through every item, pending first", steward.RoleAdmin, detail, ids(all), ""},
				{"an auditor pages through every item", steward.RoleAuditor, detail, ids(all), ""},
				{"the pending filter pages through the pending items", steward.RoleAdmin, detail + "?status=pending", ids(withStatus(steward.ReviewPending)), ""},
				{"the decided filter shows the decided items", steward.RoleAdmin, detail + "?status=decided", ids(withStatus(steward.ReviewDecided)), ""},
				{"an owner pages through its own items only", steward.RoleOwner, detail, ids(alices),
					fmt.Sprint(len(ids(func(it *steward.ReviewItem) bool { return alices(it) && it.Status == steward.ReviewPending })))},
				{"an owner's decided items are its own", steward.RoleOwner, detail + "?status=decided",
					ids(func(it *steward.ReviewItem) bool { return alices(it) && it.Status == steward.ReviewDecided }), ""},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					b := e.browserFor(t)
					b.signIn(tc.role)
					var got []string
					path := tc.path
					for page := 0; path != ""; page++ {
						b.get(path)
						b.expect(http.StatusOK)
						rows := itemRowRE.FindAllStringSubmatch(b.body, -1)
						if len(rows) > 100 || page > len(tc.want)/100 {
							t.Fatalf("page %d has %d items", page, len(rows))
						}
						if len(tc.want) > 100 {
							b.expect(http.StatusOK, fmt.Sprintf("from item %d of %d", len(got)+1, len(tc.want)))
						}
						if page > 0 {
							b.expect(http.StatusOK, `id="first-page"`)
						} else {
							b.lacks(`id="first-page"`)
						}
						if tc.yours != "" {
							b.expect(http.StatusOK, "<dt>Yours</dt><dd>"+tc.yours+" pending</dd>")
						}
						for _, r := range rows {
							got = append(got, r[1])
						}
						path = ""
						if m := nextPageRE.FindStringSubmatch(b.body); m != nil {
							path = strings.ReplaceAll(m[1], "&amp;", "&")
						}
					}
					if !slices.Equal(got, tc.want) {
						t.Fatalf("%d items shown, want %d:\n got %v\nwant %v", len(got), len(tc.want), got, tc.want)
					}
				})
			}

			t.Run("a cursor that is not this list's is refused", func(t *testing.T) {
				b := e.browserFor(t)
				b.signIn(steward.RoleAdmin)
				b.get(detail)
				m := nextPageRE.FindStringSubmatch(b.body)
				if m == nil {
					t.Fatal("the first page links no next page")
				}
				next, _ := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
				for _, q := range []string{"cursor=not-a-cursor", "status=decided&cursor=" + url.QueryEscape(next.Query().Get("cursor"))} {
					b.get(detail + "?" + q)
					b.expect(http.StatusBadRequest, "cursor")
				}
			})
		})
	}
}

var (
	itemRowRE  = regexp.MustCompile(`<tr id="item-([^"]+)">`)
	nextPageRE = regexp.MustCompile(`<a href="([^"]+)" rel="next" id="next-page">`)
)
