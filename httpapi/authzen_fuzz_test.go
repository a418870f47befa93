package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// FuzzAuthzenDecode checks the decoding of AuthZEN bodies as readAuthzen
// does it: a body is refused with EINVALID, or no string of the request
// (keys included) holds a NUL or invalid UTF-8, and the request encodes,
// decodes and encodes again to the same JSON.
func FuzzAuthzenDecode(f *testing.F) {
	for _, s := range []string{
		`{"subject":{"type":"nhi","id":"nhi_01","properties":{"ip":"10.0.0.1"}},"action":{"name":"read"},"resource":{"type":"record","id":"r1"},"context":{"time":1700000000}}`,
		`{"subject":{"type":"user","id":"alice"},"evaluations":[{"action":{"name":"read"},"resource":{"type":"record","id":"1"}},{"action":{"name":"write"}}],"options":{"evaluations_semantic":"deny_on_first_deny"}}`,
		`{"subject":{"type":"user","id":"a\u0000b"}}`,
		"{\"subject\":{\"type\":\"user\",\"id\":\"\xff\"}}",
		`{"subject":{"type":"user","id":"\\u0000"}}`,
		`{"context":{"k\u0000":1}}`,
		`{} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req authz.EvaluationsRequest
		err := authz.DecodeBytes(raw, &req)
		if err == nil {
			err = checkJSONText(raw)
		}
		if err != nil {
			if steward.ErrorCode(err) != steward.EINVALID {
				t.Fatalf("error of code %s: %v", steward.ErrorCode(err), err)
			}
			return
		}
		walkStrings(t, reflect.ValueOf(req))
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var again authz.EvaluationsRequest
		err = authz.DecodeBytes(b, &again)
		b2, _ := json.Marshal(again)
		if err != nil || string(b) != string(b2) {
			t.Fatalf("the request does not round trip (%v):\n%s\n%s", err, b, b2)
		}
	})
}

// walkStrings fails t on a string of v holding NUL or invalid UTF-8.
func walkStrings(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("accepted the string %q", s)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(t, v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkStrings(t, v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(t, v.Index(i))
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			walkStrings(t, it.Key())
			walkStrings(t, it.Value())
		}
	}
}
