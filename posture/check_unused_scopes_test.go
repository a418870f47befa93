package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckUnusedScopes(t *testing.T) {
	usage := func(actions ...string) func(*Input) {
		return func(x *Input) {
			x.Identity.Scopes = []string{"s3:GetObject", "s3:PutObject", "iam:*"}
			x.Usage = &steward.UsageSummary{Total: 10, Actions: map[string]steward.UsageStat{}}
			for _, a := range actions {
				x.Usage.Actions[a] = steward.UsageStat{Count: 5, LastSeen: *ago(2)}
			}
		}
	}
	runCheck(t, checkUnusedScopes, []checkCase{
		{"no usage source, no finding", in(func(x *Input) { x.Identity.Scopes = []string{"a"} }), 0, "", ""},
		{"every scope used", in(usage("s3:GetObject", "s3:PutObject", "iam:ListRoles")), 0, "", ""},
		{"an unused wildcard scope is high", in(usage("s3:GetObject", "s3:PutObject")), 1, steward.SeverityHigh, "suggested_scopes"},
		{"a young identity is not judged yet", in(usage(), func(x *Input) { x.Identity.CreatedAt = *ago(10) }), 0, "", ""},
	})
	if !scopeCovers("repo", "repo:status") || scopeCovers("repo", "repository") || !scopeCovers("s3:*", "s3:Get") {
		t.Error("scopeCovers")
	}
}
