package gcp

import (
	"io"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/importtest"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

const sample = "testdata/keys.json"

// now is the fixed time the tests parse at.
var now = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// parse is Parse at the fixed time now.
func parse(r io.Reader) (kit.Result, error) { return Parse(r, now) }

func parseSample(t *testing.T) map[string]steward.ImportRecord {
	t.Helper()
	return importtest.ByName(importtest.ParseFile(t, parse, sample))
}

func TestParseMatchesGolden(t *testing.T) {
	res := importtest.ParseFile(t, parse, sample)
	importtest.Check(t, res, "gcp")
	importtest.Golden(t, "testdata/keys.golden.json", res)
}

func TestParseIsDeterministic(t *testing.T) { importtest.Deterministic(t, parse, sample) }

func TestKeysAreGroupedByServiceAccount(t *testing.T) {
	recs := parseSample(t)
	tests := []struct {
		name       string
		ref        string
		keys       int
		status     steward.Status
		lastRotate string
	}{
		{"ci-runner@acme-prod.iam.gserviceaccount.com", "projects/acme-prod/serviceAccounts/ci-runner@acme-prod.iam.gserviceaccount.com", 3, steward.StatusActive, "2024-03-01"},
		{"etl-loader@acme-data.iam.gserviceaccount.com", "projects/acme-data/serviceAccounts/etl-loader@acme-data.iam.gserviceaccount.com", 2, steward.StatusActive, "2025-01-10"},
		{"old-reporter@acme-legacy.iam.gserviceaccount.com", "projects/acme-legacy/serviceAccounts/old-reporter@acme-legacy.iam.gserviceaccount.com", 1, steward.StatusExpired, "2020-02-02"},
	}
	if len(recs) != len(tests) {
		t.Errorf("%d records, want %d", len(recs), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := recs[tt.name]
			if !ok {
				t.Fatal("missing")
			}
			id := r.Identity
			if id.ExternalRef != tt.ref || len(r.Credentials) != tt.keys || id.Status != tt.status || id.Kind != steward.KindServiceAccount {
				t.Errorf("got ref %s, %d keys, status %s", id.ExternalRef, len(r.Credentials), id.Status)
			}
			if id.LastRotatedAt == nil || id.LastRotatedAt.Format("2006-01-02") != tt.lastRotate {
				t.Errorf("last rotated %v, want %s", id.LastRotatedAt, tt.lastRotate)
			}
		})
	}
}

func TestKeyStatusAndExpiry(t *testing.T) {
	creds := map[string]steward.Credential{}
	for _, r := range parseSample(t) {
		for _, c := range r.Credentials {
			creds[c.ExternalRef] = c
		}
	}
	tests := []struct {
		key     string
		status  steward.CredentialStatus
		expires string // "" for never
		managed string
	}{
		{"3f9a1c0e7b2d4a6f8e1b9c3d5a7f0e2b4c6d8a10", steward.CredentialActive, "", "user"},
		{"0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c", steward.CredentialExpired, "2024-01-15", "user"},
		{"9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c", steward.CredentialActive, "2027-05-20", "system"},
		{"aa11bb22cc33dd44ee55ff6677889900aabbccdd", steward.CredentialInactive, "", "user"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c, ok := creds[tt.key]
			if !ok {
				t.Fatal("missing")
			}
			var exp string
			if c.ExpiresAt != nil {
				exp = c.ExpiresAt.Format("2006-01-02")
			}
			if c.Status != tt.status || exp != tt.expires || c.Metadata["managed_by"] != tt.managed || c.Type != CredentialType {
				t.Errorf("got status %s, expires %q, managed by %q", c.Status, exp, c.Metadata["managed_by"])
			}
		})
	}
}

func TestBadKeysAreReportedWithTheirRecordAndLine(t *testing.T) {
	res := importtest.ParseFile(t, parse, sample)
	want := []steward.RecordError{
		{Record: 7, Line: 58, Field: "validAfterTime"},
		{Record: 8, Line: 66, Field: "name"},
	}
	importtest.SameRecordErrors(t, res.Bad, want)
}

func TestPrivateKeyDataIsOnlyFingerprinted(t *testing.T) {
	const secret = "eyJ0eXBlIjoic2VydmljZV9hY2NvdW50In0="
	in := `[{"name":"projects/p/serviceAccounts/new@p.iam.gserviceaccount.com/keys/k1","keyType":"USER_MANAGED","validAfterTime":"2025-01-01T00:00:00Z","validBeforeTime":"9999-12-31T23:59:59Z","privateKeyData":"` + secret + `"}]`
	res := importtest.ParseString(t, parse, in)
	importtest.Check(t, res, "gcp", secret, `{"type":"service_account"}`)
	if fp := res.Records[0].Credentials[0].Fingerprint; fp != steward.Fingerprint([]byte(`{"type":"service_account"}`)) {
		t.Errorf("fingerprint %q", fp)
	}
}

func TestMalformedFilesAreRejectedNamingTheLine(t *testing.T) {
	importtest.Rejects(t, parse, []importtest.Malformed{
		{"an empty file", " \n", "empty"},
		{"a syntax error", "[\n  {\"name\": \"x\",}\n]", "line 2"},
		{"a truncated array", "[\n  {\"name\": \"x\"},\n", "line 3"},
		{"an object", "\n{\"name\": \"projects/p/serviceAccounts/a/keys/k\"}", "line 2: expected a JSON array"},
		{"CSV", "user,arn\nx,y\n", "line 1"},
		{"trailing data", "[]\n[]", "line 2: unexpected data"},
	})
}

func TestTheAPIsKeysObjectIsAccepted(t *testing.T) {
	in := `{"keys": [{"name": "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com/keys/k1", "validAfterTime": "2025-01-01T00:00:00Z"}]}`
	res := importtest.ParseString(t, parse, in)
	if len(res.Records) != 1 || len(res.Bad) != 0 {
		t.Errorf("got %+v", res)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(importtest.Read(f, sample))
	f.Add([]byte(`{"keys": [{"name": "projects/p/serviceAccounts/a/keys/k", "disabled": true}]}`))
	f.Add([]byte(`[{"name": 1}, "x", null]`))
	importtest.Fuzz(f, parse, "gcp")
}
