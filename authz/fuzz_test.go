package authz_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// FuzzParseEntities checks the Cedar entity JSON parser: a document is
// refused with a field error, or every entity has a type and an id, none
// is of the reserved nhi type or listed twice, and the compact documents
// it keeps parse again to the same entities (parse(format(x)) == x).
func FuzzParseEntities(f *testing.F) {
	b, err := os.ReadFile("testdata/conformance.entities.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`[{"uid":{"type":"nhi","id":"x"}}]`))
	f.Add([]byte(`[{"uid":{"__entity":{"type":"A","id":"1"}},"attrs":{"n":1,"s":"\u00e9","r":{"__entity":{"type":"B","id":"2"}}},"parents":[]}]`))
	f.Add([]byte(`[{"uid":{"type":"A","id":"1"}},{"uid":{"type":"A","id":"1"}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, m, err := authz.ParseEntities(data)
		if err != nil {
			if steward.ErrorCode(err) != steward.EINVALID || steward.ErrorField(err) == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if len(ents) != len(m) {
			t.Fatalf("%d entities, %d in the map", len(ents), len(m))
		}
		docs := make([]json.RawMessage, len(ents))
		for n, e := range ents {
			if e.Type == "" || e.ID == "" || e.Type == string(authz.IdentityType) || !json.Valid(e.Doc) {
				t.Fatalf("entity %d: %+v", n, e)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, e.Doc); err != nil || !bytes.Equal(c.Bytes(), e.Doc) {
				t.Fatalf("entity %d is not kept compact: %s", n, e.Doc)
			}
			docs[n] = e.Doc
		}
		again, err := json.Marshal(docs)
		if err != nil {
			t.Fatal(err)
		}
		ents2, m2, err := authz.ParseEntities(again)
		if err != nil || !reflect.DeepEqual(ents, ents2) || len(m2) != len(m) {
			t.Fatalf("the kept documents do not parse to the same entities: %v", err)
		}
	})
}
