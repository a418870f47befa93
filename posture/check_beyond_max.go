package posture

import "time"

// checkBeyondMaxLifetime: an expiry further from issue than the tier's
// maximum lifetime, with no valid exception.
var checkBeyondMaxLifetime = Check{
	ID: "lifetime.beyond_max", Title: "Expiry beyond the tier's maximum lifetime", OWASP: "NHI7", CSF: []string{"PR.AA-01"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if !in.live() || in.Tier.MaxLifetime <= 0 {
			return nil
		}
		if e := i.Exception; e != nil && e.Until.After(in.Now) {
			return nil
		}
		limit := time.Duration(in.Tier.MaxLifetime)
		var out []Result
		basis := i.CreatedAt
		if i.LastRotatedAt != nil {
			basis = *i.LastRotatedAt
		}
		if i.ExpiresAt != nil && i.ExpiresAt.Sub(basis) > limit {
			out = append(out, Result{Severity: tierSeverity(i.Sensitivity, -1),
				Evidence:    map[string]any{"expires_at": rfc(i.ExpiresAt), "lifetime_days": days(i.ExpiresAt.Sub(basis)), "max_lifetime": in.Tier.MaxLifetime.String()},
				Remediation: "Shorten the expiry to the tier's maximum lifetime, or record a time-bound exception with a reason and an approver."})
		}
		for _, c := range in.activeCredentials() {
			cb := c.CreatedAt
			if c.LastRotatedAt != nil {
				cb = *c.LastRotatedAt
			}
			if c.ExpiresAt != nil && c.ExpiresAt.Sub(cb) > limit {
				out = append(out, Result{CredentialID: c.ID, Severity: tierSeverity(i.Sensitivity, -1),
					Evidence:    map[string]any{"expires_at": rfc(c.ExpiresAt), "lifetime_days": days(c.ExpiresAt.Sub(cb)), "max_lifetime": in.Tier.MaxLifetime.String()},
					Remediation: "Reissue the credential with a lifetime within the tier's maximum."})
			}
		}
		return out
	},
}
