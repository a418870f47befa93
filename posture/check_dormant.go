package posture

import "time"

// Dormant reports whether an active identity has gone unused for the
// tier's dormancy threshold (never used counts from its creation).
func (in *Input) Dormant() (bool, *time.Time) {
	if !in.active() || in.Tier.Dormancy <= 0 {
		return false, nil
	}
	cut := in.Now.Add(-time.Duration(in.Tier.Dormancy))
	last := in.lastUsed()
	if last == nil {
		return in.Identity.CreatedAt.Before(cut), nil
	}
	return last.Before(cut), last
}

// checkDormant: active but unused for the tier's dormancy threshold.
var checkDormant = Check{
	ID: "dormant", Title: "Active identity is dormant", OWASP: "NHI1", CSF: []string{"ID.AM-08", "PR.AA-01"},
	Eval: func(in *Input) []Result {
		ok, last := in.Dormant()
		if !ok {
			return nil
		}
		return []Result{{Severity: tierSeverity(in.Identity.Sensitivity, -1),
			Evidence:    map[string]any{"last_used_at": rfc(last), "dormancy": in.Tier.Dormancy.String(), "created_at": rfc(&in.Identity.CreatedAt)},
			Remediation: "Suspend the identity and revoke it after the grace period unless its owner confirms it is needed (dormancy enforcement can do this)."}}
	},
}
