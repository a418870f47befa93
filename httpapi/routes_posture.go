package httpapi

import (
	"archive/zip"
	"context"
	"net/http"
	"time"

	"github.com/steward-nhi/steward"
)

// PostureAPI is what the posture routes need; cmd/steward sets it in Deps.
type PostureAPI interface {
	ListFindings(ctx context.Context, f steward.FindingFilter) (*steward.Page[*steward.Finding], error)
	GetFinding(ctx context.Context, id string) (*steward.Finding, error)
	AcknowledgeFinding(ctx context.Context, id, note string) (*steward.Finding, error)
	WaiveFinding(ctx context.Context, id string, w steward.WaiverRequest) (*steward.Finding, error)
	ReopenFinding(ctx context.Context, id, reason string) (*steward.Finding, error)
	RotationSchedule(ctx context.Context, f steward.ScheduleFilter) ([]*steward.ScheduleItem, error)
	Expiring(ctx context.Context, f steward.ScheduleFilter) ([]*steward.ScheduleItem, error)
	RunNow(ctx context.Context) (*steward.PostureRun, error)
	StartReview(ctx context.Context, r steward.ReviewRequest) (*steward.ReviewCampaign, error)
	GetReview(ctx context.Context, id string) (*steward.ReviewCampaign, error)
	DecideReviewItem(ctx context.Context, campaignID, itemID string, d steward.ReviewDecisionRequest) (*steward.ReviewItem, error)
	Reassign(ctx context.Context, fromOwnerID string, r steward.ReassignRequest) (*steward.ReassignResult, error)
	EvidencePack(ctx context.Context, from, to time.Time) ([]steward.EvidenceFile, error)
	// Provisioning triggers (SCIM, Okta event hooks), each with its own
	// secret compared in constant time.
	CheckSCIMToken(token string) bool
	CheckOktaSecret(secret string) bool
	LookupOwner(ctx context.Context, ref string) (*steward.Owner, error)
	DepartByRef(ctx context.Context, source, ref, reason string) (*steward.Offboarding, error)
	// SCIM provisioning: list, create and update owners as a source.
	Owners(ctx context.Context) ([]*steward.Owner, error)
	ProvisionOwner(ctx context.Context, source string, o *steward.Owner) (*steward.Owner, error)
	UpdateOwnerByRef(ctx context.Context, source, ref string, p steward.OwnerPatch) (*steward.Owner, error)
}

// postureRoutes lists the posture capability's routes.
func postureRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/findings", Summary: "List posture findings (filters: severity, owasp, csf, owner, team, status, identity_id, check)", Roles: staff, Own: true,
			Query: []string{"severity", "owasp", "csf", "owner", "team", "status", "identity_id", "check", "limit", "cursor"}, Reply: "FindingPage", Status: 200, Needs: CapPosture, handler: (*Server).handleListFindings},
		{Method: "GET", Path: "/api/v1/findings/{id}", Summary: "Get a finding", Roles: staff, Own: true, Reply: "Finding", Status: 200, Needs: CapPosture, handler: (*Server).handleGetFinding},
		{Method: "POST", Path: "/api/v1/findings/{id}/acknowledge", Summary: "Acknowledge an open finding", Roles: writers, Own: true, Request: "Reason", Reply: "Finding", Status: 200, Needs: CapPosture, handler: (*Server).handleAckFinding},
		{Method: "POST", Path: "/api/v1/findings/{id}/waive", Summary: "Waive a finding with reason, approver and end date", Roles: writers, Request: "WaiverRequest", Reply: "Finding", Status: 200, Needs: CapPosture, handler: (*Server).handleWaiveFinding},
		{Method: "POST", Path: "/api/v1/findings/{id}/reopen", Summary: "Reopen an acknowledged, waived or resolved finding", Roles: writers, Request: "Reason", Reply: "Finding", Status: 200, Needs: CapPosture, handler: (*Server).handleReopenFinding},
		{Method: "GET", Path: "/api/v1/schedules/rotation", Summary: "Identities due or overdue for rotation per tier", Roles: staff, Own: true, Query: []string{"days", "owner", "team", "limit"}, Reply: "ScheduleList", Status: 200, Needs: CapPosture, handler: scheduleHandler(false)},
		{Method: "GET", Path: "/api/v1/schedules/expiring", Summary: "Identities and credentials expiring within N days", Roles: staff, Own: true, Query: []string{"days", "owner", "team", "limit"}, Reply: "ScheduleList", Status: 200, Needs: CapPosture, handler: scheduleHandler(true)},
		{Method: "POST", Path: "/api/v1/posture/run", Summary: "Run a full posture evaluation and the enforcement sweeps now", Roles: writers, Reply: "PostureRun", Status: 200, Needs: CapPosture, handler: (*Server).handlePostureRun},
		{Method: "POST", Path: "/api/v1/reviews", Summary: "Start an access-review campaign", Roles: writers, Request: "ReviewRequest", Reply: "ReviewCampaign", Status: 201, Needs: CapPosture, handler: (*Server).handleStartReview},
		{Method: "GET", Path: "/api/v1/reviews/{id}", Summary: "A review campaign with its items", Roles: staff, Own: true, Reply: "ReviewCampaign", Status: 200, Needs: CapPosture, handler: (*Server).handleGetReview},
		{Method: "POST", Path: "/api/v1/reviews/{id}/items/{item}/decide", Summary: "Decide a review item: keep, reduce, revoke or reassign (executed and recorded)", Roles: writers, Own: true, Request: "ReviewDecision", Reply: "ReviewItem", Status: 200, Needs: CapPosture, handler: (*Server).handleDecideReview},
		{Method: "POST", Path: "/api/v1/owners/{id}/reassign", Summary: "Move an owner's identities to an active new owner", Roles: writers, Request: "ReassignRequest", Reply: "ReassignResult", Status: 200, Needs: CapPosture, handler: (*Server).handleReassign},
		{Method: "GET", Path: "/api/v1/reports/evidence", Summary: "Audit evidence pack (zip of HTML, CSV, evidence.json and a signed manifest, or format=json)", Roles: staff, Query: []string{"from", "to", "format"}, Status: 200, Needs: CapPosture, handler: (*Server).handleEvidence},
	}
}

// postureSchemas adds the posture capability's OpenAPI schemas.
func postureSchemas() map[string]any {
	finding := object(obj{"id": str(), "key": str(), "check": str(), "title": str(), "severity": strEnum("critical", "high", "medium", "low", "info"),
		"status": strEnum("open", "acknowledged", "resolved", "waived"), "identity_id": str(), "credential_id": str(), "owner_id": str(), "team": str(),
		"owasp": obj{"type": "string", "description": "OWASP NHI Top 10 (2025) id, NHI1..NHI10"}, "csf": arr(obj{"type": "string", "description": "NIST CSF 2.0 subcategory"}),
		"evidence": obj{"type": "object"}, "remediation": str(), "created_at": timeT(), "updated_at": timeT(), "first_seen": timeT(), "reopened_at": timeT(),
		"acknowledged_at": timeT(), "acknowledged_by": str(), "resolved_at": timeT(), "resolved_by": str(),
		"resolved_seq": obj{"type": "integer", "description": "audit-chain entry that cleared the condition"}, "waiver": ref("Waiver")},
		"id", "check", "severity", "status", "identity_id", "owasp", "csf")
	return obj{
		"Finding":         finding,
		"FindingPage":     page("Finding"),
		"Waiver":          object(obj{"id": str(), "finding_id": str(), "reason": str(), "approver": str(), "until": timeT(), "created_at": timeT(), "created_by": str(), "ended_at": timeT(), "end_reason": str()}),
		"WaiverRequest":   object(obj{"reason": str(), "approver": str(), "until": timeT()}, "reason", "approver", "until"),
		"ScheduleItem":    object(obj{"identity_id": str(), "identity_name": str(), "credential_id": str(), "owner_id": str(), "team": str(), "sensitivity": strEnum(tiers...), "basis": timeT(), "due_at": timeT(), "state": strEnum("due", "overdue", "expiring", "expired"), "days_left": obj{"type": "integer"}}),
		"ScheduleList":    object(obj{"items": arr(ref("ScheduleItem"))}, "items"),
		"PostureRun":      obj{"type": "object"},
		"ReviewRequest":   object(obj{"name": str(), "scope": object(obj{"team": str(), "owner_id": str(), "sensitivity": strEnum(tiers...), "provider": str(), "environment": str(), "kind": strEnum(kinds...)}), "deadline": timeT(), "auto_suspend": obj{"type": "boolean"}}),
		"ReviewItem":      object(obj{"id": str(), "campaign_id": str(), "identity_id": str(), "identity_name": str(), "owner_id": str(), "status": strEnum("pending", "decided"), "decision": strEnum("keep", "reduce", "revoke", "reassign"), "justification": str(), "scopes": arr(str()), "new_owner_id": str(), "decided_by": str(), "decided_at": timeT(), "event_seq": obj{"type": "integer"}}),
		"ReviewCampaign":  object(obj{"id": str(), "name": str(), "scope": obj{"type": "object"}, "status": strEnum("open", "closed"), "created_at": timeT(), "created_by": str(), "deadline": timeT(), "closed_at": timeT(), "auto_suspend": obj{"type": "boolean"}, "counts": obj{"type": "object"}, "items": arr(ref("ReviewItem"))}),
		"ReviewDecision":  object(obj{"decision": strEnum("keep", "reduce", "revoke", "reassign"), "justification": str(), "scopes": arr(str()), "new_owner_id": str()}, "decision"),
		"ReassignRequest": object(obj{"new_owner_id": str(), "identity_ids": arr(str()), "reason": str()}, "new_owner_id"),
		"ReassignResult":  object(obj{"from_owner_id": str(), "to_owner_id": str(), "moved": arr(str())}),
	}
}

func findingFilter(r *http.Request) (steward.FindingFilter, error) {
	q := newQuery(r)
	f := steward.FindingFilter{Severity: steward.Severity(q.str("severity")), OWASP: q.str("owasp"), CSF: q.str("csf"), OwnerID: q.ownerParam(),
		Team: q.str("team"), Status: steward.FindingStatus(q.str("status")), IdentityID: q.str("identity_id"), Check: q.str("check"), Cursor: q.str("cursor")}
	if f.Status == "unresolved" {
		f.Status, f.Unresolved = "", true
	}
	f.Limit = q.int("limit")
	if err := q.done(); err != nil {
		return f, err
	}
	return f, f.Validate()
}

func (s *Server) handleListFindings() http.Handler {
	return filtered(findingFilter, s.Posture.ListFindings)
}

func (s *Server) handleGetFinding() http.Handler { return getByID(s.Posture.GetFinding) }

func (s *Server) handleAckFinding() http.Handler {
	return actOnID(http.StatusOK, true, withReason(s.Posture.AcknowledgeFinding))
}

func (s *Server) handleWaiveFinding() http.Handler {
	return actOnID(http.StatusOK, false, s.Posture.WaiveFinding)
}

func (s *Server) handleReopenFinding() http.Handler {
	return actOnID(http.StatusOK, true, withReason(s.Posture.ReopenFinding))
}

func scheduleFilter(r *http.Request) (steward.ScheduleFilter, error) {
	q := newQuery(r)
	f := steward.ScheduleFilter{OwnerID: q.str("owner"), Team: q.str("team")}
	f.Days, f.Limit = q.int("days"), q.int("limit")
	return f, q.done()
}

func scheduleHandler(expiring bool) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		list := s.Posture.RotationSchedule
		if expiring {
			list = s.Posture.Expiring
		}
		return filtered(scheduleFilter, func(ctx context.Context, f steward.ScheduleFilter) (itemList[*steward.ScheduleItem], error) {
			return items(list(ctx, f))
		})
	}
}

func (s *Server) handlePostureRun() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.PostureRun, error) { return s.Posture.RunNow(r.Context()) })
}

func (s *Server) handleStartReview() http.Handler {
	return createdJSON(func(r *http.Request, in steward.ReviewRequest) (*steward.ReviewCampaign, error) {
		return s.Posture.StartReview(r.Context(), in)
	}, func(c *steward.ReviewCampaign) string { return "/api/v1/reviews/" + c.ID })
}

func (s *Server) handleGetReview() http.Handler { return getByID(s.Posture.GetReview) }

func (s *Server) handleDecideReview() http.Handler {
	return jsonHandler(http.StatusOK, func(r *http.Request, in steward.ReviewDecisionRequest) (*steward.ReviewItem, error) {
		return s.Posture.DecideReviewItem(r.Context(), r.PathValue("id"), r.PathValue("item"), in)
	})
}

func (s *Server) handleReassign() http.Handler {
	return actOnID(http.StatusOK, false, s.Posture.Reassign)
}

func (s *Server) handleEvidence() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r)
		to := q.time("to")
		from := q.time("from")
		format := q.str("format")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		now := time.Now().UTC()
		if to == nil {
			to = &now
		}
		if from == nil {
			f := to.AddDate(0, 0, -90)
			from = &f
		}
		files, err := s.Posture.EvidencePack(r.Context(), *from, *to)
		if err != nil {
			Error(w, r, err)
			return
		}
		switch format {
		case "json":
			for _, f := range files {
				if f.Name == "evidence.json" {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(f.Content)
					return
				}
			}
		case "", "zip":
			w.Header().Set("Content-Type", "application/zip")
			w.Header().Set("Content-Disposition", `attachment; filename="steward-evidence-`+to.Format("20060102")+`.zip"`)
			zw := zip.NewWriter(w)
			for _, f := range files {
				fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: now})
				if err != nil {
					return
				}
				if _, err := fw.Write(f.Content); err != nil {
					return
				}
			}
			_ = zw.Close()
		default:
			Error(w, r, steward.FieldError("format", "must be zip or json, not %q", format))
		}
	})
}
