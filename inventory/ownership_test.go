package inventory_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
)

// TestManualRegistrationNeedsAnOwner checks that a hand-registered identity
// names an owner or says why it has none, and that the reason is recorded.
func TestManualRegistrationNeedsAnOwner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func(testing.TB) steward.Store) {
		svc, admin, _ := setup(t, open)
		ada, err := svc.CreateOwner(admin, &steward.Owner{Name: "Ada", Email: "ada@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		asOwner := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:ada", Role: steward.RoleOwner, OwnerID: ada.ID})
		tests := []struct {
			name      string
			ctx       context.Context
			owner     string
			reason    string
			wantField string // "" when the registration succeeds
		}{
			{"an identity with an owner is registered", admin, ada.ID, "", ""},
			{"an identity without owner or reason is refused", admin, "", "", "owner_id"},
			{"a blank reason is no reason", admin, "", "   ", "owner_id"},
			{"an identity without owner but with a reason is registered", admin, "", "vendor-managed break-glass key, owned by the vendor", ""},
			{"a reason beside an owner is refused", admin, ada.ID, "no one", "unowned_reason"},
			{"an owner token registers identities it owns", asOwner, "", "", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				i, err := svc.CreateIdentity(tc.ctx, &steward.Identity{Name: tc.name, Kind: steward.KindAPIKey, OwnerID: tc.owner, UnownedReason: tc.reason})
				if tc.wantField != "" {
					if steward.ErrorCode(err) != steward.EINVALID || !strings.Contains(err.Error(), tc.wantField) {
						t.Fatalf("err = %v, want EINVALID naming %s", err, tc.wantField)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				evs, err := svc.ListEvents(admin, steward.EventFilter{IdentityID: i.ID})
				if err != nil || len(evs.Items) != 1 {
					t.Fatalf("events: %v, %v", evs, err)
				}
				ev := evs.Items[0]
				reason := strings.TrimSpace(tc.reason)
				if reason == "" {
					if ev.Reason != "" {
						t.Fatalf("event reason = %q, want none", ev.Reason)
					}
					return
				}
				if !strings.Contains(ev.Reason, reason) || !strings.Contains(string(ev.After), reason) {
					t.Fatalf("creation event does not record the reason: reason %q, after %s", ev.Reason, ev.After)
				}
			})
		}
		t.Run("imports may still create unowned identities", func(t *testing.T) {
			file := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ownerless\n  namespace: a\n"
			sum, err := svc.Import(admin, "kubernetes", bytes.NewReader([]byte(file)), steward.ImportOptions{})
			if err != nil || sum.Created != 1 || sum.Unowned != 1 {
				t.Fatalf("import: %+v, %v", sum, err)
			}
		})
	})
}
