package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckRotationOverdue(t *testing.T) {
	runCheck(t, checkRotationOverdue, []checkCase{
		{"rotated recently", in(), 0, "", ""},
		{"medium tier, rotated 200 days ago (period 180)", in(func(x *Input) { x.Identity.LastRotatedAt = ago(200) }), 1, steward.SeverityLow, "days_overdue"},
		{"critical tier twice overdue is critical", in(func(x *Input) {
			x.Identity.Sensitivity, x.Identity.LastRotatedAt = steward.SensitivityCritical, ago(90)
		}), 1, steward.SeverityCritical, "due_at"},
		{"never rotated counts from creation", in(func(x *Input) { x.Identity.LastRotatedAt = nil }), 1, "", ""},
		{"only federated credentials need no rotation", in(func(x *Input) {
			x.Identity.LastRotatedAt = ago(500)
			x.Credentials = []*steward.Credential{cred("crd_1", "aws_role_trust")}
		}), 0, "", ""},
	})
}
