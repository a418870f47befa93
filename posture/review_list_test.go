package posture_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

func TestListReviews(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			v := newEnv(t, eng.Open, nil)
			ada, bob := v.owner("Ada", func(o *steward.Owner) { o.Team = "payments" }), v.owner("Bob", nil)
			a1 := v.identity("a1", ada.ID, func(i *steward.Identity) { i.Team = "payments" })
			v.identity("a2", ada.ID, func(i *steward.Identity) { i.Team = "payments" })
			v.identity("b1", bob.ID, nil)

			// An old campaign over Bob's identity, closed by its only decision.
			old, err := v.e.StartReview(v.ctx, steward.ReviewRequest{Name: "Q3", Scope: steward.ReviewScope{OwnerID: bob.ID}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.e.DecideReviewItem(v.ctx, old.ID, old.Items[0].ID, steward.ReviewDecisionRequest{Decision: steward.DecisionKeep, Justification: "needed"}); err != nil {
				t.Fatal(err)
			}
			v.clk.Advance(200 * 24 * time.Hour)
			cur, err := v.e.StartReview(v.ctx, steward.ReviewRequest{Name: "Q1", Scope: steward.ReviewScope{Team: "payments"}})
			if err != nil || len(cur.Items) != 2 {
				t.Fatalf("campaign %+v %v", cur, err)
			}
			since := v.clk.Now().Add(-90 * 24 * time.Hour)
			staff := func(r steward.Role) context.Context {
				return steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:" + string(r), Role: r})
			}
			owner := func(o *steward.Owner) context.Context {
				return steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:" + o.Name, Role: steward.RoleOwner, OwnerID: o.ID})
			}
			tests := []struct {
				name  string
				ctx   context.Context
				since *time.Time
				want  []string // campaign names, newest first
				code  string
			}{
				{"an admin sees every campaign, newest first", v.ctx, nil, []string{"Q1", "Q3"}, ""},
				{"an auditor sees every campaign", staff(steward.RoleAuditor), nil, []string{"Q1", "Q3"}, ""},
				{"since leaves out campaigns closed before it", staff(steward.RoleAuditor), &since, []string{"Q1"}, ""},
				{"an owner sees the campaigns with items of its own", owner(ada), nil, []string{"Q1"}, ""},
				{"another owner sees its own", owner(bob), nil, []string{"Q3"}, ""},
				{"no caller is refused", context.Background(), nil, nil, steward.EUNAUTHORIZED},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got, err := v.e.ListReviews(tc.ctx, tc.since)
					if failedAsWanted(t, err, tc.code) {
						return
					}
					var names []string
					for _, c := range got {
						names = append(names, c.Name)
						if c.Items != nil {
							t.Errorf("%s lists its items", c.Name)
						}
					}
					if len(names) != len(tc.want) || (len(names) > 0 && names[0] != tc.want[0]) || (len(names) > 1 && names[1] != tc.want[1]) {
						t.Fatalf("campaigns %q, want %q", names, tc.want)
					}
				})
			}

			counts := func() (open, closed map[string]int) {
				t.Helper()
				got, err := v.e.ListReviews(v.ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range got {
					switch c.ID {
					case cur.ID:
						open = c.Counts
					case old.ID:
						closed = c.Counts
					}
				}
				return open, closed
			}
			open, closed := counts()
			if open["items"] != 2 || open["pending"] != 2 || open["decided"] != 0 || closed["decided"] != 1 || closed["keep"] != 1 || closed["pending"] != 0 {
				t.Fatalf("counts: open %v, closed %v", open, closed)
			}
			// A decision shows in the next listing (the counts of open
			// campaigns are never served stale).
			if _, err := v.e.DecideReviewItem(owner(ada), cur.ID, itemOf(t, cur, a1.ID), steward.ReviewDecisionRequest{Decision: steward.DecisionRevoke}); err != nil {
				t.Fatal(err)
			}
			open, closed = counts()
			if open["pending"] != 1 || open["decided"] != 1 || open["revoke"] != 1 || closed["keep"] != 1 {
				t.Fatalf("counts after a decision: open %v, closed %v", open, closed)
			}
		})
	}
}

func itemOf(t *testing.T, c *steward.ReviewCampaign, identityID string) string {
	t.Helper()
	for _, it := range c.Items {
		if it.IdentityID == identityID {
			return it.ID
		}
	}
	t.Fatalf("campaign %s has no item for %s", c.ID, identityID)
	return ""
}

// failedAsWanted checks err against the error code a case wants: with a
// code, err must carry it and the case is over (true); without one, err
// must be nil.
func failedAsWanted(t *testing.T, err error, code string) bool {
	t.Helper()
	if code != "" {
		if steward.ErrorCode(err) != code {
			t.Fatalf("error %v, want %s", err, code)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}
