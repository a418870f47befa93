package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckBackupMissing(t *testing.T) {
	critical := func(x *Input) { x.Identity.Sensitivity = steward.SensitivityCritical }
	runCheck(t, checkBackupMissing, []checkCase{
		{"a medium identity needs no backup", in(func(x *Input) { x.Backup = nil }), 0, "", ""},
		{"a critical identity with an active backup is fine", in(critical), 0, "", ""},
		{"a critical identity without backup is high", in(critical, func(x *Input) { x.Backup, x.Owner.BackupOwnerID = nil, "" }), 1, steward.SeverityHigh, "owner_id"},
		{"a departed backup counts as missing", in(func(x *Input) {
			x.Identity.Sensitivity = steward.SensitivityHigh
			x.Backup.Status = steward.OwnerDeparted
		}), 1, steward.SeverityMedium, "backup_status"},
		{"a team owner is its own backup", in(critical, func(x *Input) { x.Backup, x.Owner.Kind = nil, steward.OwnerTeam }), 0, "", ""},
	})
}
