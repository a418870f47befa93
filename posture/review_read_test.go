package posture_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/web"
)

// The console finds the review pages' reads by asserting the engine to
// these (cmd/steward reviewsOf): keep them satisfied.
var (
	_ web.ReviewsReader = (*posture.Engine)(nil)
	_ web.ReviewDecider = (*posture.Engine)(nil)
)

func TestReviewReads(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			v := newEnv(t, eng.Open, nil)
			ada, bob := v.owner("Ada", nil), v.owner("Bob", nil)
			a1, a2 := v.identity("a1", ada.ID, nil), v.identity("a2", ada.ID, nil)
			v.identity("a3", ada.ID, nil)
			b1 := v.identity("b1", bob.ID, nil)
			v.identity("b2", bob.ID, nil)
			q1, err := v.e.StartReview(v.ctx, steward.ReviewRequest{Name: "Q1"})
			if err != nil || len(q1.Items) != 5 {
				t.Fatalf("Q1 %+v %v", q1, err)
			}
			q2, err := v.e.StartReview(v.ctx, steward.ReviewRequest{Name: "Q2", Scope: steward.ReviewScope{OwnerID: bob.ID}})
			if err != nil || len(q2.Items) != 2 {
				t.Fatalf("Q2 %+v %v", q2, err)
			}
			if _, err := v.e.DecideReviewItem(v.ctx, q1.ID, itemOf(t, q1, a2.ID), steward.ReviewDecisionRequest{Decision: steward.DecisionKeep, Justification: "needed"}); err != nil {
				t.Fatal(err)
			}
			admin, auditor := v.ctx, steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:auditor", Role: steward.RoleAuditor})
			owner := func(o *steward.Owner) context.Context {
				return steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:" + o.Name, Role: steward.RoleOwner, OwnerID: o.ID})
			}
			// names gives the identity names of items in their order;
			// byID sorts them by item id first.
			names := func(its []*steward.ReviewItem) []string {
				var out []string
				for _, it := range its {
					out = append(out, it.IdentityName)
				}
				return out
			}
			byID := func(want ...string) []string {
				var its []*steward.ReviewItem
				for _, it := range q1.Items {
					if slices.Contains(want, it.IdentityName) {
						its = append(its, it)
					}
				}
				slices.SortFunc(its, func(a, b *steward.ReviewItem) int { return strings.Compare(a.ID, b.ID) })
				return names(its)
			}
			whole := map[string]int{"items": 5, "pending": 4, "decided": 1, "keep": 1}

			t.Run("a campaign with its items", func(t *testing.T) {
				tests := []struct {
					name string
					ctx  context.Context
					want []string
				}{
					{"an admin gets every item in id order", admin, byID("a1", "a2", "a3", "b1", "b2")},
					{"an auditor gets every item", auditor, byID("a1", "a2", "a3", "b1", "b2")},
					{"an owner gets its own items in id order", owner(ada), byID("a1", "a2", "a3")},
					{"another owner gets its own", owner(bob), byID("b1", "b2")},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						c, err := v.e.GetReview(tc.ctx, q1.ID)
						if err != nil {
							t.Fatal(err)
						}
						if got := names(c.Items); !slices.Equal(got, tc.want) || !maps.Equal(c.Counts, whole) {
							t.Fatalf("items %v counts %v, want %v %v", got, c.Counts, tc.want, whole)
						}
					})
				}
			})

			t.Run("a summary has the counts and no items", func(t *testing.T) {
				for _, ctx := range []context.Context{admin, owner(ada)} {
					c, err := v.e.GetReviewSummary(ctx, q1.ID)
					if err != nil || c.Items != nil || !maps.Equal(c.Counts, whole) || c.Name != "Q1" {
						t.Fatalf("summary %+v %v", c, err)
					}
				}
				if _, err := v.e.GetReviewSummary(admin, "rev_missing"); steward.ErrorCode(err) != steward.ENOTFOUND {
					t.Fatalf("missing campaign: %v", err)
				}
			})

			t.Run("pages of items", func(t *testing.T) {
				tests := []struct {
					name string
					ctx  context.Context
					f    steward.ReviewItemFilter
					want []string
					code string
				}{
					{"an admin pages every item, pending first", admin, steward.ReviewItemFilter{CampaignID: q1.ID, Limit: 2},
						append(slices.DeleteFunc(byID("a1", "a2", "a3", "b1", "b2"), func(n string) bool { return n == "a2" }), "a2"), ""},
					{"an admin may ask for one owner's items", admin, steward.ReviewItemFilter{CampaignID: q1.ID, OwnerID: bob.ID}, byID("b1", "b2"), ""},
					{"an owner gets its own items", owner(ada), steward.ReviewItemFilter{CampaignID: q1.ID, Status: steward.ReviewPending}, byID("a1", "a3"), ""},
					{"an owner may not ask for another's", owner(ada), steward.ReviewItemFilter{CampaignID: q1.ID, OwnerID: bob.ID}, nil, steward.EFORBIDDEN},
					{"a bad status is refused", admin, steward.ReviewItemFilter{CampaignID: q1.ID, Status: "open"}, nil, steward.EINVALID},
					{"no caller is refused", context.Background(), steward.ReviewItemFilter{CampaignID: q1.ID}, nil, steward.EUNAUTHORIZED},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						var got []string
						f := tc.f
						for {
							p, err := v.e.ReviewItems(tc.ctx, f)
							if failedAsWanted(t, err, tc.code) {
								return
							}
							got = append(got, names(p.Items)...)
							if p.NextCursor == "" {
								break
							}
							f.Cursor = p.NextCursor
						}
						if !slices.Equal(got, tc.want) {
							t.Fatalf("items %v, want %v", got, tc.want)
						}
					})
				}
			})

			t.Run("counts of the items the caller sees", func(t *testing.T) {
				tests := []struct {
					name string
					ctx  context.Context
					want map[string]int
				}{
					{"an admin sees every item", admin, whole},
					{"an owner sees its own", owner(ada), map[string]int{"items": 3, "pending": 2, "decided": 1, "keep": 1}},
					{"another owner its own", owner(bob), map[string]int{"items": 2, "pending": 2, "decided": 0}},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						got, err := v.e.ReviewItemCounts(tc.ctx, q1.ID)
						if err != nil || !maps.Equal(got, tc.want) {
							t.Fatalf("counts %v %v, want %v", got, err, tc.want)
						}
					})
				}
			})

			t.Run("one item", func(t *testing.T) {
				tests := []struct {
					name       string
					ctx        context.Context
					campaign   string
					item       string
					identityID string
					code       string
				}{
					{"an owner reads its own item", owner(ada), q1.ID, itemOf(t, q1, a1.ID), a1.ID, ""},
					{"an admin reads anyone's", admin, q1.ID, itemOf(t, q1, b1.ID), b1.ID, ""},
					{"an owner does not find another's", owner(ada), q1.ID, itemOf(t, q1, b1.ID), "", steward.ENOTFOUND},
					{"an item of another campaign is not found", admin, q1.ID, itemOf(t, q2, b1.ID), "", steward.ENOTFOUND},
					{"a missing item is not found", admin, q1.ID, "rvi_missing", "", steward.ENOTFOUND},
					{"a missing campaign is not found", admin, "rev_missing", itemOf(t, q1, a1.ID), "", steward.ENOTFOUND},
					{"no caller is refused", context.Background(), q1.ID, itemOf(t, q1, a1.ID), "", steward.EUNAUTHORIZED},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						c, it, err := v.e.GetReviewItem(tc.ctx, tc.campaign, tc.item)
						if failedAsWanted(t, err, tc.code) {
							return
						}
						if c.ID != tc.campaign || it.ID != tc.item || it.IdentityID != tc.identityID {
							t.Fatalf("campaign %+v item %+v %v", c, it, err)
						}
					})
				}
			})

			t.Run("a decision names an item of its campaign", func(t *testing.T) {
				_, err := v.e.DecideReviewItem(v.ctx, q1.ID, itemOf(t, q2, b1.ID), steward.ReviewDecisionRequest{Decision: steward.DecisionKeep, Justification: "x"})
				if steward.ErrorCode(err) != steward.ENOTFOUND {
					t.Fatalf("item of another campaign: %v", err)
				}
			})

			t.Run("the last decision closes the campaign with its counts", func(t *testing.T) {
				for n, it := range q2.Items {
					if _, err := v.e.DecideReviewItem(v.ctx, q2.ID, it.ID, steward.ReviewDecisionRequest{Decision: steward.DecisionKeep, Justification: "x"}); err != nil {
						t.Fatal(err)
					}
					c, err := v.e.GetReviewSummary(v.ctx, q2.ID)
					if err != nil {
						t.Fatal(err)
					}
					if want := map[bool]string{false: "open", true: "closed"}[n == len(q2.Items)-1]; c.Status != want {
						t.Fatalf("after %d decisions the campaign is %s, want %s", n+1, c.Status, want)
					}
				}
				evs, err := v.store.ListEvents(context.Background(), steward.EventFilter{Action: steward.ActionReviewClose})
				if err != nil || len(evs.Items) != 1 || evs.Items[0].SubjectID != q2.ID {
					t.Fatalf("close events %+v %v", evs, err)
				}
				var got map[string]int
				if err := json.Unmarshal(evs.Items[0].After, &got); err != nil || !maps.Equal(got, map[string]int{"items": 2, "pending": 0, "decided": 2, "keep": 2}) {
					t.Fatalf("close event counts %s %v", evs.Items[0].After, err)
				}
				_, err = v.e.DecideReviewItem(v.ctx, q2.ID, q2.Items[0].ID, steward.ReviewDecisionRequest{Decision: steward.DecisionRevoke})
				if steward.ErrorCode(err) != steward.ECONFLICT {
					t.Fatalf("a decision in a closed campaign: %v", err)
				}
			})
		})
	}
}
