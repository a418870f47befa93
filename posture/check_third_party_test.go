package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckThirdParty(t *testing.T) {
	app := func(x *Input) { x.Identity.Kind, x.Identity.Provider = steward.KindOAuthApp, "github" }
	runCheck(t, checkThirdParty, []checkCase{
		{"a first-party service account is out of scope", in(func(x *Input) { x.Identity.Scopes = []string{"admin:org"} }), 0, "", ""},
		{"an OAuth app with admin scope is flagged", in(app, func(x *Input) { x.Identity.Scopes = []string{"read:user", "admin:org"} }), 1, steward.SeverityHigh, "scopes"},
		{"a vendor integration unused past dormancy is flagged", in(func(x *Input) { x.Identity.VendorManaged, x.Identity.LastUsedAt = true, ago(200) }), 1, steward.SeverityMedium, "last_used_at"},
		{"a used, narrowly scoped app is fine", in(app, func(x *Input) { x.Identity.Scopes = []string{"read:user"} }), 0, "", ""},
	})
}
