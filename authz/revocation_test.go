package authz_test

import (
	"fmt"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/internal/busyloop"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestNoPermitAfterSuspendOrRevoke is issue 14.1 for the PDP: once the
// inventory has answered a suspend or revoke, no decision for that
// identity is a permit, even with its identity cached and other decisions
// running meanwhile. 100 tries per case, zero permits.
func TestNoPermitAfterSuspendOrRevoke(t *testing.T) {
	const tries = 100
	cases := []struct {
		name string
		t    steward.Transition
	}{
		{"suspending the identity", steward.TransitionSuspend},
		{"revoking the identity", steward.TransitionRevoke},
	}
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s := eng.Open(t)
			changes := steward.NewChanges()
			svc := inventory.New(inventory.Config{Store: s, Changes: changes})
			p, _ := newPDP(t, s, func(c *authz.Config) { c.Changes = changes })
			if _, err := p.PutPolicy(admin, "all", `permit (principal, action, resource);`, "test"); err != nil {
				t.Fatal(err)
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					permits := 0
					for n := range tries {
						i, err := svc.CreateIdentity(admin, &steward.Identity{Name: fmt.Sprintf("%s-%d", tc.t, n), Kind: steward.KindWorkload,
							Provider: "steward", Sensitivity: steward.SensitivityLow, UnownedReason: "test"})
						if err != nil {
							t.Fatal(err)
						}
						r := req(`{"subject":{"type":"nhi","id":"` + i.ID + `"},"action":{"name":"x"},"resource":{"type":"R","id":"r"}}`)
						if d, err := p.Evaluate(admin, r, authz.Call{}); err != nil || !d.Decision {
							t.Fatalf("before: %v %v", d, err)
						}
						stop := busyloop.Start(func() { _, _ = p.Evaluate(admin, r, authz.Call{}) })
						if _, err := svc.TransitionIdentity(admin, i.ID, tc.t, steward.TransitionRequest{Reason: "incident"}); err != nil {
							t.Fatal(err)
						}
						d, err := p.Evaluate(admin, r, authz.Call{})
						if err != nil {
							t.Fatal(err)
						}
						if d.Decision {
							permits++
						}
						stop()
					}
					if permits != 0 {
						t.Fatalf("%d of %d decisions right after the change were permits", permits, tries)
					}
				})
			}
		})
	}
}
