package httpapi_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestDecisionMetrics: every AuthZEN decision, single or in a batch, is
// counted by decision and by the policy set that determined it, and timed.
func TestDecisionMetrics(t *testing.T) {
	e := newAuthzEnv(t, sqltest.OpenSQLite, nil)
	e.loadFixture()
	allow := `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`
	deny := `{"subject":{"type":"user","id":"bob"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}`
	e.do("POST", "/access/v1/evaluation", e.admin, "application/json", allow)
	e.do("POST", "/access/v1/evaluation", e.admin, "application/json", deny)
	e.do("POST", "/access/v1/evaluations", e.admin, "application/json",
		`{"subject":{"type":"user","id":"alice"},"evaluations":[{"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}},{"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}]}`)
	body := string(e.do("GET", "/metrics", "", "", "").body)
	count := func(re string) float64 {
		t.Helper()
		var total float64
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(body, -1) {
			var v float64
			for _, c := range m[1] {
				v = v*10 + float64(c-'0')
			}
			total += v
		}
		return total
	}
	if got := count(`(?m)^steward_authz_decisions_total\{decision="allow",policy_set="[^"]+"\} (\d+)$`); got != 3 {
		t.Errorf("allow decisions = %v, want 3:\n%s", got, grep(body, "steward_authz"))
	}
	if got := count(`(?m)^steward_authz_decisions_total\{decision="deny",policy_set="[^"]*"\} (\d+)$`); got != 1 {
		t.Errorf("deny decisions = %v, want 1:\n%s", got, grep(body, "steward_authz"))
	}
	if !strings.Contains(body, `steward_authz_decision_duration_seconds_count{decision="allow"}`) {
		t.Errorf("no decision latency histogram:\n%s", grep(body, "steward_authz"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
