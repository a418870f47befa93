package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckOwnerMissing(t *testing.T) {
	runCheck(t, checkOwnerMissing, []checkCase{
		{"an owned identity is fine", in(), 0, "", ""},
		{"an unowned critical identity is a critical finding", in(func(x *Input) {
			x.Identity.OwnerID, x.Owner, x.Identity.Sensitivity = "", nil, steward.SensitivityCritical
		}), 1, steward.SeverityCritical, "sensitivity"},
		{"a revoked unowned identity needs nothing", in(func(x *Input) { x.Identity.OwnerID, x.Identity.Status = "", steward.StatusRevoked }), 0, "", ""},
	})
}
