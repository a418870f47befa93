package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckCredentialDormant(t *testing.T) {
	key := func(mods ...func(*steward.Credential)) func(*Input) {
		return func(x *Input) { x.Credentials = append(x.Credentials, cred("key", "aws_access_key", mods...)) }
	}
	usedAgo := func(d int) func(*steward.Credential) { return func(c *steward.Credential) { c.LastUsedAt = ago(d) } }
	createdAgo := func(d int) func(*steward.Credential) { return func(c *steward.Credential) { c.CreatedAt = *ago(d) } }
	runCheck(t, checkCredentialDormant, []checkCase{
		{"an access key unused for 15 months while the password was used last month", in(func(x *Input) { x.Identity.LastUsedAt = ago(30) },
			key(createdAgo(700), usedAgo(450))), 1, steward.SeverityLow, "last_used_at"},
		{"a key used recently", in(key(createdAgo(700), usedAgo(5))), 0, "", ""},
		{"a key never used and created long ago counts from its creation", in(key(createdAgo(200))), 1, "", "created_at"},
		{"a key never used but created last week", in(key(createdAgo(7))), 0, "", ""},
		{"a revoked key is not standing access", in(key(createdAgo(700), usedAgo(450), func(c *steward.Credential) { c.Status = steward.CredentialRevoked })), 0, "", ""},
		{"an expired key is not standing access", in(key(createdAgo(700), usedAgo(450), func(c *steward.Credential) { c.ExpiresAt = ago(1) })), 0, "", ""},
		{"a critical identity's dormant key is rated high", in(func(x *Input) { x.Identity.Sensitivity = steward.SensitivityCritical },
			key(createdAgo(700), usedAgo(120))), 1, steward.SeverityHigh, "dormancy"},
		{"a dormant identity is covered by its own finding", in(func(x *Input) { x.Identity.LastUsedAt = ago(300) },
			key(createdAgo(700), usedAgo(300))), 0, "", ""},
		{"a suspended identity is already contained", in(func(x *Input) { x.Identity.Status = steward.StatusSuspended },
			key(createdAgo(700), usedAgo(450))), 0, "", ""},
	})
	t.Run("each dormant credential is its own result", func(t *testing.T) {
		x := in(key(createdAgo(700), usedAgo(450)), func(x *Input) {
			x.Credentials = append(x.Credentials, cred("old", "api_key", createdAgo(300)), cred("live", "api_key", usedAgo(1)))
		})
		got := checkCredentialDormant.Eval(x)
		if len(got) != 2 || got[0].CredentialID != "key" || got[1].CredentialID != "old" {
			t.Fatalf("results %+v, want key and old", got)
		}
	})
}
