package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/steward-nhi/steward/httpapi"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite testdata/openapi.json")

// openapiDoc is the document the server serves, as the golden file that
// scripts/conformance lints with Redocly.
func openapiDoc(t *testing.T) []byte {
	t.Helper()
	b, err := json.MarshalIndent(httpapi.OpenAPI("1.0.0", httpapi.Routes()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestOpenAPIGolden(t *testing.T) {
	got := openapiDoc(t)
	p := filepath.Join("testdata", "openapi.json")
	if *updateOpenAPI {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./httpapi -run TestOpenAPIGolden -update-openapi)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("testdata/openapi.json differs from the document (run go test ./httpapi -run TestOpenAPIGolden -update-openapi)")
	}
}

// TestOpenAPIValidatesWithKinOpenAPI loads the document with kin-openapi,
// validates it, and checks what a client generator needs: a request body
// on every operation that reads one, a success schema on every operation
// that answers JSON, and typed query parameters.
func TestOpenAPIValidatesWithKinOpenAPI(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("kin-openapi: %v", err)
	}
	// Operations that answer something other than a JSON document.
	noJSON := map[string]bool{
		"GET /metrics": true, "GET /api/v1/reports/evidence": true, "GET /api/v1/audit/export": true,
		"GET /debug/pprof/{profile}": true, // pprof's gzipped protobuf, or text with debug=1
		"POST /oauth2/revoke":        true, // RFC 7009 §2.2: 200 with an empty body
	}
	needsBody := map[string]bool{
		"POST /oauth2/token": true, "POST /oauth2/introspect": true, "POST /oauth2/revoke": true, "PATCH /scim/v2/Users/{id}": true,
	}
	typed := map[string]string{"limit": "integer", "days": "integer", "count": "integer", "startIndex": "integer", "seconds": "integer"}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if needsBody[name] && op.RequestBody == nil {
				t.Errorf("%s has no requestBody", name)
			}
			var success *openapi3.ResponseRef
			for code, r := range op.Responses.Map() {
				if strings.HasPrefix(code, "2") {
					success = r
					if code == "204" {
						success = nil
						break
					}
				}
			}
			if success != nil && !noJSON[name] {
				if len(success.Value.Content) == 0 {
					t.Errorf("%s has no success schema", name)
				}
				for ct, mt := range success.Value.Content {
					if mt.Schema == nil {
						t.Errorf("%s: %s has no schema", name, ct)
					}
				}
			}
			for _, p := range op.Parameters {
				if want, ok := typed[p.Value.Name]; ok && p.Value.In == "query" && !p.Value.Schema.Value.Type.Is(want) {
					t.Errorf("%s: query parameter %s is %v, want %s", name, p.Value.Name, p.Value.Schema.Value.Type, want)
				}
			}
		}
	}
}
