package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckSecretLeaked(t *testing.T) {
	leak := func(status string) func(*Input) {
		return func(x *Input) {
			x.Credentials = []*steward.Credential{cred("crd_1", "aws_access_key")}
			x.Discoveries = []steward.Sighting{{Fingerprint: "fp-crd_1", Rule: "aws-access-key", Repository: "acme/app", File: ".github/workflows/ci.yml", Line: 3, Status: status}}
		}
	}
	runCheck(t, checkSecretLeaked, []checkCase{
		{"no discovery source means nothing", in(), 0, "", ""},
		{"a leaked active secret is critical", in(leak("open")), 1, steward.SeverityCritical, "location"},
		{"a resolved sighting is ignored", in(leak("resolved")), 0, "", ""},
		{"a leaked revoked secret is no longer a finding", in(leak("open"), func(x *Input) { x.Credentials[0].Status = steward.CredentialRevoked }), 0, "", ""},
	})
}
