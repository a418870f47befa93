package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckDeprecatedAuth(t *testing.T) {
	runCheck(t, checkDeprecatedAuth, []checkCase{
		{"no marker, no finding", in(), 0, "", ""},
		{"implicit flow label", in(func(x *Input) { x.Identity.Labels["grant_type"] = "implicit" }), 1, steward.SeverityMedium, "method"},
		{"code flow without PKCE", in(func(x *Input) { x.Identity.Labels["pkce"] = "false" }), 1, "", "method"},
		{"an app password credential", in(func(x *Input) { x.Credentials = []*steward.Credential{cred("crd_1", "app_password")} }), 1, "", "description"},
	})
}
