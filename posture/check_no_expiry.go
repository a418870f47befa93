package posture

import "github.com/steward-nhi/steward"

// checkNoExpiry: a live identity with a secret that never expires.
var checkNoExpiry = Check{
	ID: "lifetime.no_expiry", Title: "Secret never expires", OWASP: "NHI7", CSF: []string{"PR.AA-01"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if !in.live() || i.ExpiresAt != nil {
			return nil
		}
		var forever []string
		for _, c := range in.activeCredentials() {
			if c.ExpiresAt == nil && !shortLived(c.Type) {
				forever = append(forever, c.ID)
			}
		}
		if len(in.Credentials) > 0 && len(forever) == 0 {
			return nil
		}
		sev := steward.SeverityLow
		if i.Sensitivity == steward.SensitivityCritical || i.Sensitivity == steward.SensitivityHigh {
			sev = steward.SeverityMedium
		}
		if forever == nil {
			forever = []string{}
		}
		return []Result{{Severity: sev,
			Evidence:    map[string]any{"sensitivity": i.Sensitivity, "max_lifetime": in.Tier.MaxLifetime.String(), "credentials_without_expiry": forever},
			Remediation: "Set an expiry within the tier's maximum lifetime (" + in.Tier.MaxLifetime.String() + ") and rotate before it."}}
	},
}

// shortLived reports credential types that are minted per use or
// federated rather than stored.
func shortLived(t string) bool {
	switch t {
	case "aws_role_trust", "oidc_federation", "federated_credential", "k8s_projected_token", "access_token":
		return true
	}
	return false
}
