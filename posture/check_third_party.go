package posture

import (
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// checkThirdParty: a third-party integration (OAuth app, GitHub App,
// vendor-managed identity) with admin or write-all scopes, or unused.
var checkThirdParty = Check{
	ID: "third_party.risky", Title: "Third-party integration is over-privileged or unused", OWASP: "NHI3", CSF: []string{"GV.SC-04", "ID.AM-04"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if !in.active() || !thirdParty(i) {
			return nil
		}
		var broad []string
		for _, s := range i.Scopes {
			if broadScope(s) {
				broad = append(broad, s)
			}
		}
		if len(broad) > 0 {
			return []Result{{Severity: tierSeverity(i.Sensitivity, 1), Title: "Third-party integration holds admin or write-all scopes",
				Evidence:    map[string]any{"scopes": broad, "provider": i.Provider, "vendor_managed": i.VendorManaged},
				Remediation: "Reduce the integration's scopes to what it needs (read-only where possible), or remove the integration."}}
		}
		last := in.lastUsed()
		dormancy := time.Duration(in.Tier.Dormancy)
		if dormancy > 0 && i.CreatedAt.Before(in.Now.Add(-dormancy)) && (last == nil || last.Before(in.Now.Add(-dormancy))) {
			return []Result{{Severity: steward.SeverityMedium, Title: "Third-party integration is unused",
				Evidence:    map[string]any{"last_used_at": rfc(last), "dormancy_days": days(dormancy), "provider": i.Provider},
				Remediation: "Revoke the unused integration's access; re-grant it minimally if it is needed again."}}
		}
		return nil
	},
}

func thirdParty(i *steward.Identity) bool {
	return i.VendorManaged || i.Kind == steward.KindOAuthApp || strings.HasPrefix(i.Provider, "vendor:") ||
		strings.Contains(strings.ToLower(i.Labels["app_type"]), "github_app")
}

// broadScope reports an admin or write-everything scope.
func broadScope(s string) bool {
	l := strings.ToLower(s)
	switch {
	case l == "*", l == "repo", strings.Contains(l, "admin"), strings.Contains(l, "write:all"), strings.Contains(l, "write-all"),
		strings.Contains(l, "write_all"), strings.HasSuffix(l, ".readwrite.all"), strings.HasSuffix(l, "/cloud-platform"),
		strings.Contains(l, "full_access"), strings.HasSuffix(l, ":*"):
		return true
	}
	return false
}
