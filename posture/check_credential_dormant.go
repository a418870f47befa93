package posture

import (
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

// checkCredentialDormant: one active credential of an identity in use has
// gone unused for the tier's dormancy threshold (a credential never used
// counts from its creation). An unused key is standing access whatever the
// identity does with its other credentials; when the whole identity is
// dormant, the identity's own finding covers its credentials.
var checkCredentialDormant = Check{
	ID: "credential.dormant", Title: "Active credential is dormant", OWASP: "NHI1", CSF: []string{"ID.AM-08", "PR.AA-01"},
	Eval: func(in *Input) []Result {
		if !in.active() || in.Tier.Dormancy <= 0 {
			return nil
		}
		if dormant, _ := in.Dormant(); dormant {
			return nil
		}
		var out []Result
		for _, c := range in.DormantCredentials() {
			basis, field := c.CreatedAt, "created_at"
			if c.LastUsedAt != nil {
				basis, field = *c.LastUsedAt, "last_used_at"
			}
			name := c.Type
			if c.Hint != "" {
				name += " …" + c.Hint
			} else if c.ExternalRef != "" {
				name += " " + c.ExternalRef
			}
			out = append(out, Result{CredentialID: c.ID, Severity: tierSeverity(in.Identity.Sensitivity, -1),
				Title: fmt.Sprintf("Credential %s unused for %d days", name, days(in.Now.Sub(basis))),
				Evidence: map[string]any{"credential_id": c.ID, "type": c.Type, "last_used_at": rfc(c.LastUsedAt), "created_at": rfc(&c.CreatedAt),
					"basis": field, "dormancy": in.Tier.Dormancy.String(), "identity_last_used_at": rfc(in.lastUsed())},
				Remediation: "Revoke this credential (the identity keeps its others) unless its owner confirms it is needed; dormancy enforcement revokes it."})
		}
		return out
	},
}

// DormantCredentials returns the active credentials unused for the tier's
// dormancy threshold: last used, or if never used created, before it.
func (in *Input) DormantCredentials() []*steward.Credential {
	if in.Tier.Dormancy <= 0 {
		return nil
	}
	cut := in.Now.Add(-time.Duration(in.Tier.Dormancy))
	var out []*steward.Credential
	for _, c := range in.activeCredentials() {
		basis := c.CreatedAt
		if c.LastUsedAt != nil {
			basis = *c.LastUsedAt
		}
		if basis.Before(cut) {
			out = append(out, c)
		}
	}
	return out
}
