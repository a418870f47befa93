package posture

// checkOwnerMissing: a live identity with no accountable owner.
var checkOwnerMissing = Check{
	ID: "owner.missing", Title: "Identity has no owner", OWASP: "NHI1", CSF: []string{"GV.RR-02", "PR.AA-01"},
	Eval: func(in *Input) []Result {
		if !in.live() || in.Identity.OwnerID != "" {
			return nil
		}
		return []Result{{
			Severity:    tierSeverity(in.Identity.Sensitivity, 0),
			Evidence:    map[string]any{"sensitivity": in.Identity.Sensitivity, "status": in.Identity.Status, "team": in.Identity.Team},
			Remediation: "Assign an accountable, active owner (PATCH the identity's owner_id), or revoke the identity if nothing needs it.",
		}}
	},
}
