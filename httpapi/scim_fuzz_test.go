package httpapi

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

func fuzzOwner() *steward.Owner {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &steward.Owner{ID: "own_1", Name: "Alice", Email: "alice@example.com", Kind: steward.OwnerPerson, Status: steward.OwnerActive,
		Team: "payments", ExternalRef: "hr-1", CreatedAt: at, UpdatedAt: at, Version: 1}
}

// FuzzSCIMFilter: any filter either parses and evaluates to a decision, or
// is refused as invalidFilter (400); nothing panics.
func FuzzSCIMFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "alice@example.com"`, `USERNAME EQ "A" and not (active eq false)`, `emails[type eq "work" and value co "@"]`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`, `externalId pr or displayName sw "Al"`, `active gt true`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "payments"`, `((userName eq "a"))`, `name.x eq 1`, `emails[`,
	} {
		f.Add(s)
	}
	attrs := scimAttrs(fuzzOwner())
	f.Fuzz(func(t *testing.T, s string) {
		expr, err := parseSCIMFilter(s)
		if err == nil {
			_, err = evalSCIM(expr, attrs)
		}
		var p scimProblem
		if err != nil && (!errors.As(err, &p) || p.status != 400 || p.scimType != "invalidFilter") {
			t.Fatalf("filter %q: %v is not an invalidFilter error", s, err)
		}
	})
}

// FuzzSCIMPatch: any PatchOp body becomes a change of known fields, or a
// 400 SCIM error with a scimType; nothing panics.
func FuzzSCIMPatch(f *testing.F) {
	for _, s := range []string{
		`{"Operations":[{"op":"replace","path":"active","value":false}]}`,
		`{"Operations":[{"op":"Replace","value":{"displayName":"X","active":"False"}}]}`,
		`{"Operations":[{"op":"add","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}`,
		`{"Operations":[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]}`,
		`{"Operations":[{"op":"remove","path":"displayName"}]}`, `{"Operations":[]}`, `{"Operations":[{"op":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var p scimPatch
		if json.Unmarshal(raw, &p) != nil {
			return
		}
		_, err := p.change()
		var sp scimProblem
		if err != nil && (!errors.As(err, &sp) || sp.status != 400 || sp.scimType == "") {
			t.Fatalf("patch %s: %v is not a 400 SCIM error with a scimType", raw, err)
		}
	})
}
