package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckCredentialReuse(t *testing.T) {
	runCheck(t, checkCredentialReuse, []checkCase{
		{"two sources", in(func(x *Input) {
			x.Usage = &steward.UsageSummary{Sources: map[string]steward.UsageStat{"10.0.0.1": {}, "10.0.0.2": {}}}
		}), 0, "", ""},
		{"three workloads", in(func(x *Input) {
			x.Usage = &steward.UsageSummary{Workloads: map[string]steward.UsageStat{"a": {}, "b": {}, "c": {}}}
		}), 1, steward.SeverityMedium, "workloads"},
		{"one secret in two identities of one environment", in(func(x *Input) {
			x.Credentials = []*steward.Credential{cred("crd_1", "api_key")}
			x.SharedWith["fp-crd_1"] = []steward.SharedCredential{{IdentityID: "nhi_1"}, {IdentityID: "nhi_9"}}
		}), 1, steward.SeverityHigh, "other_identities"},
	})
}
