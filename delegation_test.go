package steward_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

func TestDelegation(t *testing.T) {
	chain := &steward.Delegation{Subject: "token:tok_h", Actors: []string{"nhi_agent", "nhi_first"}}
	tests := []struct {
		name   string
		p      *steward.Principal
		reason string
		want   string
		act    map[string]any
		attrs  map[string]string
	}{
		{"an operator acting for itself keeps its reason", &steward.Principal{Actor: "token:tok_h", Role: steward.RoleAdmin}, "why", "why", nil, nil},
		{"an agent's act names the subject it acts for", &steward.Principal{Actor: "nhi:nhi_agent", Delegation: chain}, "why", "why [on behalf of token:tok_h]",
			map[string]any{"sub": "nhi_agent", "act": map[string]any{"sub": "nhi_first"}},
			map[string]string{"act_sub": "nhi_agent", "act_chain": "nhi_agent,nhi_first", "on_behalf_of": "token:tok_h"}},
		{"an empty reason becomes the mark alone", &steward.Principal{Actor: "nhi:nhi_agent", Delegation: chain}, "", "[on behalf of token:tok_h]",
			map[string]any{"sub": "nhi_agent", "act": map[string]any{"sub": "nhi_first"}},
			map[string]string{"act_sub": "nhi_agent", "act_chain": "nhi_agent,nhi_first", "on_behalf_of": "token:tok_h"}},
		{"the mark is not added twice", &steward.Principal{Actor: "nhi:nhi_agent", Delegation: chain}, "why [on behalf of token:tok_h]", "why [on behalf of token:tok_h]",
			map[string]any{"sub": "nhi_agent", "act": map[string]any{"sub": "nhi_first"}},
			map[string]string{"act_sub": "nhi_agent", "act_chain": "nhi_agent,nhi_first", "on_behalf_of": "token:tok_h"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := steward.NewEvent(time.Unix(0, 0), tc.p, "identity.suspend", steward.SubjectIdentity, "nhi_x", "nhi_x", tc.reason, nil, nil)
			if e.Actor != tc.p.Actor || e.Reason != tc.want {
				t.Errorf("event actor %q reason %q, want %q and %q", e.Actor, e.Reason, tc.p.Actor, tc.want)
			}
			if got := tc.p.Delegation.ActContext(); !reflect.DeepEqual(got, tc.act) {
				t.Errorf("ActContext = %v, want %v", got, tc.act)
			}
			if got := tc.p.Delegation.UsageAttributes(); !reflect.DeepEqual(got, tc.attrs) {
				t.Errorf("UsageAttributes = %v, want %v", got, tc.attrs)
			}
		})
	}
}
