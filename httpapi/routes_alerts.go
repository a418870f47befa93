package httpapi

import (
	"context"
	"net/http"

	"github.com/steward-nhi/steward"
)

// AlertsAPI is what the alerts routes need; cmd/steward sets it in Deps
// (alerts.Engine implements it). Each method checks the caller's role.
type AlertsAPI interface {
	ListAlerts(ctx context.Context, f steward.AlertFilter) (*steward.Page[*steward.Alert], error)
	GetAlert(ctx context.Context, id string) (*steward.Alert, error)
	ActOnAlert(ctx context.Context, id string, act steward.AlertAction, req steward.AlertActionRequest) (*steward.Alert, error)
	ListDeadLetters(ctx context.Context, limit int) ([]*steward.DeadLetter, error)
	TestNotification(ctx context.Context, sinks []string) ([]steward.NotificationResult, error)
}

// alertsRoutes lists the alerts capability's routes.
func alertsRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/alerts", Summary: "Anomalous-usage alerts, newest first (filters, cursor pagination)", Roles: staff, Own: true,
			Query: []string{"identity_id", "detector", "severity", "status", "limit", "cursor"}, Reply: "AlertPage", Status: 200, Needs: CapAlerts, handler: (*Server).handleListAlerts},
		{Method: "GET", Path: "/api/v1/alerts/dead-letters", Summary: "Notifications no sink could deliver, newest first", Roles: staff,
			Query: []string{"limit"}, Reply: "DeadLetterList", Status: 200, Needs: CapAlerts, handler: (*Server).handleDeadLetters},
		{Method: "POST", Path: "/api/v1/alerts/test-notification", Summary: "Send a test notification to the sinks now and report each answer", Roles: admins,
			Request: "TestNotification", Reply: "NotificationResults", Status: 200, Needs: CapAlerts, handler: (*Server).handleTestNotification},
		{Method: "GET", Path: "/api/v1/alerts/{id}", Summary: "Get an alert", Roles: staff, Own: true, Reply: "Alert", Status: 200, Needs: CapAlerts, handler: (*Server).handleGetAlert},
		{Method: "POST", Path: "/api/v1/alerts/{id}/ack", Summary: "Acknowledge an alert", Roles: writers, Own: true, Request: "AlertAction", Reply: "Alert", Status: 200,
			Needs: CapAlerts, handler: alertActionHandler(steward.AlertActAck)},
		{Method: "POST", Path: "/api/v1/alerts/{id}/resolve", Summary: "Resolve an alert", Roles: writers, Own: true, Request: "AlertAction", Reply: "Alert", Status: 200,
			Needs: CapAlerts, handler: alertActionHandler(steward.AlertActResolve)},
		{Method: "POST", Path: "/api/v1/alerts/{id}/false-positive", Summary: "Mark an alert a false positive; the identity's baseline learns what it called new",
			Roles: writers, Own: true, Request: "AlertAction", Reply: "Alert", Status: 200, Needs: CapAlerts, handler: alertActionHandler(steward.AlertActFalsePositive)},
	}
}

// alertsSchemas adds the alerts capability's OpenAPI schemas.
func alertsSchemas() map[string]any {
	integer := obj{"type": "integer"}
	severity := strEnum("critical", "high", "medium", "low", "info")
	notification := object(obj{"kind": str(), "severity": str(), "title": str(), "body": str(), "identity_id": str(), "owner_id": str(), "team": str(),
		"environment": str(), "sensitivity": str(), "time": timeT(), "fields": obj{"type": "object", "additionalProperties": str()}}, "kind", "severity", "title", "time")
	return map[string]any{
		"Alert": object(obj{"id": str(), "key": str(), "detector": str(), "title": str(), "severity": severity,
			"status": strEnum("open", "acknowledged", "resolved", "false_positive"), "identity_id": str(), "credential_id": str(), "owner_id": str(),
			"team": str(), "environment": str(), "sensitivity": strEnum(tiers...),
			"evidence":   obj{"type": "object", "description": "what is new against the identity's baseline"},
			"owasp":      obj{"type": "string", "description": "OWASP NHI Top 10 (2025) id, e.g. NHI2:2025"},
			"csf":        arr(obj{"type": "string", "description": "NIST CSF 2.0 subcategory"}),
			"first_seen": timeT(), "last_seen": timeT(), "count": integer, "response": str(), "updated_at": timeT(), "acted_at": timeT(),
			"acted_by": str(), "action_note": str()},
			"id", "detector", "severity", "status", "identity_id", "evidence", "owasp", "csf", "first_seen", "last_seen", "count"),
		"AlertPage":    page("Alert"),
		"AlertAction":  object(obj{"note": str()}),
		"Notification": notification,
		"DeadLetter": object(obj{"id": str(), "sink": str(), "notification": ref("Notification"), "error": str(), "attempts": integer, "created_at": timeT()},
			"id", "sink", "notification", "error", "attempts", "created_at"),
		"DeadLetterList":      object(obj{"items": arr(ref("DeadLetter"))}, "items"),
		"TestNotification":    object(obj{"sinks": arr(str())}),
		"NotificationResults": object(obj{"items": arr(object(obj{"sink": str(), "ok": obj{"type": "boolean"}, "error": str()}, "sink", "ok"))}, "items"),
	}
}

func alertFilter(r *http.Request) (steward.AlertFilter, error) {
	q := newQuery(r)
	f := steward.AlertFilter{IdentityID: q.str("identity_id"), Detector: q.str("detector"), Severity: steward.Severity(q.str("severity")),
		Status: steward.AlertStatus(q.str("status")), Cursor: q.str("cursor"), Limit: q.int("limit")}
	if err := q.done(); err != nil {
		return f, err
	}
	return f, f.Validate()
}

func (s *Server) handleListAlerts() http.Handler { return filtered(alertFilter, s.Alerts.ListAlerts) }

func (s *Server) handleGetAlert() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.Alert, error) {
		if err := newQuery(r).done(); err != nil {
			return nil, err
		}
		return s.Alerts.GetAlert(r.Context(), r.PathValue("id"))
	})
}

func alertActionHandler(act steward.AlertAction) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return actOnID(http.StatusOK, true, func(ctx context.Context, id string, in steward.AlertActionRequest) (*steward.Alert, error) {
			return s.Alerts.ActOnAlert(ctx, id, act, in)
		})
	}
}

func (s *Server) handleDeadLetters() http.Handler {
	return filtered(limitParam, func(ctx context.Context, limit int) (itemList[*steward.DeadLetter], error) {
		if limit > steward.MaxLimit {
			return itemList[*steward.DeadLetter]{}, steward.FieldError("limit", "must be between 1 and %d", steward.MaxLimit)
		}
		return items(s.Alerts.ListDeadLetters(ctx, limit))
	})
}

// TestNotification is the body of POST /alerts/test-notification.
type TestNotification struct {
	Sinks []string `json:"sinks"`
}

func (s *Server) handleTestNotification() http.Handler {
	return optionalJSON(http.StatusOK, func(r *http.Request, in TestNotification) (itemList[steward.NotificationResult], error) {
		return items(s.Alerts.TestNotification(r.Context(), in.Sinks))
	})
}
