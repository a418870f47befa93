package inventory_test

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/steward-nhi/steward"
)

// TestPatchMergesLabels checks RFC 7386 merge semantics for labels: keys
// named are set, keys set to null are removed, other keys are kept, and a
// null labels member removes them all.
func TestPatchMergesLabels(t *testing.T) {
	start := map[string]string{"app": "billing", "cost-center": "42", "tier": "gold"}
	tests := []struct {
		name  string
		patch string
		want  map[string]string
	}{
		{"a new key is added and the others kept", `{"labels":{"region":"eu"}}`,
			map[string]string{"app": "billing", "cost-center": "42", "tier": "gold", "region": "eu"}},
		{"a named key is replaced and the others kept", `{"labels":{"tier":"silver"}}`,
			map[string]string{"app": "billing", "cost-center": "42", "tier": "silver"}},
		{"a key set to null is removed", `{"labels":{"cost-center":null}}`,
			map[string]string{"app": "billing", "tier": "gold"}},
		{"set, replace and remove in one patch", `{"labels":{"region":"eu","tier":"silver","app":null}}`,
			map[string]string{"cost-center": "42", "tier": "silver", "region": "eu"}},
		{"an empty string is a value, not a removal", `{"labels":{"tier":""}}`,
			map[string]string{"app": "billing", "cost-center": "42", "tier": ""}},
		{"removing an absent key changes nothing", `{"labels":{"nope":null}}`, start},
		{"an empty object changes nothing", `{"labels":{}}`, start},
		{"labels set to null removes every label", `{"labels":null}`, map[string]string{}},
		{"a patch without labels keeps them", `{"purpose":"invoices"}`, start},
	}
	forEachEngine(t, func(t *testing.T, open func(testing.TB) steward.Store) {
		svc, ctx, _ := setup(t, open)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				i, err := svc.CreateIdentity(ctx, &steward.Identity{Name: "labels " + tc.name, Kind: steward.KindAPIKey, Labels: maps.Clone(start), UnownedReason: "test fixture"})
				if err != nil {
					t.Fatal(err)
				}
				var pt steward.IdentityPatch
				if err := json.Unmarshal([]byte(tc.patch), &pt); err != nil {
					t.Fatal(err)
				}
				got, err := svc.UpdateIdentity(ctx, i.ID, pt)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(got.Labels, tc.want) {
					t.Fatalf("labels after %s = %v, want %v", tc.patch, got.Labels, tc.want)
				}
				stored, err := svc.GetIdentity(ctx, i.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(stored.Labels, tc.want) {
					t.Fatalf("stored labels = %v, want %v", stored.Labels, tc.want)
				}
			})
		}
	})
}

// TestLabelPatchRoundTrips checks that a patch sent by the CLI client keeps
// its removals on the wire.
func TestLabelPatchRoundTrips(t *testing.T) {
	pt := steward.IdentityPatch{Labels: steward.Some(steward.LabelPatch{"gone": nil, "kept": ptr("v")})}
	b, err := json.Marshal(pt)
	if err != nil {
		t.Fatal(err)
	}
	var back steward.IdentityPatch
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got := back.Labels.Value.Apply(map[string]string{"gone": "x", "other": "y"})
	if want := map[string]string{"kept": "v", "other": "y"}; !maps.Equal(got, want) {
		t.Fatalf("%s applied = %v, want %v", b, got, want)
	}
}

func ptr[T any](v T) *T { return &v }
