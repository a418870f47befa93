package azure

import (
	"io"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/importtest"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

const sample = "testdata/applications.json"

// now is the fixed time the tests parse at.
var now = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// parse is Parse at the fixed time now.
func parse(r io.Reader) (kit.Result, error) { return Parse(r, now) }

func TestParseMatchesGolden(t *testing.T) {
	res := importtest.ParseFile(t, parse, sample)
	importtest.Check(t, res, "azure")
	importtest.Golden(t, "testdata/applications.golden.json", res)
}

func TestParseIsDeterministic(t *testing.T) { importtest.Deterministic(t, parse, sample) }

func TestApplications(t *testing.T) {
	res := importtest.ParseFile(t, parse, sample)
	tests := []struct {
		name    string
		creds   int
		status  steward.Status
		expires string
	}{
		{"payments-api", 3, steward.StatusActive, "2027-01-15"},
		{"legacy-sync", 1, steward.StatusExpired, "2023-06-30"},
		{"reporting-connector", 0, steward.StatusActive, ""},
	}
	if len(res.Records) != len(tests) {
		t.Fatalf("%d records, want %d", len(res.Records), len(tests))
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := res.Records[n]
			id := r.Identity
			var exp string
			if id.ExpiresAt != nil {
				exp = id.ExpiresAt.Format("2006-01-02")
			}
			if id.Name != tt.name || len(r.Credentials) != tt.creds || id.Status != tt.status || exp != tt.expires || id.Kind != steward.KindServiceAccount {
				t.Errorf("got %s with %d credentials, status %s, expires %q", id.Name, len(r.Credentials), id.Status, exp)
			}
		})
	}
	creds := res.Records[0].Credentials
	want := []struct {
		typ, hint string
		status    steward.CredentialStatus
		print     bool
	}{
		{TypeClientSecret, "Q~a", steward.CredentialExpired, false},
		{TypeClientSecret, "x8Q", steward.CredentialActive, false},
		{TypeCertificate, "", steward.CredentialActive, true},
	}
	for n, w := range want {
		c := creds[n]
		if c.Type != w.typ || c.Hint != w.hint || c.Status != w.status || (c.Fingerprint != "") != w.print {
			t.Errorf("credential %d: %+v", n, c)
		}
	}
	wantBad := []steward.RecordError{
		{Record: 4, Line: 63, Field: "passwordCredentials[0].endDateTime"},
		{Record: 5, Line: 77, Field: "appId"},
	}
	importtest.SameRecordErrors(t, res.Bad, wantBad)
}

func TestEveryShapeOfTheExportIsAccepted(t *testing.T) {
	const cred = `{"keyId": "k1", "hint": "abc", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z"}`
	tests := []struct {
		name, input string
		records     int
	}{
		{"one application object", `{"appId": "a1", "displayName": "one", "passwordCredentials": [` + cred + `]}`, 1},
		{"an array of applications", `[{"appId": "a1", "passwordCredentials": [` + cred + `]}, {"appId": "a2"}]`, 2},
		{"Graph's value list", `{"value": [{"appId": "a1", "keyCredentials": []}]}`, 1},
		{"a bare list of credentials that carry their appId", `[{"appId": "a1", "keyId": "k1", "endDateTime": "2026-01-01T00:00:00Z"}, {"appId": "a1", "keyId": "k2", "type": "AsymmetricX509Cert", "usage": "Verify"}, {"appId": "a2", "appDisplayName": "two", "keyId": "k3"}]`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := importtest.ParseString(t, parse, tt.input)
			if len(res.Records) != tt.records || len(res.Bad) != 0 {
				t.Errorf("got %+v", res)
			}
			importtest.Check(t, res, "azure")
		})
	}
}

func TestABareListGroupsCredentialsByApplication(t *testing.T) {
	in := `[{"appId": "a1", "keyId": "k1", "hint": "abc"}, {"appId": "a1", "keyId": "k2", "type": "AsymmetricX509Cert"}, {"appId": "a2", "appDisplayName": "two", "keyId": "k3"}]`
	res := importtest.ParseString(t, parse, in)
	if len(res.Records) != 2 {
		t.Fatalf("got %+v", res)
	}
	if r := res.Records[0]; r.Identity.Name != "a1" || len(r.Credentials) != 2 || r.Credentials[1].Type != TypeCertificate {
		t.Errorf("first record %+v", r)
	}
	if r := res.Records[1]; r.Identity.Name != "two" || r.Identity.ExternalRef != "a2" {
		t.Errorf("second record %+v", r.Identity)
	}
}

func TestSecretTextIsOnlyFingerprinted(t *testing.T) {
	const secret = "Q~aV3ryS3cr3tV4lu3.ForTestsOnly"
	in := `{"appId": "a1", "passwordCredentials": [{"keyId": "k1", "hint": "Q~a", "secretText": "` + secret + `", "endDateTime": "2026-01-01T00:00:00Z"}]}`
	res := importtest.ParseString(t, parse, in)
	importtest.Check(t, res, "azure", secret)
	if fp := res.Records[0].Credentials[0].Fingerprint; fp != steward.Fingerprint([]byte(secret)) {
		t.Errorf("fingerprint %q", fp)
	}
}

func TestBadRecordsNameTheirField(t *testing.T) {
	tests := []struct {
		name, input, field string
	}{
		{"a credential without a keyId", `[{"appId": "a", "passwordCredentials": [{"hint": "abc"}]}]`, "passwordCredentials[0].keyId"},
		{"a certificate that is not base64", `[{"appId": "a", "keyCredentials": [{"keyId": "k", "key": "%%"}]}]`, "keyCredentials[0].key"},
		{"a start time without a zone", `[{"appId": "a", "keyCredentials": [{"keyId": "k", "startDateTime": "2025-01-01T00:00:00"}]}]`, "keyCredentials[0].startDateTime"},
		{"a hint too long to be one", `[{"appId": "a", "passwordCredentials": [{"keyId": "k", "hint": "this is far too long"}]}]`, "credentials.k.hint"},
		{"credentials that are an object", `[{"appId": "a", "passwordCredentials": {"keyId": "k"}}]`, "passwordCredentials"},
		{"one application twice", `[{"appId": "a"}, {"appId": "a"}]`, "external_ref"},
		{"a bare credential without an appId among others", `[{"appId": "a", "keyId": "k1"}, {"keyId": "k2"}]`, "appId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			importtest.OneBadRecord(t, parse, tt.input, tt.field, 1)
		})
	}
}

func TestMalformedFilesAreRejectedNamingTheLine(t *testing.T) {
	importtest.Rejects(t, parse, []importtest.Malformed{
		{"a bare list of credentials without any appId", "[\n  {\"keyId\": \"k1\", \"hint\": \"abc\"}\n]", "line 2: record 1 is a credential"},
		{"a syntax error", "{\"value\": [\n  {\"appId\": \"a\"}\n  {\"appId\": \"b\"}\n]}", "line 3"},
		{"a value that is not a list", "{\"value\": \"x\"}", `line 1: "value" must be an array`},
		{"a number", "42", "line 1: expected a JSON array or object"},
		{"YAML", "appId: a\n", "line 1"},
	})
}

func FuzzParse(f *testing.F) {
	f.Add(importtest.Read(f, sample))
	f.Add([]byte(`[{"appId": "a1", "keyId": "k1", "endDateTime": "2026-01-01T00:00:00Z"}, {"keyId": "k2"}]`))
	f.Add([]byte(`{"appId": "a", "keyCredentials": [{"keyId": "k", "key": "AAAA"}]}`))
	importtest.Fuzz(f, parse, "azure")
}
