package discovery_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/discovery"
)

// Realistic reports of each scanner, one record in three unusable.
const (
	gitleaksSample = `[
 {"Description":"AWS Access Key","StartLine":3,"EndLine":3,"StartColumn":12,"EndColumn":31,"Match":"key = AKIAIOSFODNN7EXAMPLE","Secret":"AKIAIOSFODNN7EXAMPLE","File":"deploy/app.env","SymlinkFile":"","Commit":"1b6f1b0c1f3c1f9b2a4e5d6c7b8a9f0e1d2c3b4a","Entropy":3.6,"Author":"Dev One","Email":"dev@example.com","Date":"2025-11-02T10:11:12Z","Message":"add env","Tags":[],"RuleID":"aws-access-token","Fingerprint":"1b6f1b0c:deploy/app.env:aws-access-token:3"},
 {"Description":"Generic","StartLine":9,"StartColumn":1,"Secret":"REDACTED","File":"a.txt","RuleID":"generic-api-key"},
 {"StartLine":1,"Secret":"s3cr3t-value","File":"b.txt","Date":"2025-01-01 10:00:00 +0000 UTC"}
]`
	trufflehogSample = "🐷🔑🐷  TruffleHog. Unearth your secrets. 🐷🔑🐷\n\n" +
		`{"SourceMetadata":{"Data":{"Git":{"commit":"0e1d2c3b","file":"config/prod.yaml","email":"dev <dev@example.com>","repository":"https://github.com/acme/api","timestamp":"2025-10-01 09:08:07 +0000","line":12}}},"SourceID":1,"SourceType":16,"SourceName":"trufflehog - git","DetectorType":2,"DetectorName":"AWS","DecoderName":"PLAIN","Verified":false,"Raw":"AKIAIOSFODNN7EXAMPLE","RawV2":"AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI","Redacted":"AKIAIOSFODNN7EXAMPLE","ExtraData":null}` + "\n" +
		`{"SourceMetadata":{"Data":{"Filesystem":{"file":"x","line":2}}},"DetectorName":"Slack","Raw":""}` + "\n" +
		`{"SourceMetadata":` + "\n"
	githubSample = `[
 {"number":2,"created_at":"2025-06-01T12:00:00Z","url":"https://api.github.com/repos/acme/api/secret-scanning/alerts/2","state":"open","secret_type":"github_personal_access_token","secret_type_display_name":"GitHub Personal Access Token","secret":"ghp_exampleexampleexampleexample0000","repository":{"full_name":"acme/api"},"first_location_detected":{"path":"README.md","start_line":4,"end_line":4,"blob_sha":"aa","commit_sha":"bb"}},
 {"number":3,"state":"resolved","secret_type":"slack_incoming_webhook_url"},
 {"number":4,"secret_type":"npm_access_token","secret":"npm_x"}
]`
)

// FuzzParseReport checks the three scanner-report parsers: a report is
// refused as a whole with a "file" error, or every record is accounted
// for (an item or a bad record, never both and never neither), every item
// has a rule and a SHA-256 fingerprint of a secret of the report (the
// secret itself is never kept), record errors name a record (and, for the
// line-based TruffleHog format, a line of the input), and two parses of
// the same input give the same report.
func FuzzParseReport(f *testing.F) {
	for i, s := range []string{gitleaksSample, trufflehogSample, githubSample} {
		f.Add(uint8(i), []byte(s))
	}
	f.Add(uint8(0), []byte(`[{"RuleID":"x","Secret":"a","StartLine":-1}]`))
	f.Add(uint8(1), []byte("{\"SourceMetadata\":{\"Data\":{\"Git\":{\"file\":\"a\"},\"Filesystem\":{\"file\":\"b\"}}},\"Raw\":\"k\"}\n"))
	f.Add(uint8(2), []byte(`{"not":"an array"}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		format := discovery.Formats[int(which)%len(discovery.Formats)]
		rep, bad, err := discovery.Parse(format, bytes.NewReader(data))
		if err != nil {
			if steward.ErrorField(err) != "file" {
				t.Fatalf("error not naming the file: %v", err)
			}
			return
		}
		if rep == nil || rep.Source != format {
			t.Fatalf("report %+v for %s", rep, format)
		}
		records := len(rep.Items) + len(bad)
		switch format {
		case "trufflehog":
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, b := range bad {
				if b.Line < 1 || b.Line > lines {
					t.Fatalf("bad record at line %d of a %d-line input", b.Line, lines)
				}
			}
		default:
			var arr []json.RawMessage
			if err := json.Unmarshal(data, &arr); err == nil && len(arr) != records {
				t.Fatalf("%d records in the array, %d items and %d bad", len(arr), len(rep.Items), len(bad))
			}
		}
		for n, b := range bad {
			if b.Record < 1 || b.Record > records || b.Message == "" || (n > 0 && b.Record <= bad[n-1].Record) {
				t.Fatalf("record error %d: %+v", n, b)
			}
		}
		for n, it := range rep.Items {
			if it.Rule == "" || !steward.ValidFingerprint(it.Fingerprint) {
				t.Fatalf("item %d without a rule or a fingerprint: %+v", n, it)
			}
		}
		out, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"AKIAIOSFODNN7EXAMPLE", "s3cr3t-value", "ghp_exampleexampleexampleexample0000"} {
			if bytes.Contains(data, []byte(secret)) && strings.Contains(string(out), secret) {
				t.Fatalf("the report keeps the secret %s", secret)
			}
		}
		rep2, bad2, err := discovery.Parse(format, bytes.NewReader(data))
		if err != nil || !reflect.DeepEqual(rep, rep2) || !reflect.DeepEqual(bad, bad2) {
			t.Fatalf("a second parse differs:\n%+v %+v\n%+v %+v (%v)", rep, bad, rep2, bad2, err)
		}
	})
}
