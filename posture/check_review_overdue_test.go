package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestCheckReviewOverdue(t *testing.T) {
	runCheck(t, checkReviewOverdue, []checkCase{
		{"no overdue review", in(), 0, "", ""},
		{"an unanswered item past the deadline", in(func(x *Input) { x.OverdueReviews = []*steward.ReviewItem{{CampaignID: "rev_1"}} }), 1, steward.SeverityLow, "campaigns"},
	})
}
