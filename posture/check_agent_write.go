package posture

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// standingAfter is how far ahead a credential's expiry must lie for it to
// be standing access rather than a short-lived grant.
const standingAfter = 24 * time.Hour

// checkAgentStandingWrite: an AI agent holds a long-lived secret (an API
// key, a client secret, a provider's static key) whose scopes let it
// change, delete or administer things on its own, at any time, whatever
// task it is on. The good state is an agent without standing write
// access: it authenticates by federation (tokens that last minutes), a
// standing secret it keeps reads at most, and it writes through
// delegation: a principal's token exchanged with the agent's as
// actor_token yields a short-lived token limited to what both hold, which
// ends when either is revoked.
var checkAgentStandingWrite = Check{
	ID: "agent.standing_write_scopes", Title: "AI agent holds standing write access", OWASP: "NHI5", CSF: []string{"PR.AA-05", "PR.AA-01"},
	Eval: func(in *Input) []Result {
		if !in.active() || in.Identity.Kind != steward.KindAIAgent {
			return nil
		}
		var out []Result
		for _, c := range in.activeCredentials() {
			if !slices.Contains(retainedTypes, c.Type) || (c.ExpiresAt != nil && c.ExpiresAt.Sub(in.Now) <= standingAfter) {
				continue
			}
			scopes, from := c.Scopes, "credential"
			if len(scopes) == 0 {
				// A credential without scopes of its own (an imported key)
				// carries the identity's.
				scopes, from = in.Identity.Scopes, "identity"
			}
			var write, destructive, keep []string
			for _, sc := range scopes {
				switch scopeClass(in.Identity.Provider, sc) {
				case scopeRead:
					keep = append(keep, sc)
				case scopeWrite:
					write = append(write, sc)
				default:
					destructive = append(destructive, sc)
				}
			}
			if len(write)+len(destructive) == 0 {
				continue
			}
			bump := 0
			if len(destructive) > 0 {
				bump++
			}
			if c.ExpiresAt == nil {
				bump++
			}
			all := append(slices.Clone(destructive), write...)
			slices.Sort(all)
			fix := fmt.Sprintf("Take %s off the agent's standing credential %s. Authenticate the agent by a federation binding instead "+
				"(steward federation bind %s --issuer NAME --sub PATTERN), so that its own tokens last minutes, and let it write only on a principal's behalf: "+
				"the principal's token exchanged with the agent's as actor_token (steward token exchange --subject-token … --actor-token …) gives a short-lived "+
				"token limited to the scopes both hold and ends when either is revoked. ", strings.Join(all, ", "), c.ID, in.Identity.ID)
			switch {
			case in.Identity.Provider != "steward" || !slices.Contains([]string{steward.CredentialTypeAPIKey, steward.CredentialTypeClientSecret}, c.Type):
				fix += fmt.Sprintf("Then replace %s at %s with a key that only reads, or retire it.", c.ID, in.Identity.Provider)
			case len(keep) > 0:
				fix += fmt.Sprintf("If the agent still needs a standing secret to read, issue one limited to that (steward credential issue %s --type %s --scope %s); "+
					"then revoke %s (steward credential revoke %s).", in.Identity.ID, c.Type, strings.Join(keep, " --scope "), c.ID, c.ID)
			default:
				fix += fmt.Sprintf("Then revoke %s (steward credential revoke %s).", c.ID, c.ID)
			}
			out = append(out, Result{CredentialID: c.ID, Severity: tierSeverity(in.Identity.Sensitivity, bump),
				Evidence: map[string]any{"credential_type": c.Type, "expires_at": rfc(c.ExpiresAt), "last_used_at": rfc(c.LastUsedAt), "scopes_of": from,
					"write_scopes": nonNil(write), "destructive_scopes": nonNil(destructive), "read_scopes": nonNil(keep)},
				Remediation: fix})
		}
		return out
	},
}
