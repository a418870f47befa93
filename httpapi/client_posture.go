package httpapi

import (
	"context"
	"time"

	"github.com/steward-nhi/steward"
)

// PostureClient calls the posture routes.
type PostureClient struct{ *Client }

// FindingQuery encodes a finding filter.
func FindingQuery(f steward.FindingFilter) string {
	status := string(f.Status)
	if f.Unresolved {
		status = "unresolved"
	}
	return withQuery("/api/v1/findings", params("severity", string(f.Severity), "owasp", f.OWASP, "csf", f.CSF, "owner", f.OwnerID,
		"team", f.Team, "status", status, "identity_id", f.IdentityID, "check", f.Check, "cursor", f.Cursor, "limit", num(f.Limit)))
}

// ListFindings lists findings.
func (c PostureClient) ListFindings(ctx context.Context, f steward.FindingFilter) (*steward.Page[*steward.Finding], error) {
	return call[steward.Page[*steward.Finding]](ctx, c.Client, "GET", FindingQuery(f), nil)
}

// GetFinding returns one finding.
func (c PostureClient) GetFinding(ctx context.Context, id string) (*steward.Finding, error) {
	return call[steward.Finding](ctx, c.Client, "GET", "/api/v1/findings/"+esc(id), nil)
}

func (c PostureClient) findingAction(ctx context.Context, id, action string, body any) (*steward.Finding, error) {
	return call[steward.Finding](ctx, c.Client, "POST", "/api/v1/findings/"+esc(id)+"/"+action, body)
}

// AcknowledgeFinding acknowledges an open finding.
func (c PostureClient) AcknowledgeFinding(ctx context.Context, id, note string) (*steward.Finding, error) {
	return c.findingAction(ctx, id, "acknowledge", Reason{Reason: note})
}

// WaiveFinding waives a finding until a date.
func (c PostureClient) WaiveFinding(ctx context.Context, id string, w steward.WaiverRequest) (*steward.Finding, error) {
	return c.findingAction(ctx, id, "waive", w)
}

// ReopenFinding reopens a finding.
func (c PostureClient) ReopenFinding(ctx context.Context, id, reason string) (*steward.Finding, error) {
	return c.findingAction(ctx, id, "reopen", Reason{Reason: reason})
}

func (c PostureClient) schedule(ctx context.Context, which string, f steward.ScheduleFilter) ([]*steward.ScheduleItem, error) {
	v := params("days", num(f.Days), "owner", f.OwnerID, "team", f.Team, "limit", num(f.Limit))
	return list[*steward.ScheduleItem](ctx, c.Client, withQuery("/api/v1/schedules/"+which, v))
}

// RotationSchedule lists identities due or overdue for rotation.
func (c PostureClient) RotationSchedule(ctx context.Context, f steward.ScheduleFilter) ([]*steward.ScheduleItem, error) {
	return c.schedule(ctx, "rotation", f)
}

// Expiring lists identities and credentials expiring soon.
func (c PostureClient) Expiring(ctx context.Context, f steward.ScheduleFilter) ([]*steward.ScheduleItem, error) {
	return c.schedule(ctx, "expiring", f)
}

// RunNow runs a posture evaluation now.
func (c PostureClient) RunNow(ctx context.Context) (*steward.PostureRun, error) {
	return call[steward.PostureRun](ctx, c.Client, "POST", "/api/v1/posture/run", nil)
}

// StartReview starts an access-review campaign.
func (c PostureClient) StartReview(ctx context.Context, r steward.ReviewRequest) (*steward.ReviewCampaign, error) {
	return call[steward.ReviewCampaign](ctx, c.Client, "POST", "/api/v1/reviews", r)
}

// GetReview returns a campaign with its items.
func (c PostureClient) GetReview(ctx context.Context, id string) (*steward.ReviewCampaign, error) {
	return call[steward.ReviewCampaign](ctx, c.Client, "GET", "/api/v1/reviews/"+esc(id), nil)
}

// DecideReviewItem decides one review item.
func (c PostureClient) DecideReviewItem(ctx context.Context, campaignID, itemID string, d steward.ReviewDecisionRequest) (*steward.ReviewItem, error) {
	return call[steward.ReviewItem](ctx, c.Client, "POST", "/api/v1/reviews/"+esc(campaignID)+"/items/"+esc(itemID)+"/decide", d)
}

// Reassign moves an owner's identities to a new owner.
func (c PostureClient) Reassign(ctx context.Context, fromOwnerID string, r steward.ReassignRequest) (*steward.ReassignResult, error) {
	return call[steward.ReassignResult](ctx, c.Client, "POST", "/api/v1/owners/"+esc(fromOwnerID)+"/reassign", r)
}

// EvidencePack downloads the evidence pack of a period as a zip (zero
// times: the server's defaults).
func (c PostureClient) EvidencePack(ctx context.Context, from, to time.Time) ([]byte, error) {
	v := params("format", "zip")
	for name, t := range map[string]time.Time{"from": from, "to": to} {
		if !t.IsZero() {
			v.Set(name, t.UTC().Format(time.RFC3339))
		}
	}
	return c.Download(ctx, withQuery("/api/v1/reports/evidence", v))
}
