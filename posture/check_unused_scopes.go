package posture

import (
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// checkUnusedScopes: scopes granted but not used for UnusedScopeDays, with
// the least-privilege suggestion "granted − used". Needs usage data.
var checkUnusedScopes = Check{
	ID: "privilege.unused_scopes", Title: "Granted scopes are never used", OWASP: "NHI5", CSF: []string{"PR.AA-05"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if in.Usage == nil || in.Usage.Total == 0 || !in.active() || len(i.Scopes) == 0 {
			return nil
		}
		window := time.Duration(in.Config.UnusedScopeDays) * 24 * time.Hour
		if i.CreatedAt.After(in.Now.Add(-window)) {
			return nil
		}
		since := in.Now.Add(-window)
		var used, unused []string
		broad := false
		for _, s := range i.Scopes {
			ok := false
			for a, st := range in.Usage.Actions {
				if st.LastSeen.After(since) && scopeCovers(s, a) {
					ok = true
					break
				}
			}
			if ok {
				used = append(used, s)
			} else {
				unused = append(unused, s)
				broad = broad || broadScope(s)
			}
		}
		if len(unused) == 0 {
			return nil
		}
		sev := steward.SeverityMedium
		if broad {
			sev = steward.SeverityHigh
		}
		if used == nil {
			used = []string{}
		}
		return []Result{{Severity: sev,
			Evidence: map[string]any{"granted": i.Scopes, "used": used, "unused": unused, "window_days": in.Config.UnusedScopeDays,
				"suggested_scopes": used},
			Remediation: "Reduce the identity's scopes to the ones it uses (granted − used): remove " + strings.Join(unused, ", ") + "."}}
	},
}

// scopeCovers reports whether granting scope allows action: equal, a
// prefix at a separator, or a trailing wildcard.
func scopeCovers(scope, action string) bool {
	if scope == action || scope == "*" {
		return true
	}
	if p, ok := strings.CutSuffix(scope, "*"); ok {
		return strings.HasPrefix(action, p)
	}
	for _, sep := range []string{":", ".", "/"} {
		if strings.HasPrefix(action, scope+sep) {
			return true
		}
	}
	return false
}
