package steward_test

import (
	"context"
	"testing"

	"github.com/steward-nhi/steward"
)

func TestAuthorizeOwnRead(t *testing.T) {
	owner := &steward.Principal{Actor: "token:o", Role: steward.RoleOwner, OwnerID: "own_a"}
	auditor := &steward.Principal{Actor: "token:x", Role: steward.RoleAuditor}
	tests := []struct {
		name   string
		p      *steward.Principal
		filter string
		what   string
		want   string // the filter after the call
		code   string // "" = allowed
	}{
		{"an owner's empty filter becomes its own id", owner, "", "findings", "own_a", ""},
		{"an owner naming itself keeps its id", owner, "own_a", "findings", "own_a", ""},
		{"an owner naming another owner is refused when what is set", owner, "own_b", "findings", "own_b", steward.EFORBIDDEN},
		{"an owner naming another owner is narrowed to itself otherwise", owner, "own_b", "", "own_a", ""},
		{"staff keep their filter", auditor, "own_b", "findings", "own_b", ""},
		{"staff may read everything", auditor, "", "findings", "", ""},
		{"no principal is unauthenticated", nil, "", "findings", "", steward.EUNAUTHORIZED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.p != nil {
				ctx = steward.WithPrincipal(ctx, tc.p)
			}
			f := tc.filter
			_, err := steward.AuthorizeOwnRead(ctx, &f, tc.what)
			if got := steward.ErrorCode(err); got != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			if f != tc.want {
				t.Fatalf("filter %q, want %q", f, tc.want)
			}
		})
	}
}
