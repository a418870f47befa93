package posture

import (
	"net/netip"
	"strings"

	"github.com/steward-nhi/steward"
)

// checkHumanUse: signs that a person uses the machine identity — a console
// password on a service user, interactive browser user agents, use from
// office networks.
var checkHumanUse = Check{
	ID: "human_use", Title: "Machine identity used by a person", OWASP: "NHI10", CSF: []string{"PR.AA-02"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if !in.live() {
			return nil
		}
		var reasons []string
		ev := map[string]any{}
		if truthy(i.Labels["console_password"]) {
			reasons = append(reasons, "console password enabled")
			ev["console_password"] = true
		}
		if u := in.Usage; u != nil {
			var agents []string
			for _, a := range sortedKeys(u.UserAgents) {
				if interactiveAgent(a) {
					agents = append(agents, a)
				}
			}
			if len(agents) > 0 {
				reasons = append(reasons, "interactive user agents")
				ev["user_agents"] = agents
			}
			var office []string
			for _, s := range sortedKeys(u.Sources) {
				if inPrefixes(s, in.Config.OfficeCIDRs) {
					office = append(office, s)
				}
			}
			if len(office) > 0 {
				reasons = append(reasons, "use from office networks")
				ev["office_sources"] = office
			}
		}
		if len(reasons) == 0 {
			return nil
		}
		ev["reasons"] = reasons
		sev := steward.SeverityMedium
		if len(reasons) > 1 || ev["console_password"] == true {
			sev = steward.SeverityHigh
		}
		return []Result{{Severity: sev, Evidence: ev,
			Remediation: "Give the person their own identity; disable console access on the service user and block interactive use with conditional access."}}
	},
}

// interactiveAgent reports a browser or console user agent.
func interactiveAgent(ua string) bool {
	l := strings.ToLower(ua)
	for _, w := range []string{"mozilla/", "chrome/", "safari/", "firefox/", "edg/", "signin.aws.amazon.com", "console"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

func inPrefixes(addr string, ps []netip.Prefix) bool {
	if len(ps) == 0 {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		if ap, err2 := netip.ParseAddrPort(addr); err2 == nil {
			a = ap.Addr()
		} else {
			return false
		}
	}
	for _, p := range ps {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}
