package aws

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/importtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const sample = "testdata/credential-report.csv"

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMatchesGolden(t *testing.T) {
	res, err := Parse(bytes.NewReader(read(t, sample)))
	if err != nil {
		t.Fatal(err)
	}
	importtest.Check(t, res, "aws")
	importtest.Golden(t, "testdata/credential-report.golden.json", res, *update)
}

func TestEveryFormOfTheReportParsesTheSame(t *testing.T) {
	want, err := Parse(bytes.NewReader(read(t, sample)))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"testdata/credential-report.b64", "testdata/get-credential-report.json"} {
		t.Run(path, func(t *testing.T) {
			got, err := Parse(bytes.NewReader(read(t, path)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s parses differently from the CSV", path)
			}
		})
	}
}

func TestParseIsDeterministic(t *testing.T) {
	a, err := Parse(bytes.NewReader(read(t, sample)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(bytes.NewReader(read(t, sample)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two parses of the same file differ")
	}
}

func TestParseReadsTheReport(t *testing.T) {
	res, err := Parse(bytes.NewReader(read(t, sample)))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]steward.ImportRecord{}
	for _, r := range res.Records {
		byName[r.Identity.Name] = r
	}
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
			res, err := Parse(strings.NewReader(header + tt.row + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Bad) != 1 {
				t.Fatalf("bad records %+v, want one", res.Bad)
			}
			b := res.Bad[0]
			lines := strings.Count(tt.row, "\n") + 2
			if b.Field != tt.wantField || b.Line != lines || b.Record != lines-1 {
				t.Errorf("got %+v, want field %q at line %d", b, tt.wantField, lines)
			}
		})
	}
}

func TestMalformedFilesAreRejectedNamingTheLine(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"an empty file", "", "empty"},
		{"a header without a required column", "user,arn,password_enabled\nx,arn:aws:iam::1:user/x,false\n", `line 1: the header has no "user_creation_time" column`},
		{"a stray quote", header + "svc,\"arn:aws:iam::1:user/svc,N/A\n", "line 2"},
		{"text that is neither CSV nor base64", "hello world!\n", "line 1: not a credential report"},
		{"JSON that is not the command's output", `{"Foo": 1}`, "Content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.input))
			if err == nil {
				t.Fatal("no error")
			}
			if steward.ErrorCode(err) != steward.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q (code %s), want it to contain %q", err, steward.ErrorCode(err), tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{sample, "testdata/credential-report.b64", "testdata/get-credential-report.json"} {
		f.Add(read(f, p))
	}
	f.Add([]byte(header + "svc,arn:aws:iam::1:user/svc,N/A,true,N/A,true,true,2024-01-01T00:00:00Z,N/A,false,N/A,N/A\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data))
		if err != nil {
			if steward.ErrorCode(err) != steward.EINVALID {
				t.Fatalf("error of code %s: %v", steward.ErrorCode(err), err)
			}
			return
		}
		importtest.Check(t, res, "aws")
	})
}
