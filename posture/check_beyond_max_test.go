package posture

import (
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

func TestCheckBeyondMaxLifetime(t *testing.T) {
	long := func(x *Input) { x.Identity.ExpiresAt = ahead(400) } // medium max 90 d
	runCheck(t, checkBeyondMaxLifetime, []checkCase{
		{"within the maximum", in(), 0, "", ""},
		{"beyond the maximum", in(long), 1, steward.SeverityLow, "lifetime_days"},
		{"a valid exception covers it", in(long, func(x *Input) {
			x.Identity.Exception = &steward.Exception{Reason: "vendor", Until: now.Add(500 * 24 * time.Hour)}
		}), 0, "", ""},
		{"an expired exception does not", in(long, func(x *Input) { x.Identity.Exception = &steward.Exception{Reason: "vendor", Until: *ago(1)} }), 1, "", ""},
		{"a credential issued for too long", in(func(x *Input) {
			x.Credentials = []*steward.Credential{cred("crd_1", "api_key", func(c *steward.Credential) { c.ExpiresAt = ahead(200) })}
		}), 1, "", "expires_at"},
	})
}
