package httpapi

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strings"

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
	const eval = "admin, operator, or an NHI credential with scope authzen:evaluate"
	return []Route{
		{Method: "GET", Path: "/.well-known/authzen-configuration", Summary: "AuthZEN PDP metadata", Public: true, Reply: "AuthzenMetadata", Status: 200, handler: (*Server).handleAuthzenMetadata},
		{Method: "POST", Path: "/access/v1/evaluation", Summary: "AuthZEN access evaluation (a deny is 200 with decision false)", Roles: eval, Request: "AuthzenRequest", Reply: "AuthzenDecision", Status: 200, handler: (*Server).handleEvaluation},
		{Method: "POST", Path: "/access/v1/evaluations", Summary: "AuthZEN batch evaluation (execute_all, deny_on_first_deny, permit_on_first_permit)", Roles: eval, Request: "AuthzenBatch", Reply: "AuthzenDecisions", Status: 200, handler: (*Server).handleEvaluations},
		{Method: "POST", Path: "/access/v1/search/subject", Summary: "AuthZEN subject search", Roles: eval, Request: "AuthzenSearch", Reply: "AuthzenSearchResult", Status: 200, handler: searchHandler("subject")},
		{Method: "POST", Path: "/access/v1/search/resource", Summary: "AuthZEN resource search", Roles: eval, Request: "AuthzenSearch", Reply: "AuthzenSearchResult", Status: 200, handler: searchHandler("resource")},
		{Method: "POST", Path: "/access/v1/search/action", Summary: "AuthZEN action search", Roles: eval, Request: "AuthzenSearch", Reply: "AuthzenSearchResult", Status: 200, handler: searchHandler("action")},

		{Method: "GET", Path: "/api/v1/policies", Summary: "List Cedar policies (versions=true adds the history)", Roles: "admin, operator, auditor", Query: []string{"versions"}, Reply: "PolicyList", Status: 200, handler: (*Server).handleListPolicies},
		{Method: "PUT", Path: "/api/v1/policies/schema", Summary: "Set the Cedar schema (text/plain Cedar or application/json)", Roles: "admin", Query: []string{"reason"}, Request: "File", Reply: "PolicySchema", Status: 200, handler: (*Server).handlePutSchema},
		{Method: "PUT", Path: "/api/v1/policies/{name}", Summary: "Create or replace a Cedar policy (body: text/plain Cedar)", Roles: "admin", Query: []string{"reason"}, Request: "File", Reply: "Policy", Status: 200, handler: (*Server).handlePutPolicy},
		{Method: "GET", Path: "/api/v1/policies/{name}", Summary: "Get a Cedar policy", Roles: "admin, operator, auditor", Reply: "Policy", Status: 200, handler: (*Server).handleGetPolicy},
		{Method: "DELETE", Path: "/api/v1/policies/{name}", Summary: "Delete a Cedar policy (its history stays)", Roles: "admin", Query: []string{"reason"}, Status: 204, handler: (*Server).handleDeletePolicy},
		{Method: "PUT", Path: "/api/v1/entities", Summary: "Replace the external Cedar entities (Cedar JSON entity array)", Roles: "admin", Query: []string{"reason"}, Request: "CedarEntities", Reply: "EntityChange", Status: 200, handler: entitiesHandler(true)},
		{Method: "PATCH", Path: "/api/v1/entities", Summary: "Upsert Cedar entities (Cedar JSON entity array)", Roles: "admin", Query: []string{"reason"}, Request: "CedarEntities", Reply: "EntityChange", Status: 200, handler: entitiesHandler(false)},

		{Method: "GET", Path: "/api/v1/usage", Summary: "List usage events (decisions, authentications, ingested logs)", Roles: "admin, operator, auditor", Query: usageQuery, Reply: "UsagePage", Status: 200, handler: (*Server).handleListUsage},
		{Method: "POST", Path: "/api/v1/usage", Summary: "Ingest usage events (JSON lines)", Roles: "admin, operator", Request: "File", Reply: "IngestSummary", Status: 200, handler: ingestHandler("jsonl")},
		{Method: "GET", Path: "/api/v1/usage/unknown", Summary: "Callers seen in usage that match no identity (discovery leads)", Roles: "admin, operator, auditor", Query: []string{"limit"}, Reply: "UsageCountList", Status: 200, handler: (*Server).handleUnknownCallers},
		{Method: "POST", Path: "/api/v1/usage/import/{format}", Summary: "Ingest a log: cloudtrail, vault, openbao, opa, gateway (…_field=NAME), jsonl", Roles: "admin, operator",
			Query: []string{"provider", "time_field", "subject_field", "credential_field", "action_field", "resource_field", "source_field", "user_agent_field", "outcome_field"}, Request: "File", Reply: "IngestSummary", Status: 200, handler: ingestHandler("")},
		{Method: "GET", Path: "/api/v1/identities/{id}/usage", Summary: "An identity's usage: aggregates, unused scopes, recent events", Roles: "any (owner: own)", Query: usageQuery, Reply: "IdentityUsage", Status: 200, handler: (*Server).handleIdentityUsage},
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

// authzReady answers 501 while the capability is not wired.
func (s *Server) authzReady(w http.ResponseWriter, r *http.Request) bool {
	if s.Authz == nil {
		Error(w, r, steward.Errorf(steward.ENOTIMPLEMENTED, "authorization is not enabled on this server"))
		return false
	}
	return true
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
	if err := authz.Decode(http.MaxBytesReader(w, r.Body, MaxBodyBytes), v); err != nil {
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
		if !s.authzReady(w, r) {
			return
		}
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

func (s *Server) handleEvaluation() http.Handler {
	if s.Authz != nil {
		s.registerUsageMetrics()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		var in authz.Request
		if !readAuthzen(w, r, &in) {
			return
		}
		d, err := s.Authz.Evaluate(r.Context(), &in, callOf(r))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, d)
	})
}

// registerUsageMetrics exports the usage recorder's counters.
func (s *Server) registerUsageMetrics() {
	a := s.Authz
	_ = s.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_usage_events_dropped_total",
		Help: "Usage events dropped because the recorder's queue was full (the PDP kept answering)."}, func() float64 { return float64(a.UsageStats().Dropped) }))
	_ = s.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_usage_events_written_total",
		Help: "Usage events written to the store."}, func() float64 { return float64(a.UsageStats().Written) }))
	_ = s.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "steward_usage_events_failed_total",
		Help: "Usage events lost because the store refused a batch."}, func() float64 { return float64(a.UsageStats().Failed) }))
	_ = s.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "steward_usage_queue_length",
		Help: "Usage events waiting to be written."}, func() float64 { return float64(a.UsageStats().Queued) }))
}

func (s *Server) handleEvaluations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		var in authz.EvaluationsRequest
		if !readAuthzen(w, r, &in) {
			return
		}
		out, err := s.Authz.Evaluations(r.Context(), &in, callOf(r))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, out)
	})
}

func searchHandler(kind string) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.authzReady(w, r) {
				return
			}
			var in authz.SearchRequest
			if !readAuthzen(w, r, &in) {
				return
			}
			var out *authz.SearchResponse
			var err error
			switch kind {
			case "subject":
				out, err = s.Authz.SearchSubject(r.Context(), &in, callOf(r))
			case "resource":
				out, err = s.Authz.SearchResource(r.Context(), &in, callOf(r))
			default:
				out, err = s.Authz.SearchAction(r.Context(), &in, callOf(r))
			}
			if err != nil {
				Error(w, r, err)
				return
			}
			reply(w, http.StatusOK, out)
		})
	}
}

// readText reads a text body of at most MaxBodyBytes.
func readText(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		Error(w, r, err)
		return nil, false
	}
	return b, true
}

func (s *Server) handlePutPolicy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		q := newQuery(r)
		reason := q.str("reason")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		if _, ok := requireContentType(w, r, "text/plain", "application/cedar"); !ok {
			return
		}
		b, ok := readText(w, r)
		if !ok {
			return
		}
		p, err := s.Authz.PutPolicy(r.Context(), r.PathValue("name"), string(b), reason)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, p)
	})
}

func (s *Server) handleGetPolicy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		p, err := s.Authz.GetPolicy(r.Context(), r.PathValue("name"))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, p)
	})
}

func (s *Server) handleDeletePolicy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		q := newQuery(r)
		reason := q.str("reason")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		if err := s.Authz.DeletePolicy(r.Context(), r.PathValue("name"), reason); err != nil {
			Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) handleListPolicies() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		q := newQuery(r)
		versions := q.str("versions")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		if versions != "" && versions != "true" && versions != "false" {
			Error(w, r, steward.FieldError("versions", "must be true or false, not %q", versions))
			return
		}
		out, err := s.Authz.ListPolicies(r.Context(), versions == "true")
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, out)
	})
}

func (s *Server) handlePutSchema() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		q := newQuery(r)
		reason := q.str("reason")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		ct, ok := requireContentType(w, r, "text/plain", "application/cedar", "application/json")
		if !ok {
			return
		}
		b, ok := readText(w, r)
		if !ok {
			return
		}
		format := "cedar"
		if ct == "application/json" {
			format = "json"
		}
		out, err := s.Authz.PutSchema(r.Context(), string(b), format, reason)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, out)
	})
}

func entitiesHandler(replace bool) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.authzReady(w, r) {
				return
			}
			q := newQuery(r)
			reason := q.str("reason")
			if err := q.done(); err != nil {
				Error(w, r, err)
				return
			}
			if _, ok := requireContentType(w, r, "application/json"); !ok {
				return
			}
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxImportBytes))
			if err != nil {
				Error(w, r, err)
				return
			}
			out, err := s.Authz.PutEntities(r.Context(), b, replace, reason)
			if err != nil {
				Error(w, r, err)
				return
			}
			reply(w, http.StatusOK, out)
		})
	}
}

func usageFilter(r *http.Request) (steward.UsageFilter, error) {
	q := newQuery(r)
	f := steward.UsageFilter{IdentityID: q.str("identity_id"), Subject: q.str("subject"), Kind: q.str("kind"), Outcome: q.str("outcome"),
		Action: q.str("action"), Since: q.time("since"), Until: q.time("until"), Limit: q.int("limit"), Cursor: q.str("cursor")}
	switch u := q.str("unknown"); u {
	case "", "false":
	case "true":
		f.Unknown = true
	default:
		return f, steward.FieldError("unknown", "must be true or false, not %q", u)
	}
	return f, q.done()
}

func (s *Server) handleListUsage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		f, err := usageFilter(r)
		if err != nil {
			Error(w, r, err)
			return
		}
		out, err := s.Authz.ListUsage(r.Context(), f)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, out)
	})
}

func (s *Server) handleIdentityUsage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		f, err := usageFilter(r)
		if err != nil {
			Error(w, r, err)
			return
		}
		out, err := s.Authz.IdentityUsage(r.Context(), r.PathValue("id"), f)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, out)
	})
}

func (s *Server) handleUnknownCallers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authzReady(w, r) {
			return
		}
		q := newQuery(r)
		limit := q.int("limit")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		out, err := s.Authz.UnknownCallers(r.Context(), limit)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, map[string]any{"items": out})
	})
}

func ingestHandler(fixed string) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.authzReady(w, r) {
				return
			}
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
			body := limitBody(w, r, MaxImportBytes)
			sum, err := s.Authz.Ingest(r.Context(), format, body, opts)
			if err != nil {
				if body.over != nil {
					Error(w, r, body.over)
					return
				}
				writeProblem(w, r, err, nil)
				return
			}
			reply(w, http.StatusOK, sum)
		})
	}
}
