package httpapi

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/usage"
)

// AuthzAPI is what the authz routes need; cmd/steward sets it in Deps.
// authz.PDP and usage.Service together implement it.
type AuthzAPI interface {
	Evaluate(ctx context.Context, r *authz.Request, call authz.Call) (*authz.Decision, error)
	// Evaluations returns *authz.EvaluationsResponse, or *authz.Decision
	// for a request without items.
	Evaluations(ctx context.Context, r *authz.EvaluationsRequest, call authz.Call) (any, error)
	SearchSubject(ctx context.Context, r *authz.SearchRequest, call authz.Call) (*authz.SearchResponse, error)
	SearchResource(ctx context.Context, r *authz.SearchRequest, call authz.Call) (*authz.SearchResponse, error)
	SearchAction(ctx context.Context, r *authz.SearchRequest, call authz.Call) (*authz.SearchResponse, error)

	PutPolicy(ctx context.Context, name, text, reason string) (*steward.AuthzPolicy, error)
	GetPolicy(ctx context.Context, name string) (*steward.AuthzPolicy, error)
	DeletePolicy(ctx context.Context, name, reason string) error
	ListPolicies(ctx context.Context, versions bool) (*authz.PolicyList, error)
	PutSchema(ctx context.Context, text, format, reason string) (*steward.AuthzSchema, error)
	PutEntities(ctx context.Context, body []byte, replace bool, reason string) (*authz.EntityChange, error)

	ListUsage(ctx context.Context, f steward.UsageFilter) (*steward.Page[*steward.UsageEvent], error)
	IdentityUsage(ctx context.Context, id string, f steward.UsageFilter) (*usage.IdentityUsage, error)
	UnknownCallers(ctx context.Context, limit int) ([]steward.UsageCount, error)
	Ingest(ctx context.Context, format string, r io.Reader, opts usage.IngestOptions) (*usage.IngestSummary, error)
	UsageStats() usage.RecorderStats
}

var usageQuery = []string{"identity_id", "subject", "kind", "outcome", "action", "unknown", "since", "until", "limit", "cursor"}

// authzRoutes lists the authz capability's routes.
func authzRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/.well-known/authzen-configuration", Summary: "AuthZEN PDP metadata", Public: true, Reply: "AuthzenMetadata", Status: 200, Needs: CapAuthz, handler: (*Server).handleAuthzenMetadata},
		{Method: "POST", Path: "/access/v1/evaluation", Summary: "AuthZEN access evaluation (a deny is 200 with decision false)", Roles: writers, Scope: authz.ScopeEvaluate, Request: "AuthzenRequest", Reply: "AuthzenDecision", Status: 200, Needs: CapAuthz, handler: (*Server).handleEvaluation},
		{Method: "POST", Path: "/access/v1/evaluations", Summary: "AuthZEN batch evaluation (execute_all, deny_on_first_deny, permit_on_first_permit)", Roles: writers, Scope: authz.ScopeEvaluate, Request: "AuthzenBatch", Reply: "AuthzenDecisions", Status: 200, Needs: CapAuthz, handler: (*Server).handleEvaluations},
		{Method: "POST", Path: "/access/v1/search/subject", Summary: "AuthZEN subject search", Roles: writers, Scope: authz.ScopeEvaluate, Request: "AuthzenSearch", Reply: "AuthzenSearchResult", Status: 200, Needs: CapAuthz, handler: searchHandler("subject")},
		{Method: "POST", Path: "/access/v1/search/resource", Summary: "AuthZEN resource search", Roles: writers, Scope: authz.ScopeEvaluate, Request: "AuthzenSearch", Reply: "AuthzenSearchResult", Status: 200, Needs: CapAuthz, handler: searchHandler("resource")},
		{Method: "POST", Path: "/access/v1/search/action", Summary: "AuthZEN action search", Roles: writers, Scope: authz.ScopeEvaluate, Request: "AuthzenSearch", Reply: "AuthzenSearchResult", Status: 200, Needs: CapAuthz, handler: searchHandler("action")},

		{Method: "GET", Path: "/api/v1/policies", Summary: "List Cedar policies (versions=true adds the history)", Roles: staff, Query: []string{"versions"}, Reply: "PolicyList", Status: 200, Needs: CapAuthz, handler: (*Server).handleListPolicies},
		{Method: "PUT", Path: "/api/v1/policies/schema", Summary: "Set the Cedar schema (text/plain Cedar or application/json)", Roles: admins, Query: []string{"reason"}, Request: "File", Reply: "PolicySchema", Status: 200, Needs: CapAuthz, handler: (*Server).handlePutSchema},
		{Method: "PUT", Path: "/api/v1/policies/{name}", Summary: "Create or replace a Cedar policy (body: text/plain Cedar)", Roles: admins, Query: []string{"reason"}, Request: "File", Reply: "Policy", Status: 200, Needs: CapAuthz, handler: (*Server).handlePutPolicy},
		{Method: "GET", Path: "/api/v1/policies/{name}", Summary: "Get a Cedar policy", Roles: staff, Reply: "Policy", Status: 200, Needs: CapAuthz, handler: (*Server).handleGetPolicy},
		{Method: "DELETE", Path: "/api/v1/policies/{name}", Summary: "Delete a Cedar policy (its history stays)", Roles: admins, Query: []string{"reason"}, Status: 204, Needs: CapAuthz, handler: (*Server).handleDeletePolicy},
		{Method: "PUT", Path: "/api/v1/entities", Summary: "Replace the external Cedar entities (Cedar JSON entity array)", Roles: admins, Query: []string{"reason"}, Request: "CedarEntities", Reply: "EntityChange", Status: 200, Needs: CapAuthz, handler: entitiesHandler(true)},
		{Method: "PATCH", Path: "/api/v1/entities", Summary: "Upsert Cedar entities (Cedar JSON entity array)", Roles: admins, Query: []string{"reason"}, Request: "CedarEntities", Reply: "EntityChange", Status: 200, Needs: CapAuthz, handler: entitiesHandler(false)},

		{Method: "GET", Path: "/api/v1/usage", Summary: "List usage events (decisions, authentications, ingested logs)", Roles: staff, Query: usageQuery, Reply: "UsagePage", Status: 200, Needs: CapAuthz, handler: (*Server).handleListUsage},
		{Method: "POST", Path: "/api/v1/usage", Summary: "Ingest usage events (JSON lines)", Roles: writers, Request: "File", Reply: "IngestSummary", Status: 200, Needs: CapAuthz, handler: ingestHandler("jsonl")},
		{Method: "GET", Path: "/api/v1/usage/unknown", Summary: "Callers seen in usage that match no identity (discovery leads)", Roles: staff, Query: []string{"limit"}, Reply: "UsageCountList", Status: 200, Needs: CapAuthz, handler: (*Server).handleUnknownCallers},
		{Method: "POST", Path: "/api/v1/usage/import/{format}", Summary: "Ingest a log: cloudtrail, vault, openbao, opa, gateway (…_field=NAME), jsonl", Roles: writers,
			Query: []string{"provider", "time_field", "subject_field", "credential_field", "action_field", "resource_field", "source_field", "user_agent_field", "outcome_field"}, Request: "File", Reply: "IngestSummary", Status: 200, Needs: CapAuthz, handler: ingestHandler("")},
		{Method: "GET", Path: "/api/v1/identities/{id}/usage", Summary: "An identity's usage: aggregates, unused scopes, recent events", Roles: staff, Own: true, Query: usageQuery, Reply: "IdentityUsage", Status: 200, Needs: CapAuthz, handler: (*Server).handleIdentityUsage},
	}
}

// authzSchemas adds the authz capability's OpenAPI schemas.
func authzSchemas() map[string]any {
	ent := object(obj{"type": str(), "id": str(), "properties": obj{"type": "object"}}, "type", "id")
	act := object(obj{"name": str(), "properties": obj{"type": "object"}}, "name")
	req := object(obj{"subject": ent, "action": act, "resource": ent, "context": obj{"type": "object"}}, "subject", "action", "resource")
	dec := object(obj{"decision": obj{"type": "boolean"}, "context": obj{"type": "object", "description": "decision_id, policies (determining policy ids), reason (runtime guard), errors"}}, "decision")
	policy := object(obj{"name": str(), "text": str(), "version": obj{"type": "integer"}, "updated_at": timeT(), "updated_by": str(), "reason": str(), "deleted": obj{"type": "boolean"}}, "name", "text", "version")
	schema := object(obj{"text": str(), "format": strEnum("cedar", "json"), "version": obj{"type": "integer"}, "updated_at": timeT(), "updated_by": str()}, "text", "format")
	count := object(obj{"key": str(), "dimension": str(), "value": str(), "count": obj{"type": "integer"}, "first_seen": timeT(), "last_seen": timeT()}, "value", "count")
	ev := object(obj{"id": str(), "time": timeT(), "kind": strEnum("auth", "decision", "ingest"), "identity_id": str(), "credential_id": str(), "subject": str(),
		"action": str(), "resource": str(), "source": str(), "user_agent": str(), "environment": str(), "outcome": str(), "reason": str(),
		"policy_ids": arr(str()), "latency_us": obj{"type": "integer"}, "attributes": obj{"type": "object", "additionalProperties": str()}}, "id", "time", "kind")
	return map[string]any{
		"AuthzenMetadata": object(obj{"policy_decision_point": str(), "access_evaluation_endpoint": str(), "access_evaluations_endpoint": str(),
			"search_subject_endpoint": str(), "search_resource_endpoint": str(), "search_action_endpoint": str(), "capabilities": arr(str())}, "policy_decision_point", "access_evaluation_endpoint"),
		"AuthzenEntity":   ent,
		"AuthzenRequest":  req,
		"AuthzenDecision": dec,
		"AuthzenBatch": object(obj{"subject": ent, "action": act, "resource": ent, "context": obj{"type": "object"}, "evaluations": arr(obj{"type": "object"}),
			"options": object(obj{"evaluations_semantic": strEnum(authz.ExecuteAll, authz.DenyOnFirstDeny, authz.PermitOnFirstPermit)})}),
		"AuthzenDecisions": object(obj{"evaluations": arr(dec)}, "evaluations"),
		"AuthzenSearch": object(obj{"subject": obj{"type": "object"}, "action": act, "resource": obj{"type": "object"}, "context": obj{"type": "object"},
			"page": object(obj{"token": str(), "limit": obj{"type": "integer"}})}),
		"AuthzenSearchResult": object(obj{"page": object(obj{"next_token": str(), "count": obj{"type": "integer"}, "total": obj{"type": "integer"}}, "next_token"),
			"results": arr(obj{"type": "object"})}, "results"),
		"Policy":        policy,
		"PolicySchema":  schema,
		"PolicyList":    object(obj{"revision": obj{"type": "integer"}, "items": arr(policy), "versions": arr(policy), "schema": schema}, "revision", "items"),
		"CedarEntities": arr(object(obj{"uid": object(obj{"type": str(), "id": str()}, "type", "id"), "attrs": obj{"type": "object"}, "parents": arr(obj{"type": "object"})}, "uid")),
		"EntityChange": object(obj{"revision": obj{"type": "integer"}, "entities": obj{"type": "integer"}, "added": arr(str()), "changed": arr(str()),
			"removed": arr(str())}, "entities"),
		"UsageEvent":     ev,
		"UsagePage":      page("UsageEvent"),
		"UsageCount":     count,
		"UsageCountList": object(obj{"items": arr(ref("UsageCount"))}, "items"),
		"IngestSummary": object(obj{"format": str(), "records": obj{"type": "integer"}, "accepted": obj{"type": "integer"}, "matched": obj{"type": "integer"},
			"unknown": obj{"type": "integer"}, "rejected": obj{"type": "integer"}, "errors": arr(object(obj{"line": obj{"type": "integer"}, "message": str()}))}),
		"IdentityUsage": object(obj{"identity_id": str(), "events": obj{"type": "integer"}, "first_seen": timeT(), "last_seen": timeT(),
			"actions": arr(ref("UsageCount")), "resources": arr(ref("UsageCount")), "sources": arr(ref("UsageCount")), "outcomes": arr(ref("UsageCount")),
			"granted_scopes": arr(str()), "unused_scopes": arr(str()), "recent": ref("UsagePage")}, "identity_id"),
	}
}

// requireContentType answers 415 unless the body's media type is one of want.
func requireContentType(w http.ResponseWriter, r *http.Request, want ...string) (string, bool) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, t := range want {
			if mt == t || (t == "application/json" && strings.HasSuffix(mt, "+json")) {
				return t, true
			}
		}
	}
	writeProblemJSON(w, Problem{Type: problemType(steward.EINVALID), Title: titleOf[http.StatusUnsupportedMediaType], Status: http.StatusUnsupportedMediaType,
		Detail: "Content-Type must be " + strings.Join(want, " or ") + ", not " + quoteOrNone(ct), Instance: r.URL.Path, Code: steward.EINVALID,
		Field: "Content-Type", RequestID: RequestID(r.Context())})
	return "", false
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return `"` + s + `"`
}

// readAuthzen reads an AuthZEN JSON body: unknown fields are ignored.
func readAuthzen(w http.ResponseWriter, r *http.Request, v any) bool {
	if _, ok := requireContentType(w, r, "application/json"); !ok {
		return false
	}
	raw, err := readBody(w, r, MaxBodyBytes)
	if err == nil {
		err = authz.Decode(bytes.NewReader(raw), v)
	}
	if err == nil {
		err = checkJSONText(raw)
	}
	if err != nil {
		Error(w, r, err)
		return false
	}
	return true
}

func callOf(r *http.Request) authz.Call {
	return authz.Call{Source: clientIP(r), UserAgent: r.UserAgent(), RequestID: RequestID(r.Context())}
}

func (s *Server) handleAuthzenMetadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base := scheme + "://" + r.Host
		reply(w, http.StatusOK, map[string]any{
			"policy_decision_point":       base,
			"access_evaluation_endpoint":  base + "/access/v1/evaluation",
			"access_evaluations_endpoint": base + "/access/v1/evaluations",
			"search_subject_endpoint":     base + "/access/v1/search/subject",
			"search_resource_endpoint":    base + "/access/v1/search/resource",
			"search_action_endpoint":      base + "/access/v1/search/action",
		})
	})
}

// authzenHandler serves an AuthZEN call: the body read by the AuthZEN
// rules (unknown fields ignored), fn's answer as JSON.
func authzenHandler[Req, Resp any](fn func(ctx context.Context, in *Req, call authz.Call) (Resp, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in Req
		if !readAuthzen(w, r, &in) {
			return
		}
		out, err := fn(r.Context(), &in, callOf(r))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, out)
	})
}

func (s *Server) handleEvaluation() http.Handler {
	return authzenHandler(func(ctx context.Context, in *authz.Request, call authz.Call) (*authz.Decision, error) {
		start := time.Now()
		d, err := s.Authz.Evaluate(ctx, in, call)
		if err == nil {
			s.metrics.observeDecisions(time.Since(start), *d)
		}
		return d, err
	})
}

// observeDecisions counts decisions by outcome and determining policy set
// (a policy id is "<set>" or "<set>#<n>") and times them.
func (m *Metrics) observeDecisions(d time.Duration, ds ...authz.Decision) {
	for _, dec := range ds {
		outcome := "deny"
		if dec.Decision {
			outcome = "allow"
		}
		set := "none"
		if pols, ok := dec.Context["policies"].([]string); ok && len(pols) > 0 {
			set, _, _ = strings.Cut(pols[0], "#")
		}
		m.decisions.WithLabelValues(outcome, set).Inc()
		m.decisionTime.WithLabelValues(outcome).Observe(d.Seconds())
	}
}

// registerUsageMetrics exports the usage recorder's counters; NewServer
// calls it once when the authz capability is configured.
func (s *Server) registerUsageMetrics() {
	a := s.Authz
	_ = s.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_usage_events_dropped_total",
		Help: "Usage events dropped because the recorder's queue was full (the PDP kept answering)."}, func() float64 { return float64(a.UsageStats().Dropped) }))
	_ = s.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_usage_events_written_total",
		Help: "Usage events written to the store."}, func() float64 { return float64(a.UsageStats().Written) }))
	_ = s.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_usage_events_failed_total",
		Help: "Usage events lost because the store refused them (each retried on its own first)."}, func() float64 { return float64(a.UsageStats().Failed) }))
	_ = s.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_usage_events_cleaned_total",
		Help: "Usage events stored with NUL bytes or invalid UTF-8 replaced by U+FFFD."}, func() float64 { return float64(a.UsageStats().Cleaned) }))
	_ = s.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "steward_usage_queue_length",
		Help: "Usage events waiting to be written."}, func() float64 { return float64(a.UsageStats().Queued) }))
}

func (s *Server) handleEvaluations() http.Handler {
	return authzenHandler(func(ctx context.Context, in *authz.EvaluationsRequest, call authz.Call) (any, error) {
		start := time.Now()
		out, err := s.Authz.Evaluations(ctx, in, call)
		switch r := out.(type) {
		case *authz.EvaluationsResponse:
			s.metrics.observeDecisions(time.Since(start), r.Evaluations...)
		case authz.EvaluationsResponse:
			s.metrics.observeDecisions(time.Since(start), r.Evaluations...)
		case *authz.Decision:
			s.metrics.observeDecisions(time.Since(start), *r)
		}
		return out, err
	})
}

func searchHandler(kind string) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		search := map[string]func(context.Context, *authz.SearchRequest, authz.Call) (*authz.SearchResponse, error){
			"subject": s.Authz.SearchSubject, "resource": s.Authz.SearchResource, "action": s.Authz.SearchAction}
		return authzenHandler(search[kind])
	}
}

// textHandler serves a PUT whose body is a document of one of types (at
// most limit bytes) and whose query holds only the change's reason.
func textHandler[Resp any](limit int64, types []string, fn func(r *http.Request, ct string, body []byte, reason string) (Resp, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason, err := reasonParam(r)
		if err != nil {
			Error(w, r, err)
			return
		}
		ct, ok := requireContentType(w, r, types...)
		if !ok {
			return
		}
		b, err := readBody(w, r, limit)
		if err == nil && ct == "application/json" {
			err = checkJSONText(b)
		} else if err == nil {
			err = cleanText("body", string(b))
		}
		var out Resp
		if err == nil {
			out, err = fn(r, ct, b, reason)
		}
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, out)
	})
}

// reasonParam reads a query holding only the reason for a change.
func reasonParam(r *http.Request) (string, error) {
	q := newQuery(r)
	reason := q.str("reason")
	return reason, q.done()
}

var cedarTypes = []string{"text/plain", "application/cedar"}

func (s *Server) handlePutPolicy() http.Handler {
	return textHandler(MaxBodyBytes, cedarTypes, func(r *http.Request, _ string, body []byte, reason string) (*steward.AuthzPolicy, error) {
		return s.Authz.PutPolicy(r.Context(), r.PathValue("name"), string(body), reason)
	})
}

func (s *Server) handleGetPolicy() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.AuthzPolicy, error) {
		return s.Authz.GetPolicy(r.Context(), r.PathValue("name"))
	})
}

func (s *Server) handleDeletePolicy() http.Handler {
	return noContent(func(r *http.Request, _ string) error {
		reason, err := reasonParam(r)
		if err != nil {
			return err
		}
		return s.Authz.DeletePolicy(r.Context(), r.PathValue("name"), reason)
	})
}

func versionsParam(r *http.Request) (bool, error) {
	q := newQuery(r)
	v := q.bool("versions")
	return v, q.done()
}

func (s *Server) handleListPolicies() http.Handler {
	return filtered(versionsParam, s.Authz.ListPolicies)
}

func (s *Server) handlePutSchema() http.Handler {
	types := append(slices.Clone(cedarTypes), "application/json")
	return textHandler(MaxBodyBytes, types, func(r *http.Request, ct string, body []byte, reason string) (*steward.AuthzSchema, error) {
		format := "cedar"
		if ct == "application/json" {
			format = "json"
		}
		return s.Authz.PutSchema(r.Context(), string(body), format, reason)
	})
}

func entitiesHandler(replace bool) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return textHandler(MaxImportBytes, []string{"application/json"}, func(r *http.Request, _ string, body []byte, reason string) (*authz.EntityChange, error) {
			return s.Authz.PutEntities(r.Context(), body, replace, reason)
		})
	}
}

func usageFilter(r *http.Request) (steward.UsageFilter, error) {
	q := newQuery(r)
	f := steward.UsageFilter{IdentityID: q.str("identity_id"), Subject: q.str("subject"), Kind: q.str("kind"), Outcome: q.str("outcome"),
		Action: q.str("action"), Since: q.time("since"), Until: q.time("until"), Limit: q.int("limit"), Cursor: q.str("cursor")}
	f.Unknown = q.bool("unknown")
	return f, q.done()
}

func (s *Server) handleListUsage() http.Handler { return filtered(usageFilter, s.Authz.ListUsage) }

func (s *Server) handleIdentityUsage() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*usage.IdentityUsage, error) {
		f, err := usageFilter(r)
		if err != nil {
			return nil, err
		}
		return s.Authz.IdentityUsage(r.Context(), r.PathValue("id"), f)
	})
}

// limitParam reads a query holding only a limit.
func limitParam(r *http.Request) (int, error) {
	q := newQuery(r)
	limit := q.int("limit")
	return limit, q.done()
}

func (s *Server) handleUnknownCallers() http.Handler {
	return filtered(limitParam, func(ctx context.Context, limit int) (itemList[steward.UsageCount], error) {
		return items(s.Authz.UnknownCallers(ctx, limit))
	})
}

func ingestHandler(fixed string) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			format := fixed
			if format == "" {
				format = r.PathValue("format")
			}
			q := newQuery(r)
			opts := usage.IngestOptions{Provider: q.str("provider"), Fields: map[string]string{}}
			for _, k := range []string{"time", "subject", "credential", "action", "resource", "source", "user_agent", "outcome"} {
				if v := q.str(k + "_field"); v != "" {
					opts.Fields[k] = v
				}
			}
			if err := q.done(); err != nil {
				Error(w, r, err)
				return
			}
			body, err := limitBody(w, r, MaxImportBytes)
			if err != nil {
				Error(w, r, err)
				return
			}
			sum, err := s.Authz.Ingest(r.Context(), format, body, opts)
			if err != nil {
				if body.over != nil {
					err = body.over
				}
				Error(w, r, err)
				return
			}
			reply(w, http.StatusOK, sum)
		})
	}
}
