package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckNoExpiry(t *testing.T) {
	runCheck(t, checkNoExpiry, []checkCase{
		{"an identity with an expiry is fine", in(), 0, "", ""},
		{"no expiry and no credentials", in(func(x *Input) { x.Identity.ExpiresAt = nil }), 1, steward.SeverityLow, "max_lifetime"},
		{"a critical identity with a forever key is medium", in(func(x *Input) {
			x.Identity.ExpiresAt, x.Identity.Sensitivity = nil, steward.SensitivityCritical
			x.Credentials = []*steward.Credential{cred("crd_1", "api_key")}
		}), 1, steward.SeverityMedium, "credentials_without_expiry"},
		{"only federated credentials", in(func(x *Input) {
			x.Identity.ExpiresAt = nil
			x.Credentials = []*steward.Credential{cred("crd_1", "oidc_federation")}
		}), 0, "", ""},
	})
}
