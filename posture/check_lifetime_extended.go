package posture

import "github.com/steward-nhi/steward"

// checkLifetimeExtended: the lifetime was extended again and again —
// standing access in disguise.
var checkLifetimeExtended = Check{
	ID: "lifetime.extended", Title: "Lifetime repeatedly extended (standing access)", OWASP: "NHI7", CSF: []string{"PR.AA-01"},
	Eval: func(in *Input) []Result {
		if !in.live() || in.Config.MaxExtensions <= 0 || in.ExpiryExtensions < in.Config.MaxExtensions {
			return nil
		}
		return []Result{{Severity: steward.SeverityMedium,
			Evidence:    map[string]any{"extensions": in.ExpiryExtensions, "threshold": in.Config.MaxExtensions},
			Remediation: "Stop extending: replace the standing credential with short-lived issuance or just-in-time access."}}
	},
}
