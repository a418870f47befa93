package posture

import "strings"

var deprecatedMethods = map[string]string{
	"implicit":     "OAuth implicit flow",
	"password":     "resource-owner password grant",
	"ropc":         "resource-owner password grant",
	"app_password": "app password (bypasses MFA)",
	"basic":        "HTTP basic authentication with a static password",
	"no_pkce":      "authorization code without PKCE",
}

// checkDeprecatedAuth: an identity authenticates with a deprecated method
// (implicit flow, password grant, app passwords, code without PKCE).
var checkDeprecatedAuth = Check{
	ID: "auth.deprecated", Title: "Deprecated authentication method", OWASP: "NHI4", CSF: []string{"PR.AA-03"},
	Eval: func(in *Input) []Result {
		if !in.live() {
			return nil
		}
		i := in.Identity
		method := ""
		for _, k := range []string{"auth_method", "grant_type"} {
			if v := strings.ToLower(i.Labels[k]); deprecatedMethods[v] != "" {
				method = v
			}
		}
		if method == "" && strings.EqualFold(i.Labels["pkce"], "false") {
			method = "no_pkce"
		}
		credID := ""
		for _, c := range in.activeCredentials() {
			if method != "" {
				break
			}
			for _, v := range []string{strings.ToLower(c.Metadata["auth_method"]), strings.ToLower(c.Metadata["grant_type"]), c.Type} {
				if deprecatedMethods[v] != "" {
					method, credID = v, c.ID
					break
				}
			}
		}
		if method == "" {
			return nil
		}
		return []Result{{CredentialID: credID, Severity: tierSeverity(i.Sensitivity, 0),
			Evidence:    map[string]any{"method": method, "description": deprecatedMethods[method]},
			Remediation: "Move to OAuth 2.1 client credentials or authorization code with PKCE, or to federation; retire the " + deprecatedMethods[method] + "."}}
	},
}
