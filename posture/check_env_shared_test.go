package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckEnvShared(t *testing.T) {
	runCheck(t, checkEnvShared, []checkCase{
		{"one environment", in(func(x *Input) {
			x.Usage = &steward.UsageSummary{Environments: map[string]steward.UsageStat{"prod": {}}}
		}), 0, "", ""},
		{"used from dev and prod", in(func(x *Input) {
			x.Usage = &steward.UsageSummary{Environments: map[string]steward.UsageStat{"prod": {}, "dev": {}}}
		}), 1, steward.SeverityHigh, "environments"},
		{"the same secret held in staging", in(func(x *Input) {
			x.Identity.Environment = "dev"
			x.Credentials = []*steward.Credential{cred("crd_1", "api_key")}
			x.SharedWith["fp-crd_1"] = []steward.SharedCredential{{IdentityID: "nhi_1", Environment: "dev"}, {IdentityID: "nhi_2", Environment: "staging"}}
		}), 1, steward.SeverityMedium, "other_identities"},
	})
}
