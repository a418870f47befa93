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
		{Method: "GET", Path: "/api/v1/alerts", Summary: "Anomalous-usage alerts, newest first (filters, cursor pagination)", Roles: "any (owner: own)",
			Query: []string{"identity_id", "detector", "severity", "status", "limit", "cursor"}, Reply: "AlertPage", Status: 200, handler: (*Server).handleListAlerts},
		{Method: "GET", Path: "/api/v1/alerts/dead-letters", Summary: "Notifications no sink could deliver, newest first", Roles: "admin, operator, auditor",
			Query: []string{"limit"}, Reply: "DeadLetterList", Status: 200, handler: (*Server).handleDeadLetters},
		{Method: "POST", Path: "/api/v1/alerts/test-notification", Summary: "Send a test notification to the sinks now and report each answer", Roles: "admin",
			Request: "TestNotification", Reply: "NotificationResults", Status: 200, handler: (*Server).handleTestNotification},
		{Method: "GET", Path: "/api/v1/alerts/{id}", Summary: "Get an alert", Roles: "any (owner: own)", Reply: "Alert", Status: 200, handler: (*Server).handleGetAlert},
		{Method: "POST", Path: "/api/v1/alerts/{id}/ack", Summary: "Acknowledge an alert", Roles: "admin, operator, owner (own)", Request: "AlertAction", Reply: "Alert", Status: 200,
			handler: alertActionHandler(steward.AlertActAck)},
		{Method: "POST", Path: "/api/v1/alerts/{id}/resolve", Summary: "Resolve an alert", Roles: "admin, operator, owner (own)", Request: "AlertAction", Reply: "Alert", Status: 200,
			handler: alertActionHandler(steward.AlertActResolve)},
		{Method: "POST", Path: "/api/v1/alerts/{id}/false-positive", Summary: "Mark an alert a false positive; the identity's baseline learns what it called new",
			Roles: "admin, operator, owner (own)", Request: "AlertAction", Reply: "Alert", Status: 200, handler: alertActionHandler(steward.AlertActFalsePositive)},
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

// alerts returns the alerts API, or writes 501 when it is not wired.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) AlertsAPI {
	if s.Alerts == nil {
		Error(w, r, steward.Errorf(steward.ENOTIMPLEMENTED, "the alerts capability is not enabled on this server"))
	}
	return s.Alerts
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

func (s *Server) handleListAlerts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		f, err := alertFilter(r)
		if err != nil {
			Error(w, r, err)
			return
		}
		page, err := a.ListAlerts(r.Context(), f)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, page)
	})
}

func (s *Server) handleGetAlert() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		if err := newQuery(r).done(); err != nil {
			Error(w, r, err)
			return
		}
		out, err := a.GetAlert(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, out)
	})
}

func alertActionHandler(act steward.AlertAction) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := s.alerts(w, r)
			if a == nil {
				return
			}
			var in steward.AlertActionRequest
			if r.ContentLength != 0 {
				if err := decode(w, r, &in); err != nil {
					Error(w, r, err)
					return
				}
			}
			out, err := a.ActOnAlert(r.Context(), r.PathValue("id"), act, in)
			if err != nil {
				Error(w, r, err)
				return
			}
			reply(w, http.StatusOK, out)
		})
	}
}

func (s *Server) handleDeadLetters() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		q := newQuery(r)
		limit := q.int("limit")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		if limit < 0 || limit > steward.MaxLimit {
			Error(w, r, steward.FieldError("limit", "must be between 1 and %d", steward.MaxLimit))
			return
		}
		items, err := a.ListDeadLetters(r.Context(), limit)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, map[string]any{"items": items})
	})
}

func (s *Server) handleTestNotification() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.alerts(w, r)
		if a == nil {
			return
		}
		var in struct {
			Sinks []string `json:"sinks"`
		}
		if r.ContentLength != 0 {
			if err := decode(w, r, &in); err != nil {
				Error(w, r, err)
				return
			}
		}
		res, err := a.TestNotification(r.Context(), in.Sinks)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, map[string]any{"items": res})
	})
}
