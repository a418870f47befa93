package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckCIStaticCloud(t *testing.T) {
	key := func(x *Input) { x.Credentials = []*steward.Credential{cred("crd_1", "aws_access_key")} }
	runCheck(t, checkCIStaticCloud, []checkCase{
		{"a static key outside CI is not this check", in(key), 0, "", ""},
		{"a CI-labelled identity with an AWS key", in(key, func(x *Input) { x.Identity.Labels["used-by"] = "github-actions" }), 1, steward.SeverityHigh, "ci"},
		{"a key found in a workflow file", in(key, func(x *Input) {
			x.Discoveries = []steward.Sighting{{Fingerprint: "fp-crd_1", File: ".github/workflows/deploy.yml", Status: "open"}}
		}), 1, "", "ci"},
		{"CI with federation is fine", in(func(x *Input) {
			x.Identity.Labels["ci"] = "true"
			x.Credentials = []*steward.Credential{cred("crd_1", "oidc_federation")}
		}), 0, "", ""},
	})
}
