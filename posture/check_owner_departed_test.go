package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckOwnerDeparted(t *testing.T) {
	runCheck(t, checkOwnerDeparted, []checkCase{
		{"an active owner is fine", in(), 0, "", ""},
		{"a departed owner raises the tier by one", in(func(x *Input) { x.Owner.Status, x.Owner.DepartedAt = steward.OwnerDeparted, ago(3) }), 1, steward.SeverityHigh, "departed_at"},
		{"a suspended identity of a departed owner still counts", in(func(x *Input) {
			x.Owner.Status, x.Identity.Status = steward.OwnerDeparted, steward.StatusSuspended
		}), 1, "", "owner_id"},
	})
}
