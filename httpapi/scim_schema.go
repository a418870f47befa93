package httpapi

import (
	"net/http"
	"strings"

	"github.com/steward-nhi/steward"
)

// The SCIM discovery documents (RFC 7643 §5–7): what Steward supports, the
// User schema as Steward holds it, and the one resource type.

const (
	scimSchemaSchema  = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	scimConfigSchema  = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	scimRTSchema      = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	scimDocumentation = "https://github.com/steward-nhi/steward/blob/main/README.md"
)

// scimAttr describes one attribute of a schema.
func scimAttr(name, typ, desc string, required, caseExact bool, mutability, uniqueness string, sub ...map[string]any) map[string]any {
	a := map[string]any{"name": name, "type": typ, "multiValued": false, "description": desc, "required": required,
		"caseExact": caseExact, "mutability": mutability, "returned": "default", "uniqueness": uniqueness}
	if len(sub) > 0 {
		a["subAttributes"] = sub
	}
	return a
}

func scimSchemas(base string) []map[string]any {
	emails := scimAttr("emails", "complex", "The owner's email address; Steward keeps one, equal to userName.", false, false, "readWrite", "none",
		scimAttr("value", "string", "The email address.", false, false, "readWrite", "none"),
		scimAttr("type", "string", "Always work.", false, false, "readOnly", "none"),
		scimAttr("primary", "boolean", "Always true.", false, false, "readOnly", "none"))
	emails["multiValued"] = true
	user := map[string]any{"schemas": []string{scimSchemaSchema}, "id": scimUserSchema, "name": "User",
		"description": "A person who owns non-human identities (a Steward owner).",
		"attributes": []map[string]any{
			scimAttr("userName", "string", "The owner's email address, unique.", true, false, "readWrite", "server"),
			scimAttr("displayName", "string", "The owner's name.", false, false, "readWrite", "none"),
			scimAttr("name", "complex", "The owner's name; givenName and familyName make displayName when it is absent.", false, false, "readWrite", "none",
				scimAttr("formatted", "string", "The full name.", false, false, "readWrite", "none"),
				scimAttr("givenName", "string", "Given name (write only).", false, false, "writeOnly", "none"),
				scimAttr("familyName", "string", "Family name (write only).", false, false, "writeOnly", "none")),
			scimAttr("active", "boolean", "false marks the owner departed and offboards it; a departed owner is not reactivated.", false, false, "readWrite", "none"),
			emails,
		},
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/scim/v2/Schemas/" + scimUserSchema}}
	ent := map[string]any{"schemas": []string{scimSchemaSchema}, "id": scimEnterpriseSchema, "name": "EnterpriseUser",
		"description": "Enterprise User extension: department is the owner's team.",
		"attributes": []map[string]any{
			scimAttr("department", "string", "The owner's team.", false, false, "readWrite", "none"),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/scim/v2/Schemas/" + scimEnterpriseSchema}}
	return []map[string]any{user, ent}
}

func scimResourceType(base string) map[string]any {
	return map[string]any{"schemas": []string{scimRTSchema}, "id": "User", "name": "User", "endpoint": "/Users",
		"description": "Owners of non-human identities", "schema": scimUserSchema,
		"schemaExtensions": []map[string]any{{"schema": scimEnterpriseSchema, "required": false}},
		"meta":             map[string]any{"resourceType": "ResourceType", "location": base + "/scim/v2/ResourceTypes/User"}}
}

func scimListOf(items []map[string]any) map[string]any {
	return map[string]any{"schemas": []string{scimListSchema}, "totalResults": len(items), "startIndex": 1,
		"itemsPerPage": len(items), "Resources": items}
}

func (s *Server) handleSCIMConfig() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		no := map[string]any{"supported": false}
		return http.StatusOK, map[string]any{"schemas": []string{scimConfigSchema}, "documentationUri": scimDocumentation,
			"patch": map[string]any{"supported": true}, "bulk": map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
			"filter": map[string]any{"supported": true, "maxResults": scimMaxCount}, "changePassword": no, "sort": no, "etag": no,
			"authenticationSchemes": []map[string]any{{"type": "oauthbearertoken", "name": "SCIM bearer token",
				"description": "The SCIM token configured in steward.yaml (posture.scim_token), sent as Authorization: Bearer.", "primary": true}},
			"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": baseURL(r) + "/scim/v2/ServiceProviderConfig"}}, nil
	})
}

func (s *Server) handleSCIMSchemas() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		return http.StatusOK, scimListOf(scimSchemas(baseURL(r))), nil
	})
}

func (s *Server) handleSCIMSchema() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		for _, sc := range scimSchemas(baseURL(r)) {
			if strings.EqualFold(sc["id"].(string), r.PathValue("id")) {
				return http.StatusOK, sc, nil
			}
		}
		return 0, nil, scimProblem{404, "", "no such schema"}
	})
}

func (s *Server) handleSCIMResourceTypes() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		return http.StatusOK, scimListOf([]map[string]any{scimResourceType(baseURL(r))}), nil
	})
}

func (s *Server) handleSCIMResourceType() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		if !strings.EqualFold(r.PathValue("id"), "User") {
			return 0, nil, steward.Errorf(steward.ENOTFOUND, "no such resource type")
		}
		return http.StatusOK, scimResourceType(baseURL(r)), nil
	})
}

// scimOpenAPISchemas are the OpenAPI schemas of the SCIM bodies.
func scimOpenAPISchemas() map[string]any {
	emails := arr(object(obj{"value": str(), "type": str(), "primary": obj{"type": "boolean"}}))
	user := object(obj{"schemas": arr(str()), "id": str(), "externalId": str(), "userName": str(), "displayName": str(),
		"name":   object(obj{"formatted": str(), "givenName": str(), "familyName": str()}),
		"active": obj{"type": "boolean"}, "emails": emails,
		scimEnterpriseSchema: object(obj{"department": str()}),
		"meta":               object(obj{"resourceType": str(), "created": timeT(), "lastModified": timeT(), "location": str(), "version": str()})}, "userName")
	return map[string]any{
		"SCIMUser": user,
		"SCIMPatchOp": object(obj{"schemas": arr(str()), "Operations": arr(object(obj{
			"op": strEnum("add", "replace", "remove", "Add", "Replace", "Remove"), "path": str(), "value": obj{}}, "op"))}, "Operations"),
		"SCIMResource": obj{"type": "object", "description": "A SCIM resource or ListResponse (RFC 7643/7644)", "required": []string{"schemas"},
			"properties": obj{"schemas": arr(str()), "id": str(), "totalResults": obj{"type": "integer"}, "Resources": arr(obj{"type": "object"})}},
	}
}
