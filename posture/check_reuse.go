package posture

import "github.com/steward-nhi/steward"

// checkCredentialReuse: one credential used by several distinct workloads
// or sources, or one secret held by several identities.
var checkCredentialReuse = Check{
	ID: "reuse.shared_credential", Title: "Credential shared by several workloads", OWASP: "NHI9", CSF: []string{"PR.AA-02"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if !in.live() {
			return nil
		}
		var out []Result
		if u := in.Usage; u != nil && in.Config.ReuseSources > 0 {
			if n := max(len(u.Workloads), len(u.Sources)); n >= in.Config.ReuseSources {
				out = append(out, Result{Severity: steward.SeverityMedium,
					Evidence:    map[string]any{"workloads": sortedKeys(u.Workloads), "sources": sortedKeys(u.Sources), "threshold": in.Config.ReuseSources},
					Remediation: "Give each workload its own identity (only that component can authenticate as it) and revoke the shared credential."})
			}
		}
		for _, c := range in.activeCredentials() {
			var same []string
			for _, o := range in.SharedWith[c.Fingerprint] {
				if o.IdentityID != i.ID && o.Environment == i.Environment {
					same = append(same, o.IdentityID)
				}
			}
			if c.Fingerprint == "" || len(same) == 0 {
				continue
			}
			out = append(out, Result{CredentialID: c.ID, Severity: steward.SeverityHigh, Title: "Same secret held by several identities",
				Evidence:    map[string]any{"fingerprint": c.Fingerprint, "other_identities": same},
				Remediation: "Issue a distinct secret per identity and revoke the shared one."})
		}
		return out
	},
}
