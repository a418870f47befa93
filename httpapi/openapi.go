package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

type obj = map[string]any

func str() obj                { return obj{"type": "string"} }
func strEnum(v ...string) obj { return obj{"type": "string", "enum": v} }
func timeT() obj              { return obj{"type": []string{"string", "null"}, "format": "date-time"} }
func ref(name string) obj     { return obj{"$ref": "#/components/schemas/" + name} }
func arr(items obj) obj       { return obj{"type": "array", "items": items} }
func object(props obj, required ...string) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}
func page(item string) obj {
	return object(obj{"items": arr(ref(item)), "next_cursor": obj{"type": "string", "description": "empty on the last page"}}, "items", "next_cursor")
}

var kinds = []string{"api_key", "service_account", "oauth_app", "workload", "bot", "ai_agent", "ssh_key", "certificate", "pat"}
var tiers = []string{"critical", "high", "medium", "low"}

func schemas() obj {
	identityProps := obj{
		"id": str(), "name": str(), "kind": strEnum(kinds...), "provider": obj{"type": "string", "description": "steward, aws, gcp, azure, github, gitlab, kubernetes, vault, okta, slack, datadog, other or vendor:<name>"},
		"external_ref": str(), "owner_id": str(), "team": str(), "purpose": str(), "environment": str(),
		"scopes": arr(str()), "sensitivity": strEnum(tiers...), "vendor_managed": obj{"type": "boolean"},
		"source": strEnum("registered", "imported", "discovered"), "status": strEnum("pending", "active", "suspended", "revoked", "expired"),
		"created_at": timeT(), "updated_at": timeT(), "expires_at": timeT(), "last_rotated_at": timeT(), "last_used_at": timeT(),
		"labels": obj{"type": "object", "additionalProperties": str()}, "exception": ref("Exception"), "version": obj{"type": "integer"},
	}
	createProps := obj{}
	for _, k := range []string{"name", "kind", "provider", "external_ref", "owner_id", "team", "purpose", "environment", "scopes", "sensitivity", "vendor_managed", "expires_at", "last_rotated_at", "last_used_at", "labels", "exception"} {
		createProps[k] = identityProps[k]
	}
	createProps["status"] = strEnum("pending", "active")
	createProps["unowned_reason"] = obj{"type": "string", "description": "required when owner_id is empty: why the identity has no owner (recorded in its creation event)"}
	patchProps := obj{"reason": str(), "version": obj{"type": "integer", "description": "if set, must equal the stored version"}}
	for _, k := range []string{"name", "kind", "provider", "external_ref", "owner_id", "team", "purpose", "environment", "scopes", "sensitivity", "vendor_managed", "expires_at", "last_rotated_at", "labels", "exception"} {
		patchProps[k] = identityProps[k]
	}
	patchProps["labels"] = obj{"type": []string{"object", "null"}, "additionalProperties": obj{"type": []string{"string", "null"}},
		"description": "JSON merge patch (RFC 7386): labels named are set, a label set to null is removed, others are kept; null removes every label"}
	ownerProps := obj{"id": str(), "name": str(), "email": str(), "kind": strEnum("person", "team"), "status": strEnum("active", "departed"),
		"team": str(), "manager_id": str(), "backup_owner_id": str(), "external_ref": str(), "created_at": timeT(), "updated_at": timeT(),
		"departed_at": timeT(), "version": obj{"type": "integer"}}
	tokenProps := obj{"id": str(), "name": str(), "role": strEnum("admin", "operator", "auditor", "owner"), "owner_id": str(),
		"created_at": timeT(), "created_by": str(), "expires_at": timeT(), "last_used_at": timeT(), "revoked_at": timeT()}
	created := obj{"token": obj{"type": "string", "description": "the secret, shown once"}}
	for k, v := range tokenProps {
		created[k] = v
	}
	out := obj{
		"Identity":       object(identityProps, "id", "name", "kind", "provider", "status", "sensitivity", "source"),
		"IdentityCreate": object(createProps, "name", "kind"),
		"IdentityPatch":  object(patchProps),
		"IdentityPage":   page("Identity"),
		"Exception":      object(obj{"reason": str(), "until": timeT(), "approver": str()}, "reason", "until"),
		"Owner":          object(ownerProps, "id", "name", "kind", "status"),
		"OwnerCreate":    object(obj{"name": str(), "email": str(), "kind": strEnum("person", "team"), "team": str(), "manager_id": str(), "backup_owner_id": str(), "external_ref": str()}, "name"),
		"OwnerPatch":     object(obj{"name": str(), "email": str(), "team": str(), "manager_id": str(), "backup_owner_id": str(), "external_ref": str(), "version": obj{"type": "integer"}}),
		"OwnerPage":      page("Owner"),
		"Departure":      object(obj{"owner": ref("Owner"), "identities": arr(ref("Identity"))}, "owner", "identities"),
		"Reason":         object(obj{"reason": str()}),
		"Transition":     object(obj{"reason": obj{"type": "string", "description": "revoke: owner_department, incident, dormant, decommissioned, rotation or manual"}, "note": str()}),
		"Event": object(obj{"seq": obj{"type": "integer"}, "id": str(), "time": timeT(), "actor": str(), "action": str(), "subject_type": str(), "subject_id": str(),
			"identity_id": str(), "reason": str(), "before": obj{}, "after": obj{}, "prev_hash": str(), "entry_hash": str()}, "seq", "id", "time", "actor", "action"),
		"EventPage": page("Event"),
		"Credential": object(obj{"id": str(), "identity_id": str(), "type": str(), "external_ref": str(), "fingerprint": obj{"type": "string", "description": "SHA-256 hex of the secret"},
			"hint": str(), "status": strEnum("active", "inactive", "revoked", "expired"), "scopes": arr(str()), "created_at": timeT(), "expires_at": timeT(),
			"last_rotated_at": timeT(), "last_used_at": timeT(), "revoked_at": timeT(),
			"revoked_where": obj{"type": "string", "enum": []string{"steward", "provider", "inventory only"}, "description": "where the revocation took effect: steward (Steward refuses it), provider (the provider confirmed it), inventory only (only marked here; the secret may still work)"}, "metadata": obj{"type": "object", "additionalProperties": str()}}, "id", "identity_id", "type", "status"),
		"CredentialList": object(obj{"items": arr(ref("Credential"))}, "items"),
		"ImportSummary": object(obj{"format": str(), "records": obj{"type": "integer"}, "created": obj{"type": "integer"}, "updated": obj{"type": "integer"},
			"unchanged": obj{"type": "integer"}, "rejected": obj{"type": "integer"}, "unowned": obj{"type": "integer"}, "errors": arr(ref("RecordError")),
			"stopped": obj{"type": "string", "description": "why the import gave up before the end of the file (nothing imported)"}}),
		"RecordError":    object(obj{"record": obj{"type": "integer"}, "line": obj{"type": "integer"}, "ref": str(), "field": str(), "message": str()}, "record", "message"),
		"File":           obj{"type": "string", "description": "the provider's export file"},
		"TokenCreate":    object(obj{"name": str(), "role": strEnum("admin", "operator", "auditor", "owner"), "owner_id": str(), "ttl": obj{"type": "string", "description": "e.g. 720h or 30d"}}, "role"),
		"Token":          object(tokenProps, "id", "role"),
		"CreatedToken":   object(created, "id", "role", "token"),
		"TokenList":      object(obj{"items": arr(ref("Token"))}, "items"),
		"Whoami":         object(obj{"kind": strEnum("operator", "nhi"), "actor": str(), "role": str(), "owner_id": str(), "token_id": str(), "identity_id": str(), "credential_id": str(), "scopes": arr(str()), "delegation": object(obj{"subject": str(), "actors": arr(str())}, "subject", "actors")}, "actor", "kind"),
		"InventoryStats": inventoryStatsSchema(),
		"Health":         object(obj{"status": str(), "version": str()}, "status"),
		"Problem": object(obj{"type": str(), "title": str(), "status": obj{"type": "integer"}, "detail": str(), "instance": str(), "code": str(),
			"field": obj{"type": "string", "description": "the input at fault"}, "request_id": str(), "errors": obj{}}, "type", "title", "status"),
	}
	for _, extra := range []obj{discoverySchemas(), auditSchemas(), brokerSchemas(), authzSchemas(), postureSchemas(), alertsSchemas(), scimOpenAPISchemas(), conformanceSchemas(), federationSchemas(), custodySchemas(), mcpSchemas()} {
		for k, v := range extra {
			out[k] = v
		}
	}
	return out
}

var paramRE = regexp.MustCompile(`\{([a-z_]+)\}`)

var listParams = map[string][]string{
	"/api/v1/identities":             {"owner", "owner_id", "team", "kind", "provider", "environment", "status", "sensitivity", "source", "expires_before", "unused_since", "q", "sort", "limit", "cursor"},
	"/api/v1/events":                 {"identity_id", "actor", "action", "since", "until", "order", "limit", "cursor"},
	"/api/v1/owners":                 {"status", "team", "q", "email", "limit", "cursor"},
	"/api/v1/import/{format}":        {"partial", "owner_id", "environment", "sensitivity"},
	"/api/v1/identities/{id}/events": {"action", "actor", "since", "until", "order", "limit", "cursor"},
}

// OpenAPI returns the OpenAPI 3.1 document of the routes.
func OpenAPI(version string, routes []Route) map[string]any {
	paths := obj{}
	problem := func(desc string) obj {
		return obj{"description": desc, "content": obj{"application/problem+json": obj{"schema": ref("Problem")}}}
	}
	for _, rt := range routes {
		op := obj{"summary": rt.Summary, "operationId": operationID(rt)}
		if a := rt.Access(); a != "" {
			op["description"] = "Roles: " + a
		}
		var params []obj
		for _, m := range paramRE.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": str()})
		}
		if rt.Method == "GET" || strings.HasPrefix(rt.Path, "/api/v1/import") {
			for _, p := range append(listParams[rt.Path], rt.Query...) {
				params = append(params, obj{"name": p, "in": "query", "required": false, "schema": queryParamSchema(p)})
			}
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Request != "" {
			ct := "application/json"
			if rt.Request == "File" {
				ct = "application/octet-stream"
			} else if strings.HasPrefix(rt.Request, "SCIM") {
				ct = "application/scim+json"
			} else if strings.HasSuffix(rt.Request, "Form") {
				ct = "application/x-www-form-urlencoded"
			}
			op["requestBody"] = obj{"required": rt.Request != "Transition" && rt.Request != "Reason", "content": obj{ct: obj{"schema": ref(rt.Request)}}}
		}
		ok := obj{"description": "success"}
		if rt.Reply != "" {
			ct := "application/json"
			if strings.HasPrefix(rt.Reply, "SCIM") {
				ct = "application/scim+json"
			}
			ok["content"] = obj{ct: obj{"schema": ref(rt.Reply)}}
		}
		responses := obj{strconv.Itoa(rt.Status): ok}
		if rt.Public {
			op["security"] = []obj{}
		} else {
			responses["400"] = problem("invalid input; `field` names it")
			responses["401"] = problem("no or invalid bearer token")
			responses["403"] = problem("the token's role may not do this")
			responses["429"] = problem("rate limited")
		}
		if strings.Contains(rt.Path, "{id}") {
			responses["404"] = problem("not found")
		}
		if rt.Method != "GET" && !rt.Public {
			responses["409"] = problem("conflict: impossible transition, stale version, duplicate")
			responses["413"] = problem("body too large")
		}
		op["responses"] = responses
		item, _ := paths[rt.Path].(obj)
		if item == nil {
			item = obj{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "Steward API", "version": version,
			"description": "Steward governs non-human identities: inventory, owners, lifecycle and the change history. Every /api/v1 route needs a bearer token except this document, which is public; errors are RFC 9457 problem details."},
		"servers":    []obj{{"url": "/"}},
		"security":   []obj{{"bearer": []string{}}},
		"paths":      paths,
		"components": obj{"schemas": schemas(), "securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer"}}},
	}
}

func operationID(rt Route) string {
	parts := []string{strings.ToLower(rt.Method)}
	for _, p := range strings.Split(strings.Trim(rt.Path, "/"), "/") {
		if p == "api" || p == "v1" {
			continue
		}
		p = strings.Trim(p, "{}")
		p = strings.NewReplacer(".", "_", "-", "_").Replace(p)
		parts = append(parts, p)
	}
	return strings.Join(parts, "_")
}

var openapiOnce sync.Once
var openapiDoc []byte

func (s *Server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		openapiOnce.Do(func() {
			openapiDoc, _ = json.MarshalIndent(OpenAPI(s.Version, Routes()), "", "  ")
		})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapiDoc)
	})
}

// queryParamSchema types a query parameter by its name: counts are
// integers, flags booleans, instants RFC 3339 date-times.
func queryParamSchema(name string) obj {
	switch name {
	case "limit", "days", "count", "startIndex", "seconds", "debug", "gc":
		return obj{"type": "integer", "minimum": 0}
	case "partial":
		return obj{"type": "boolean"}
	case "since", "until", "expires_before", "unused_since", "from", "to":
		return obj{"type": "string", "format": "date-time"}
	}
	return str()
}

func inventoryStatsSchema() obj {
	counts := obj{"type": "object", "additionalProperties": obj{"type": "integer"}}
	n := obj{"type": "integer"}
	return object(obj{"identities": n, "by_status": counts, "by_kind": counts, "by_provider": counts, "by_sensitivity": counts,
		"by_environment": counts, "unowned": n, "orphaned": n, "expired": n, "owners": n, "departed_owners": n, "events": n})
}

// conformanceSchemas are the schemas of the standards endpoints' bodies:
// the OAuth 2.0 forms and metadata, the Okta hook replies and this
// document itself.
func conformanceSchemas() map[string]any {
	strs := arr(str())
	clientAuth := obj{"client_id": str(), "client_secret": str(), "client_assertion_type": str(), "client_assertion": str()}
	with := func(extra obj) obj {
		out := obj{}
		for k, v := range clientAuth {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	return map[string]any{
		"OAuthTokenForm": object(with(obj{"grant_type": str(), "scope": str(), "resource": str(), "audience": str(),
			"subject_token": str(), "subject_token_type": str(), "actor_token": str(), "actor_token_type": str(),
			"requested_token_type": str(), "assertion": str()}), "grant_type"),
		"OAuthIntrospectForm": object(with(obj{"token": str(), "token_type_hint": str()}), "token"),
		"OAuthRevokeForm":     object(with(obj{"token": str(), "token_type_hint": str()}), "token"),
		"OAuthMetadata": object(obj{"issuer": str(), "token_endpoint": str(), "jwks_uri": str(), "introspection_endpoint": str(),
			"revocation_endpoint": str(), "grant_types_supported": strs, "response_types_supported": strs, "scopes_supported": strs,
			"token_endpoint_auth_methods_supported": strs, "token_endpoint_auth_signing_alg_values_supported": strs,
			"introspection_endpoint_auth_methods_supported": strs, "introspection_endpoint_auth_signing_alg_values_supported": strs,
			"revocation_endpoint_auth_methods_supported": strs, "revocation_endpoint_auth_signing_alg_values_supported": strs,
			"access_token_signing_alg_values_supported": strs}, "issuer", "token_endpoint", "response_types_supported"),
		"OktaVerification": object(obj{"verification": str()}, "verification"),
		"OktaHook": object(obj{"data": object(obj{"events": arr(object(obj{"eventType": str(), "target": arr(object(obj{
			"id": str(), "type": str(), "alternateId": str()}))}))})}, "data"),
		"OktaResult":      object(obj{"departed": strs, "unknown": strs}, "departed", "unknown"),
		"OpenAPIDocument": object(obj{"openapi": str(), "paths": obj{"type": "object"}}, "openapi", "paths"),
	}
}
