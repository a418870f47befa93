package usage_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
)

// ListUsage serves every role: staff read any identity's events, owners
// only their own identities' (and must name one).
func TestListUsageByRole(t *testing.T) {
	st := sqltest.SQLite(t)
	ctx := context.Background()
	now := sqltest.Base
	if err := st.Update(ctx, func(tx steward.Tx) error {
		for _, o := range []string{"own_ada", "own_bob"} {
			if err := tx.CreateOwner(ctx, &steward.Owner{ID: o, Name: o, Kind: steward.OwnerPerson, Status: steward.OwnerActive, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
				return err
			}
		}
		return tx.CreateIdentity(ctx, &steward.Identity{ID: "nhi_1", Name: "svc", Kind: steward.KindWorkload, Provider: "steward", OwnerID: "own_ada",
			Sensitivity: steward.SensitivityMedium, Source: steward.SourceRegistered, Status: steward.StatusActive, Scopes: []string{}, Labels: map[string]string{},
			CreatedAt: now, UpdatedAt: now, Version: 1})
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendUsage(ctx, []steward.UsageEvent{{ID: "use_1", Time: now.Add(time.Minute), Kind: steward.UsageAuth, IdentityID: "nhi_1", Action: "authenticate",
		Outcome: "ok", PolicyIDs: []string{}, Attributes: map[string]string{}}}); err != nil {
		t.Fatal(err)
	}
	u := usage.New(usage.Config{Store: st, Inventory: st})
	as := func(p *steward.Principal) context.Context { return steward.WithPrincipal(ctx, p) }
	tests := []struct {
		name     string
		ctx      context.Context
		identity string
		events   int
		code     string
	}{
		{"an auditor reads an identity's usage", as(&steward.Principal{Actor: "token:a", Role: steward.RoleAuditor}), "nhi_1", 1, ""},
		{"an owner reads its own identity's usage", as(&steward.Principal{Actor: "token:o", Role: steward.RoleOwner, OwnerID: "own_ada"}), "nhi_1", 1, ""},
		{"an owner may not read another's", as(&steward.Principal{Actor: "token:b", Role: steward.RoleOwner, OwnerID: "own_bob"}), "nhi_1", 0, steward.EFORBIDDEN},
		{"an owner may not list everyone's usage", as(&steward.Principal{Actor: "token:o", Role: steward.RoleOwner, OwnerID: "own_ada"}), "", 0, steward.EFORBIDDEN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := u.ListUsage(tc.ctx, steward.UsageFilter{IdentityID: tc.identity, Limit: 10})
			if steward.ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want %q", err, tc.code)
			}
			if err == nil && len(page.Items) != tc.events {
				t.Fatalf("%d events, want %d", len(page.Items), tc.events)
			}
		})
	}
}
