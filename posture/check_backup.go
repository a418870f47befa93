package posture

import "github.com/steward-nhi/steward"

// checkBackupMissing: a critical or high tier identity owned by a person
// with no active backup owner.
var checkBackupMissing = Check{
	ID: "owner.backup_missing", Title: "Critical identity's owner has no backup", OWASP: "NHI1", CSF: []string{"GV.RR-02"},
	Eval: func(in *Input) []Result {
		tier := in.Identity.Sensitivity
		if !in.live() || (tier != steward.SensitivityCritical && tier != steward.SensitivityHigh) {
			return nil
		}
		o := in.Owner
		if o == nil || o.Status != steward.OwnerActive || o.Kind == steward.OwnerTeam {
			return nil
		}
		if in.Backup != nil && in.Backup.Status == steward.OwnerActive {
			return nil
		}
		ev := map[string]any{"owner_id": o.ID, "sensitivity": tier, "backup_owner_id": o.BackupOwnerID}
		if in.Backup != nil {
			ev["backup_status"] = in.Backup.Status
		}
		sev := steward.SeverityMedium
		if tier == steward.SensitivityCritical {
			sev = steward.SeverityHigh
		}
		return []Result{{Severity: sev, Evidence: ev,
			Remediation: "Name an active backup owner for the owner (PATCH /api/v1/owners/{id} backup_owner_id) so someone can act when they are away or leave."}}
	},
}
