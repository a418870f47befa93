package mcp

import (
	"context"
	"reflect"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// fakeDecider answers allow and keeps the request it was asked.
type fakeDecider struct {
	allow bool
	asked *authz.Request
}

func (f *fakeDecider) Evaluate(_ context.Context, r *authz.Request, _ authz.Call) (*authz.Decision, error) {
	f.asked = r
	return &authz.Decision{Decision: f.allow}, nil
}

func TestDelegatedToolCallsAreDecidedByPolicy(t *testing.T) {
	agent := &steward.Principal{Actor: "nhi:nhi_agent", IdentityID: "nhi_agent", Role: steward.RoleOperator, TokenID: "tok_p",
		Delegation: &steward.Delegation{Subject: "token:tok_p", Actors: []string{"nhi_agent"}}}
	operator := &steward.Principal{Actor: "token:tok_p", Role: steward.RoleOperator, TokenID: "tok_p"}
	tests := []struct {
		name    string
		p       *steward.Principal
		d       *fakeDecider
		noPDP   bool
		code    string // "" = allowed
		decided bool
	}{
		{"an operator's own token is not asked", operator, &fakeDecider{}, false, "", false},
		{"an agent allowed by policy calls the tool", agent, &fakeDecider{allow: true}, false, "", true},
		{"an agent no policy permits is refused", agent, &fakeDecider{}, false, steward.EFORBIDDEN, true},
		{"an agent without a PDP is refused", agent, nil, true, steward.EFORBIDDEN, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decider
			if !tc.noPDP {
				d = tc.d
			}
			err := decide(steward.WithPrincipal(context.Background(), tc.p), d, "suspend_identity")
			if got := steward.ErrorCode(err); (err == nil) != (tc.code == "") || (err != nil && got != tc.code) {
				t.Fatalf("err %v, want code %q", err, tc.code)
			}
			if tc.d == nil {
				return
			}
			if (tc.d.asked != nil) != tc.decided {
				t.Fatalf("decided %v, want %v", tc.d.asked != nil, tc.decided)
			}
			if r := tc.d.asked; r != nil {
				want := map[string]any{"sub": "nhi_agent"}
				if r.Subject.ID != "nhi_agent" || r.Action.Name != ActionToolCall || r.Resource.Type != ToolType || r.Resource.ID != "steward/suspend_identity" ||
					!reflect.DeepEqual(r.Context["act"], want) || r.Context["on_behalf_of"] != "token:tok_p" {
					t.Fatalf("asked %+v %+v %+v %v", r.Subject, r.Action, r.Resource, r.Context)
				}
			}
		})
	}
}
