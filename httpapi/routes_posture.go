package httpapi

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
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
}

// postureRoutes lists the posture capability's routes.
func postureRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/findings", Summary: "List posture findings (filters: severity, owasp, csf, owner, team, status, identity_id, check)", Roles: "any (owner: own)",
			Query: []string{"severity", "owasp", "csf", "owner", "team", "status", "identity_id", "check", "limit", "cursor"}, Reply: "FindingPage", Status: 200, handler: (*Server).handleListFindings},
		{Method: "GET", Path: "/api/v1/findings/{id}", Summary: "Get a finding", Roles: "any (owner: own)", Reply: "Finding", Status: 200, handler: (*Server).handleGetFinding},
		{Method: "POST", Path: "/api/v1/findings/{id}/acknowledge", Summary: "Acknowledge an open finding", Roles: "admin, operator, owner (own)", Request: "Reason", Reply: "Finding", Status: 200, handler: (*Server).handleAckFinding},
		{Method: "POST", Path: "/api/v1/findings/{id}/waive", Summary: "Waive a finding with reason, approver and end date", Roles: "admin, operator", Request: "WaiverRequest", Reply: "Finding", Status: 200, handler: (*Server).handleWaiveFinding},
		{Method: "POST", Path: "/api/v1/findings/{id}/reopen", Summary: "Reopen an acknowledged, waived or resolved finding", Roles: "admin, operator", Request: "Reason", Reply: "Finding", Status: 200, handler: (*Server).handleReopenFinding},
		{Method: "GET", Path: "/api/v1/schedules/rotation", Summary: "Identities due or overdue for rotation per tier", Roles: "any (owner: own)", Query: []string{"days", "owner", "team", "limit"}, Reply: "ScheduleList", Status: 200, handler: scheduleHandler(false)},
		{Method: "GET", Path: "/api/v1/schedules/expiring", Summary: "Identities and credentials expiring within N days", Roles: "any (owner: own)", Query: []string{"days", "owner", "team", "limit"}, Reply: "ScheduleList", Status: 200, handler: scheduleHandler(true)},
		{Method: "POST", Path: "/api/v1/posture/run", Summary: "Run a full posture evaluation and the enforcement sweeps now", Roles: "admin, operator", Reply: "PostureRun", Status: 200, handler: (*Server).handlePostureRun},
		{Method: "POST", Path: "/api/v1/reviews", Summary: "Start an access-review campaign", Roles: "admin, operator", Request: "ReviewRequest", Reply: "ReviewCampaign", Status: 201, handler: (*Server).handleStartReview},
		{Method: "GET", Path: "/api/v1/reviews/{id}", Summary: "A review campaign with its items", Roles: "any (owner: own items)", Reply: "ReviewCampaign", Status: 200, handler: (*Server).handleGetReview},
		{Method: "POST", Path: "/api/v1/reviews/{id}/items/{item}/decide", Summary: "Decide a review item: keep, reduce, revoke or reassign (executed and recorded)", Roles: "admin, operator, owner (own)", Request: "ReviewDecision", Reply: "ReviewItem", Status: 200, handler: (*Server).handleDecideReview},
		{Method: "POST", Path: "/api/v1/owners/{id}/reassign", Summary: "Move an owner's identities to an active new owner", Roles: "admin, operator", Request: "ReassignRequest", Reply: "ReassignResult", Status: 200, handler: (*Server).handleReassign},
		{Method: "GET", Path: "/api/v1/reports/evidence", Summary: "Audit evidence pack (zip of HTML, CSV, evidence.json and a signed manifest, or format=json)", Roles: "admin, operator, auditor", Query: []string{"from", "to", "format"}, Status: 200, handler: (*Server).handleEvidence},
		{Method: "GET", Path: "/scim/v2/Users", Summary: "SCIM 2.0: find users (filter userName eq)", Public: true, Roles: "SCIM token", Query: []string{"filter"}, Status: 200, handler: (*Server).handleSCIMList},
		{Method: "GET", Path: "/scim/v2/Users/{id}", Summary: "SCIM 2.0: get a user", Public: true, Roles: "SCIM token", Status: 200, handler: (*Server).handleSCIMGet},
		{Method: "PATCH", Path: "/scim/v2/Users/{id}", Summary: "SCIM 2.0: active:false marks the owner departed and offboards", Public: true, Roles: "SCIM token", Status: 200, handler: (*Server).handleSCIMPatch},
		{Method: "DELETE", Path: "/scim/v2/Users/{id}", Summary: "SCIM 2.0: delete marks the owner departed and offboards", Public: true, Roles: "SCIM token", Status: 204, handler: (*Server).handleSCIMDelete},
		{Method: "GET", Path: "/hooks/okta", Summary: "Okta event hook one-time verification", Public: true, Roles: "Okta hook secret", Status: 200, handler: (*Server).handleOktaVerify},
		{Method: "POST", Path: "/hooks/okta", Summary: "Okta event hook: user.lifecycle.deactivate / suspend offboard the owner", Public: true, Roles: "Okta hook secret", Status: 200, handler: (*Server).handleOktaEvents},
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

// posture returns the posture API or writes 501.
func (s *Server) posture(w http.ResponseWriter, r *http.Request) PostureAPI {
	if s.Posture == nil {
		Error(w, r, steward.Errorf(steward.ENOTIMPLEMENTED, "posture is not enabled on this server"))
	}
	return s.Posture
}

func (s *Server) handleListFindings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		q := newQuery(r)
		f := steward.FindingFilter{Severity: steward.Severity(q.str("severity")), OWASP: q.str("owasp"), CSF: q.str("csf"), OwnerID: q.str("owner"),
			Team: q.str("team"), Status: steward.FindingStatus(q.str("status")), IdentityID: q.str("identity_id"), Check: q.str("check"), Cursor: q.str("cursor")}
		if f.OwnerID == "" {
			f.OwnerID = q.str("owner_id")
		} else {
			q.str("owner_id")
		}
		if f.Status == "unresolved" {
			f.Status, f.Unresolved = "", true
		}
		f.Limit = q.int("limit")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		if err := f.Validate(); err != nil {
			Error(w, r, err)
			return
		}
		page, err := api.ListFindings(r.Context(), f)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, page)
	})
}

func (s *Server) handleGetFinding() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		f, err := api.GetFinding(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, f)
	})
}

func (s *Server) handleAckFinding() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		var in Reason
		if r.ContentLength != 0 {
			if err := decode(w, r, &in); err != nil {
				Error(w, r, err)
				return
			}
		}
		f, err := api.AcknowledgeFinding(r.Context(), r.PathValue("id"), in.Reason)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, f)
	})
}

func (s *Server) handleWaiveFinding() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		var in steward.WaiverRequest
		if err := decode(w, r, &in); err != nil {
			Error(w, r, err)
			return
		}
		f, err := api.WaiveFinding(r.Context(), r.PathValue("id"), in)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, f)
	})
}

func (s *Server) handleReopenFinding() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		var in Reason
		if r.ContentLength != 0 {
			if err := decode(w, r, &in); err != nil {
				Error(w, r, err)
				return
			}
		}
		f, err := api.ReopenFinding(r.Context(), r.PathValue("id"), in.Reason)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, f)
	})
}

func scheduleHandler(expiring bool) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			api := s.posture(w, r)
			if api == nil {
				return
			}
			q := newQuery(r)
			f := steward.ScheduleFilter{OwnerID: q.str("owner"), Team: q.str("team")}
			f.Days, f.Limit = q.int("days"), q.int("limit")
			if err := q.done(); err != nil {
				Error(w, r, err)
				return
			}
			var items []*steward.ScheduleItem
			var err error
			if expiring {
				items, err = api.Expiring(r.Context(), f)
			} else {
				items, err = api.RotationSchedule(r.Context(), f)
			}
			if err != nil {
				Error(w, r, err)
				return
			}
			reply(w, http.StatusOK, map[string]any{"items": items})
		})
	}
}

func (s *Server) handlePostureRun() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		run, err := api.RunNow(r.Context())
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, run)
	})
}

func (s *Server) handleStartReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		var in steward.ReviewRequest
		if err := decode(w, r, &in); err != nil {
			Error(w, r, err)
			return
		}
		c, err := api.StartReview(r.Context(), in)
		if err != nil {
			Error(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/reviews/"+c.ID)
		reply(w, http.StatusCreated, c)
	})
}

func (s *Server) handleGetReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		c, err := api.GetReview(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, c)
	})
}

func (s *Server) handleDecideReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		var in steward.ReviewDecisionRequest
		if err := decode(w, r, &in); err != nil {
			Error(w, r, err)
			return
		}
		it, err := api.DecideReviewItem(r.Context(), r.PathValue("id"), r.PathValue("item"), in)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, it)
	})
}

func (s *Server) handleReassign() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
		var in steward.ReassignRequest
		if err := decode(w, r, &in); err != nil {
			Error(w, r, err)
			return
		}
		res, err := api.Reassign(r.Context(), r.PathValue("id"), in)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, res)
	})
}

func (s *Server) handleEvidence() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.posture(w, r)
		if api == nil {
			return
		}
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
		files, err := api.EvidencePack(r.Context(), *from, *to)
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

// SCIM 2.0 (RFC 7643/7644): enough of /Users for an identity provider to
// find a person and deprovision them.

const scimUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User"

func scimError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": http.StatusText(status), "detail": detail})
}

func (s *Server) scimAuth(w http.ResponseWriter, r *http.Request) bool {
	if s.Posture == nil {
		scimError(w, http.StatusNotImplemented, "SCIM is not enabled on this server")
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.Posture.CheckSCIMToken(strings.TrimSpace(tok)) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="steward-scim"`)
		scimError(w, http.StatusUnauthorized, "a valid SCIM bearer token is required")
		return false
	}
	return true
}

func scimUser(o *steward.Owner) map[string]any {
	return map[string]any{"schemas": []string{scimUserSchema}, "id": o.ID, "externalId": o.ExternalRef, "userName": o.Email,
		"displayName": o.Name, "active": o.Status == steward.OwnerActive, "emails": []map[string]any{{"value": o.Email, "primary": true}},
		"meta": map[string]any{"resourceType": "User", "created": o.CreatedAt, "lastModified": o.UpdatedAt, "location": "/scim/v2/Users/" + o.ID}}
}

func scimReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) handleSCIMList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.scimAuth(w, r) {
			return
		}
		filter := strings.TrimSpace(r.URL.Query().Get("filter"))
		var res []any
		if filter != "" {
			attr, val, ok := strings.Cut(filter, " eq ")
			attr = strings.TrimSpace(attr)
			if !ok || (attr != "userName" && attr != "externalId" && attr != "emails.value") {
				scimError(w, http.StatusBadRequest, `only filter=userName eq "…" (or externalId, emails.value) is supported`)
				return
			}
			if o, err := s.Posture.LookupOwner(r.Context(), strings.Trim(strings.TrimSpace(val), `"`)); err == nil {
				res = append(res, scimUser(o))
			}
		}
		if res == nil {
			res = []any{}
		}
		scimReply(w, http.StatusOK, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
			"totalResults": len(res), "startIndex": 1, "itemsPerPage": len(res), "Resources": res})
	})
}

func (s *Server) handleSCIMGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.scimAuth(w, r) {
			return
		}
		o, err := s.Posture.LookupOwner(r.Context(), r.PathValue("id"))
		if err != nil {
			scimError(w, http.StatusNotFound, "no such user")
			return
		}
		scimReply(w, http.StatusOK, scimUser(o))
	})
}

// scimPatch is a PatchOp: {"Operations":[{"op":"replace","path":"active","value":false}]}
// or {"op":"replace","value":{"active":false}}.
type scimPatch struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	} `json:"Operations"`
}

func (p *scimPatch) deactivates() bool {
	for _, op := range p.Operations {
		if !strings.EqualFold(op.Op, "replace") && !strings.EqualFold(op.Op, "add") {
			continue
		}
		if strings.EqualFold(op.Path, "active") {
			var v any
			if json.Unmarshal(op.Value, &v) == nil && (v == false || v == "false" || v == "False") {
				return true
			}
		}
		if op.Path == "" {
			var m map[string]any
			if json.Unmarshal(op.Value, &m) == nil && (m["active"] == false || m["active"] == "false") {
				return true
			}
		}
	}
	return false
}

func (s *Server) handleSCIMPatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.scimAuth(w, r) {
			return
		}
		var p scimPatch
		body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		if err := json.NewDecoder(body).Decode(&p); err != nil {
			scimError(w, http.StatusBadRequest, "body is not a SCIM PatchOp")
			return
		}
		id := r.PathValue("id")
		if p.deactivates() {
			if _, err := s.Posture.DepartByRef(r.Context(), "scim", id, "deactivated via SCIM"); err != nil {
				if steward.ErrorCode(err) == steward.ENOTFOUND {
					scimError(w, http.StatusNotFound, "no such user")
					return
				}
				scimError(w, http.StatusInternalServerError, steward.ErrorMessage(err))
				return
			}
		}
		o, err := s.Posture.LookupOwner(r.Context(), id)
		if err != nil {
			scimError(w, http.StatusNotFound, "no such user")
			return
		}
		scimReply(w, http.StatusOK, scimUser(o))
	})
}

func (s *Server) handleSCIMDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.scimAuth(w, r) {
			return
		}
		if _, err := s.Posture.DepartByRef(r.Context(), "scim", r.PathValue("id"), "deleted via SCIM"); err != nil {
			if steward.ErrorCode(err) == steward.ENOTFOUND {
				scimError(w, http.StatusNotFound, "no such user")
				return
			}
			scimError(w, http.StatusInternalServerError, steward.ErrorMessage(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) oktaAuth(w http.ResponseWriter, r *http.Request) bool {
	if s.Posture == nil {
		statusProblem(w, r, http.StatusNotImplemented, "the Okta event hook is not enabled on this server")
		return false
	}
	if !s.Posture.CheckOktaSecret(strings.TrimSpace(r.Header.Get("Authorization"))) {
		statusProblem(w, r, http.StatusUnauthorized, "the Okta event hook secret is missing or wrong")
		return false
	}
	return true
}

func (s *Server) handleOktaVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.oktaAuth(w, r) {
			return
		}
		challenge := r.Header.Get("X-Okta-Verification-Challenge")
		if challenge == "" || len(challenge) > 512 {
			Error(w, r, steward.FieldError("X-Okta-Verification-Challenge", "header is required"))
			return
		}
		reply(w, http.StatusOK, map[string]string{"verification": challenge})
	})
}

// oktaHook is the part of an Okta event hook delivery Steward reads.
type oktaHook struct {
	Data struct {
		Events []struct {
			EventType string `json:"eventType"`
			Target    []struct {
				ID          string `json:"id"`
				Type        string `json:"type"`
				AlternateID string `json:"alternateId"`
			} `json:"target"`
		} `json:"events"`
	} `json:"data"`
}

func (s *Server) handleOktaEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.oktaAuth(w, r) {
			return
		}
		var h oktaHook
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes)).Decode(&h); err != nil {
			Error(w, r, steward.FieldError("data", "body is not an Okta event hook delivery"))
			return
		}
		var departed, unknown []string
		for _, ev := range h.Data.Events {
			if ev.EventType != "user.lifecycle.deactivate" && ev.EventType != "user.lifecycle.suspend" {
				continue
			}
			for _, t := range ev.Target {
				if t.Type != "User" {
					continue
				}
				var done bool
				for _, ref := range []string{t.AlternateID, t.ID} {
					if ref == "" {
						continue
					}
					ob, err := s.Posture.DepartByRef(r.Context(), "okta", ref, "Okta "+ev.EventType)
					if err == nil {
						departed, done = append(departed, ob.OwnerID), true
						break
					}
					if steward.ErrorCode(err) != steward.ENOTFOUND {
						Error(w, r, err)
						return
					}
				}
				if !done {
					unknown = append(unknown, t.AlternateID)
				}
			}
		}
		reply(w, http.StatusOK, map[string]any{"departed": nonNil(departed), "unknown": nonNil(unknown)})
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DoJSON sends in as a JSON body and decodes the reply into out.
func (c *Client) DoJSON(ctx context.Context, method, path string, in, out any) error {
	return c.doJSON(ctx, method, path, in, out)
}

// Download GETs path and returns the raw body (evidence packs); a
// problem+json reply becomes an error as with Do.
func (c *Client) Download(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Steward server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 2<<30))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode >= 400 {
		var p Problem
		if json.Unmarshal(b, &p) != nil || p.Status == 0 {
			p = Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(b[:min(len(b), 4096)]))}
		}
		return nil, &clientError{ProblemError{p}}
	}
	return b, nil
}
