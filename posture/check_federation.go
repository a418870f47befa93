package posture

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Federation is what the federation checks see of an identity: its active
// bindings and every trusted issuer.
type Federation struct {
	Bindings []*steward.FederationBinding
	Issuers  map[string]*steward.TrustedIssuer // by name
}

// bindings returns the identity's active bindings whose issuer exists,
// with the issuer; nil when federation is not configured.
func (in *Input) bindings() []boundIssuer {
	if in.Federation == nil {
		return nil
	}
	var out []boundIssuer
	for _, b := range in.Federation.Bindings {
		if b.Status != steward.CredentialActive {
			continue
		}
		if ti := in.Federation.Issuers[b.Issuer]; ti != nil {
			out = append(out, boundIssuer{b, ti})
		}
	}
	return out
}

type boundIssuer struct {
	b  *steward.FederationBinding
	ti *steward.TrustedIssuer
}

// checkBindingBroad: a binding whose patterns admit many workloads (a
// wildcard subject, a CI binding without a fixed branch or environment, a
// Kubernetes binding without a fixed service account), so one compromised
// or newly created workload gets the identity's access.
var checkBindingBroad = Check{
	ID: "federation.binding_broad", Title: "Federation binding admits many workloads", OWASP: "NHI5", CSF: []string{"PR.AA-05", "PR.AA-03"},
	Eval: func(in *Input) []Result {
		if !in.live() {
			return nil
		}
		var out []Result
		for _, x := range in.bindings() {
			var missing, fixes []string
			sev := tierSeverity(in.Identity.Sensitivity, 0)
			if strings.Trim(x.b.Subject, "*?") == "" {
				missing, fixes = []string{"subject"}, []string{"replace the subject pattern " + quote(x.b.Subject) + " with the workload's subject"}
				sev = tierSeverity(in.Identity.Sensitivity, 1)
			}
			for _, p := range bindingPins[x.ti.Kind] {
				if len(missing) > 0 && missing[0] == "subject" {
					break
				}
				if !p.fixed(x.b) {
					missing, fixes = append(missing, p.What), append(fixes, p.Fix)
				}
			}
			var wildClaims []string
			for _, k := range sortedKeys(x.b.Claims) {
				if strings.Trim(x.b.Claims[k], "*") == "" {
					wildClaims = append(wildClaims, k)
				}
			}
			if len(missing) == 0 && len(wildClaims) == 0 {
				continue
			}
			if len(wildClaims) > 0 {
				fixes = append(fixes, "drop or fix the claim patterns that match anything ("+strings.Join(wildClaims, ", ")+")")
			}
			out = append(out, Result{CredentialID: x.b.ID, Severity: sev,
				Evidence: map[string]any{"issuer": x.ti.Name, "issuer_kind": x.ti.Kind, "subject": x.b.Subject, "claims": claimsAny(x.b.Claims),
					"unpinned": nonNil(missing), "wildcard_claims": nonNil(wildClaims)},
				Remediation: fmt.Sprintf("Narrow binding %s so that it admits one workload: %s. Bind the narrower pattern (steward federation bind %s --issuer %s …), then remove this one (steward federation unbind %s).",
					x.b.ID, strings.Join(fixes, "; "), in.Identity.ID, x.ti.Name, x.b.ID)})
		}
		return out
	},
}

// checkIssuerUnrestricted: a binding relies on a trusted issuer that
// vouches for tokens other parties hold: it accepts an audience shared
// with other services, or it is a public issuer (GitHub Actions, gitlab.com)
// and the binding does not pin the tenant, so any repository on the
// platform can mint a matching token.
var checkIssuerUnrestricted = Check{
	ID: "federation.issuer_unrestricted", Title: "Trusted issuer without audience or subject restriction", OWASP: "NHI6", CSF: []string{"PR.AA-03", "PR.PS-01"},
	Eval: func(in *Input) []Result {
		if !in.live() {
			return nil
		}
		var out []Result
		for _, x := range in.bindings() {
			var problems, fixes []string
			sev := tierSeverity(in.Identity.Sensitivity, 0)
			var shared []string
			for _, a := range x.ti.Audiences {
				if whose := sharedAudience(a); whose != "" {
					shared = append(shared, a)
					problems = append(problems, fmt.Sprintf("accepts audience %q, which belongs to %s", a, whose))
				}
			}
			if len(shared) > 0 {
				fixes = append(fixes, fmt.Sprintf("set the audiences of issuer %s to Steward's own (its issuer URL) and have the workload request that audience (steward federation issuer update %s --audience …)", x.ti.Name, x.ti.Name))
			}
			if p, ok := findPublic(x.ti.Issuer); ok && !p.Tenant.fixed(x.b) {
				problems = append(problems, fmt.Sprintf("%s issues tokens to anyone and the binding does not pin the %s", p.URL, p.Tenant.What))
				fixes = append(fixes, p.Tenant.Fix)
				sev = steward.SeverityCritical
			}
			if len(problems) == 0 {
				continue
			}
			out = append(out, Result{CredentialID: x.b.ID, Severity: sev,
				Evidence: map[string]any{"issuer": x.ti.Name, "issuer_url": x.ti.Issuer, "audiences": nonNil(x.ti.Audiences), "shared_audiences": nonNil(shared),
					"subject": x.b.Subject, "problems": problems},
				Remediation: "Restrict what binding " + x.b.ID + " trusts: " + strings.Join(fixes, "; ") + "."})
		}
		return out
	},
}

// checkStaticSecretRetained: an identity authenticates through a
// federation binding but still holds a standing secret that should have
// been retired when the binding was made.
var checkStaticSecretRetained = Check{
	ID: "federation.static_secret_retained", Title: "Federated workload still holds a static secret", OWASP: "NHI7", CSF: []string{"PR.AA-01", "PR.AA-03"},
	Eval: func(in *Input) []Result {
		bs := in.bindings()
		if !in.active() || len(bs) == 0 {
			return nil
		}
		since := bs[0].b.CreatedAt
		var issuers []string
		for _, x := range bs {
			if x.b.CreatedAt.Before(since) {
				since = x.b.CreatedAt
			}
			if !slices.Contains(issuers, x.ti.Name) {
				issuers = append(issuers, x.ti.Name)
			}
		}
		var out []Result
		for _, c := range in.activeCredentials() {
			if !slices.Contains(retainedTypes, c.Type) || (c.ExpiresAt != nil && c.ExpiresAt.Sub(in.Now) <= 24*time.Hour) {
				continue
			}
			used := c.LastUsedAt != nil && c.LastUsedAt.After(since)
			fix := fmt.Sprintf("Revoke credential %s (steward credential revoke %s): the identity authenticates by token exchange through %s.", c.ID, c.ID, strings.Join(issuers, ", "))
			if used {
				fix = fmt.Sprintf("Move the callers still using credential %s (last used %s) to token exchange through %s, then revoke it (steward credential revoke %s).",
					c.ID, c.LastUsedAt.UTC().Format(time.RFC3339), strings.Join(issuers, ", "), c.ID)
			}
			out = append(out, Result{CredentialID: c.ID, Severity: tierSeverity(in.Identity.Sensitivity, 0),
				Evidence: map[string]any{"credential_type": c.Type, "created_at": rfc(&c.CreatedAt), "last_used_at": rfc(c.LastUsedAt), "used_since_binding": used,
					"federated_since": rfc(&since), "issuers": issuers, "bindings": len(bs)},
				Remediation: fix})
		}
		return out
	},
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func claimsAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
