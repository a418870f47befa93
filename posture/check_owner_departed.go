package posture

import "github.com/steward-nhi/steward"

// checkOwnerDeparted: the identity's owner has left.
var checkOwnerDeparted = Check{
	ID: "owner.departed", Title: "Identity's owner has departed", OWASP: "NHI1", CSF: []string{"GV.RR-02", "GV.RR-04", "PR.AA-01"},
	Eval: func(in *Input) []Result {
		if !in.live() || in.Owner == nil || in.Owner.Status != steward.OwnerDeparted {
			return nil
		}
		return []Result{{
			Severity: tierSeverity(in.Identity.Sensitivity, 1),
			Evidence: map[string]any{"owner_id": in.Owner.ID, "owner_name": in.Owner.Name, "departed_at": rfc(in.Owner.DepartedAt),
				"backup_owner_id": in.Owner.BackupOwnerID, "manager_id": in.Owner.ManagerID},
			Remediation: "Reassign the identity to an active owner (POST /api/v1/owners/{id}/reassign) and rotate every credential the person could see; otherwise suspend it.",
		}}
	},
}
