package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckDormant(t *testing.T) {
	runCheck(t, checkDormant, []checkCase{
		{"used yesterday", in(), 0, "", ""},
		{"unused for 120 days", in(func(x *Input) { x.Identity.LastUsedAt = ago(120) }), 1, steward.SeverityLow, "last_used_at"},
		{"never used, created long ago", in(func(x *Input) { x.Identity.LastUsedAt = nil }), 1, "", "dormancy"},
		{"a credential used recently keeps it alive", in(func(x *Input) {
			x.Identity.LastUsedAt = ago(300)
			x.Credentials = []*steward.Credential{cred("a", "api_key", func(c *steward.Credential) { c.LastUsedAt = ago(3) })}
		}), 0, "", ""},
		{"suspended identities are already contained", in(func(x *Input) { x.Identity.LastUsedAt, x.Identity.Status = ago(300), steward.StatusSuspended }), 0, "", ""},
	})
}
