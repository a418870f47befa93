package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckStaticSecret(t *testing.T) {
	runCheck(t, checkStaticSecret, []checkCase{
		{"an AWS access key where roles exist", in(func(x *Input) { x.Credentials = []*steward.Credential{cred("crd_1", "aws_access_key")} }), 1, steward.SeverityLow, "alternative"},
		{"OIDC federation is fine", in(func(x *Input) { x.Credentials = []*steward.Credential{cred("crd_1", "oidc_federation")} }), 0, "", ""},
		{"a provider without federation is out of scope", in(func(x *Input) {
			x.Identity.Provider = "datadog"
			x.Credentials = []*steward.Credential{cred("crd_1", "api_key")}
		}), 0, "", ""},
		{"a static key expiring within a day is short-lived", in(func(x *Input) {
			x.Credentials = []*steward.Credential{cred("crd_1", "gcp_sa_key", func(c *steward.Credential) { t := now.Add(3600e9); c.ExpiresAt = &t })}
		}), 0, "", ""},
	})
}
