package posture

import (
	"net/netip"
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckHumanUse(t *testing.T) {
	runCheck(t, checkHumanUse, []checkCase{
		{"automation only", in(func(x *Input) {
			x.Usage = &steward.UsageSummary{UserAgents: map[string]steward.UsageStat{"aws-sdk-go-v2/1.30": {}}}
		}), 0, "", ""},
		{"console password on a service user (imported AWS label)", in(func(x *Input) { x.Identity.Labels["console_password"] = "true" }), 1, steward.SeverityHigh, "console_password"},
		{"a browser user agent", in(func(x *Input) {
			x.Usage = &steward.UsageSummary{UserAgents: map[string]steward.UsageStat{"Mozilla/5.0 (Macintosh)": {}}}
		}), 1, steward.SeverityMedium, "user_agents"},
		{"use from the office network", in(func(x *Input) {
			x.Config.OfficeCIDRs = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
			x.Usage = &steward.UsageSummary{Sources: map[string]steward.UsageStat{"203.0.113.7": {}}}
		}), 1, "", "office_sources"},
	})
}
