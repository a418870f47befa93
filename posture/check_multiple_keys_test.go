package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckMultipleActiveKeys(t *testing.T) {
	runCheck(t, checkMultipleActiveKeys, []checkCase{
		{"one key", in(func(x *Input) { x.Credentials = []*steward.Credential{cred("a", "api_key")} }), 0, "", ""},
		{"two long-lived keys", in(func(x *Input) { x.Credentials = []*steward.Credential{cred("a", "api_key"), cred("b", "api_key")} }), 1, steward.SeverityLow, "active_credentials"},
		{"the old key is in its rotation overlap", in(func(x *Input) {
			x.Credentials = []*steward.Credential{cred("a", "api_key", func(c *steward.Credential) { c.ExpiresAt = ahead(2) }), cred("b", "api_key")}
		}), 0, "", ""},
	})
}
