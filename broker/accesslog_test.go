package broker_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/broker"
)

// TestRequestLogNamesRequestRouteAndIdentity: the access log line of a
// request made with an identity's credential carries the request id, the
// route and the identity id, and never the credential.
func TestRequestLogNamesRequestRouteAndIdentity(t *testing.T) {
	e := newEnv(t, envOpts{})
	k := e.issue(e.ident.ID, broker.IssueRequest{Type: "api_key", Scopes: []string{"read"}})
	if res := e.get("/api/v1/whoami", k.Secret); res.status != 200 {
		t.Fatalf("whoami: %d %s", res.status, res.body)
	}
	if res := e.get("/api/v1/whoami", e.admin); res.status != 200 {
		t.Fatalf("whoami as admin: %d %s", res.status, res.body)
	}
	var nhi, operator map[string]any
	for _, line := range strings.Split(e.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "request" || m["route"] != "GET /api/v1/whoami" {
			continue
		}
		if m["actor"] == "nhi:"+e.ident.ID {
			nhi = m
		} else {
			operator = m
		}
	}
	if nhi == nil || operator == nil {
		t.Fatalf("no request lines for both callers in:\n%s", e.logs.String())
	}
	if nhi["identity_id"] != e.ident.ID || nhi["request_id"] == "" || nhi["request_id"] == nil {
		t.Errorf("the identity's request line: %v", nhi)
	}
	if _, ok := operator["identity_id"]; ok {
		t.Errorf("an operator's request names an identity: %v", operator)
	}
	if strings.Contains(e.logs.String(), k.Secret) || strings.Contains(e.logs.String(), e.admin) {
		t.Error("the log contains a credential")
	}
}
