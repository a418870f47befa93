package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckLifetimeExtended(t *testing.T) {
	runCheck(t, checkLifetimeExtended, []checkCase{
		{"extended twice", in(func(x *Input) { x.ExpiryExtensions = 2 }), 0, "", ""},
		{"extended three times", in(func(x *Input) { x.ExpiryExtensions = 3 }), 1, steward.SeverityMedium, "extensions"},
	})
}
