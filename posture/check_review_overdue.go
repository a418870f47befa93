package posture

import ()

// checkReviewOverdue: the identity's access-review item is unanswered past
// the campaign's deadline.
var checkReviewOverdue = Check{
	ID: "review.overdue", Title: "Access review unanswered past the deadline", OWASP: "NHI5", CSF: []string{"PR.AA-05"},
	Eval: func(in *Input) []Result {
		if !in.live() || len(in.OverdueReviews) == 0 {
			return nil
		}
		var campaigns []string
		for _, it := range in.OverdueReviews {
			campaigns = append(campaigns, it.CampaignID)
		}
		return []Result{{Severity: tierSeverity(in.Identity.Sensitivity, -1),
			Evidence:    map[string]any{"campaigns": campaigns, "owner_id": in.Identity.OwnerID},
			Remediation: "The owner must attest (keep with justification, reduce, revoke or reassign) in the review campaign."}}
	},
}
