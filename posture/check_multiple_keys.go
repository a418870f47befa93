package posture

import (
	"time"

	"github.com/steward-nhi/steward"
)

// checkMultipleActiveKeys: more than one long-lived key active on one
// identity (an old key left behind after a rotation).
var checkMultipleActiveKeys = Check{
	ID: "credentials.multiple_active", Title: "Several active keys on one identity", OWASP: "NHI7", CSF: []string{"PR.AA-01"},
	Eval: func(in *Input) []Result {
		if !in.live() {
			return nil
		}
		var keys []string
		for _, c := range in.activeCredentials() {
			if shortLived(c.Type) || (c.ExpiresAt != nil && c.ExpiresAt.Sub(in.Now) <= 7*24*time.Hour) {
				continue // in a rotation overlap, or short-lived
			}
			keys = append(keys, c.ID)
		}
		if len(keys) < 2 {
			return nil
		}
		return []Result{{Severity: steward.SeverityLow,
			Evidence:    map[string]any{"active_credentials": keys},
			Remediation: "Revoke the keys no longer in use; keep one active key outside rotation overlaps."}}
	},
}
