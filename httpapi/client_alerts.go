package httpapi

import (
	"context"

	"github.com/steward-nhi/steward"
)

// AlertsClient calls the alerts routes; it implements AlertsAPI.
type AlertsClient struct{ *Client }

var _ AlertsAPI = AlertsClient{}

// ListAlerts lists alerts, newest first.
func (c AlertsClient) ListAlerts(ctx context.Context, f steward.AlertFilter) (*steward.Page[*steward.Alert], error) {
	v := params("identity_id", f.IdentityID, "detector", f.Detector, "severity", string(f.Severity), "status", string(f.Status),
		"cursor", f.Cursor, "limit", num(f.Limit))
	return call[steward.Page[*steward.Alert]](ctx, c.Client, "GET", withQuery("/api/v1/alerts", v), nil)
}

// GetAlert returns one alert.
func (c AlertsClient) GetAlert(ctx context.Context, id string) (*steward.Alert, error) {
	return call[steward.Alert](ctx, c.Client, "GET", "/api/v1/alerts/"+esc(id), nil)
}

// ActOnAlert acknowledges, resolves or marks an alert a false positive.
func (c AlertsClient) ActOnAlert(ctx context.Context, id string, act steward.AlertAction, req steward.AlertActionRequest) (*steward.Alert, error) {
	return call[steward.Alert](ctx, c.Client, "POST", "/api/v1/alerts/"+esc(id)+"/"+string(act), req)
}

// ListDeadLetters lists undelivered notifications.
func (c AlertsClient) ListDeadLetters(ctx context.Context, limit int) ([]*steward.DeadLetter, error) {
	return list[*steward.DeadLetter](ctx, c.Client, withQuery("/api/v1/alerts/dead-letters", params("limit", num(limit))))
}

// TestNotification sends a test notification to the sinks.
func (c AlertsClient) TestNotification(ctx context.Context, sinks []string) ([]steward.NotificationResult, error) {
	out, err := call[itemList[steward.NotificationResult]](ctx, c.Client, "POST", "/api/v1/alerts/test-notification", TestNotification{Sinks: sinks})
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}
