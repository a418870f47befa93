package aws

import (
	"reflect"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/importtest"
)

const sample = "testdata/credential-report.csv"

func TestParseMatchesGolden(t *testing.T) {
	res := importtest.ParseFile(t, Parse, sample)
	importtest.Check(t, res, "aws")
	importtest.Golden(t, "testdata/credential-report.golden.json", res)
}

func TestEveryFormOfTheReportParsesTheSame(t *testing.T) {
	want := importtest.ParseFile(t, Parse, sample)
	for _, path := range []string{"testdata/credential-report.b64", "testdata/get-credential-report.json"} {
		t.Run(path, func(t *testing.T) {
			if got := importtest.ParseFile(t, Parse, path); !reflect.DeepEqual(got, want) {
				t.Errorf("%s parses differently from the CSV", path)
			}
		})
	}
}

func TestParseIsDeterministic(t *testing.T) { importtest.Deterministic(t, Parse, sample) }

func TestParseReadsTheReport(t *testing.T) {
	res := importtest.ParseFile(t, Parse, sample)
	byName := importtest.ByName(res)
	tests := []struct {
		name  string
		check func(t *testing.T, r steward.ImportRecord)
	}{
		{"<root_account>", func(t *testing.T, r steward.ImportRecord) {
			if r.Identity.Labels["root"] != "true" || r.Identity.Sensitivity != steward.SensitivityCritical {
				t.Errorf("root row: labels %v, sensitivity %q", r.Identity.Labels, r.Identity.Sensitivity)
			}
			if _, ok := r.Identity.Labels["console_password"]; ok {
				t.Error("not_supported password counted as a console password")
			}
			if r.Identity.LastUsedAt == nil || r.Identity.LastUsedAt.Format("2006-01-02") != "2024-05-02" {
				t.Errorf("root last used %v", r.Identity.LastUsedAt)
			}
		}},
		{"ci-deployer", func(t *testing.T, r steward.ImportRecord) {
			if len(r.Credentials) != 2 {
				t.Fatalf("%d credentials, want 2", len(r.Credentials))
			}
			if got := r.Identity.LastRotatedAt.Format("2006-01-02"); got != "2024-05-20" {
				t.Errorf("last rotated %s, want the newest key's 2024-05-20", got)
			}
			if got := r.Identity.LastUsedAt.Format("2006-01-02"); got != "2024-06-01" {
				t.Errorf("last used %s", got)
			}
			if c := r.Credentials[1]; c.ExternalRef != "access_key_2" || c.LastUsedAt != nil {
				t.Errorf("an N/A last use became %v", c.LastUsedAt)
			}
		}},
		{"alice.ng", func(t *testing.T, r steward.ImportRecord) {
			if r.Identity.Labels["console_password"] != "true" || len(r.Credentials) != 0 {
				t.Errorf("labels %v, %d credentials", r.Identity.Labels, len(r.Credentials))
			}
		}},
		{"legacy-backup", func(t *testing.T, r steward.ImportRecord) {
			if len(r.Credentials) != 1 || r.Credentials[0].ExternalRef != "access_key_1" {
				t.Errorf("the inactive key was kept: %+v", r.Credentials)
			}
			if got := r.Identity.LastUsedAt.Format("2006-01-02"); got != "2020-11-30" {
				t.Errorf("last used %s, want the inactive key's last use", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := byName[tt.name]
			if !ok {
				t.Fatalf("no record for %s", tt.name)
			}
			tt.check(t, r)
		})
	}
	if len(res.Bad) != 1 || res.Bad[0].Field != "access_key_1_last_rotated" || res.Bad[0].Line != 6 || res.Bad[0].Record != 5 {
		t.Errorf("bad records %+v, want terraform's access_key_1_last_rotated at line 6", res.Bad)
	}
}

const header = "user,arn,user_creation_time,password_enabled,password_last_used,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\n"

func TestBadRowsAreReportedWithTheirLine(t *testing.T) {
	tests := []struct {
		name      string
		row       string
		wantField string
	}{
		{"a boolean that is neither true nor false", "svc,arn:aws:iam::1:user/svc,N/A,maybe,N/A,false,false,N/A,N/A,false,N/A,N/A", "password_enabled"},
		{"a time without a zone", "svc,arn:aws:iam::1:user/svc,2024-01-01T00:00:00,false,N/A,false,false,N/A,N/A,false,N/A,N/A", "user_creation_time"},
		{"a row without an ARN", "svc,,N/A,false,N/A,false,false,N/A,N/A,false,N/A,N/A", "arn"},
		{"a row with too few columns", "svc,arn:aws:iam::1:user/svc", ""},
		{"a user that appears twice", "dup,arn:aws:iam::1:user/dup,N/A,false,N/A,false,false,N/A,N/A,false,N/A,N/A\ndup,arn:aws:iam::1:user/dup,N/A,false,N/A,false,false,N/A,N/A,false,N/A,N/A", "external_ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := strings.Count(tt.row, "\n") + 2
			if b := importtest.OneBadRecord(t, Parse, header+tt.row+"\n", tt.wantField, lines); b.Record != lines-1 {
				t.Errorf("got %+v, want record %d", b, lines-1)
			}
		})
	}
}

func TestMalformedFilesAreRejectedNamingTheLine(t *testing.T) {
	importtest.Rejects(t, Parse, []importtest.Malformed{
		{"an empty file", "", "empty"},
		{"a header without a required column", "user,arn,password_enabled\nx,arn:aws:iam::1:user/x,false\n", `line 1: the header has no "user_creation_time" column`},
		{"a stray quote", header + "svc,\"arn:aws:iam::1:user/svc,N/A\n", "line 2"},
		{"text that is neither CSV nor base64", "hello world!\n", "line 1: not a credential report"},
		{"JSON that is not the command's output", `{"Foo": 1}`, "Content"},
	})
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{sample, "testdata/credential-report.b64", "testdata/get-credential-report.json"} {
		f.Add(importtest.Read(f, p))
	}
	f.Add([]byte(header + "svc,arn:aws:iam::1:user/svc,N/A,true,N/A,true,true,2024-01-01T00:00:00Z,N/A,false,N/A,N/A\n"))
	importtest.Fuzz(f, Parse, "aws")
}
