package inventory_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

const awsHeader = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"

// awsReport returns a credential report of rows users; bad(n) rows carry
// no ARN.
func awsReport(rows int, bad func(n int) bool) []byte {
	var b bytes.Buffer
	b.WriteString(awsHeader)
	for n := 1; n <= rows; n++ {
		arn := fmt.Sprintf("arn:aws:iam::123456789012:user/svc-%d", n)
		if bad(n) {
			arn = "not-an-arn"
		}
		fmt.Fprintf(&b, "svc-%d,%s,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n", n, arn)
	}
	return b.Bytes()
}

// TestImportErrorsAreBounded checks that an import lists at most
// MaxImportErrors bad records (with their lines) and counts the rest, and
// that a file too broken to import is given up early, so that the answer
// stays small however large the file.
func TestImportErrorsAreBounded(t *testing.T) {
	tests := []struct {
		name        string
		rows        int
		bad         func(n int) bool
		partial     bool
		wantErr     bool
		wantRead    int // records read: fewer than the file's when given up
		wantBad     int
		wantCreated int
		wantStopped bool
	}{
		{"a file of 30,000 bad rows is given up after the first thousand", 30_000, func(int) bool { return true }, false, true, 1001, 1001, 0, true},
		{"a partial import of 400 rows with 150 bad lists 100 and imports the rest", 400, func(n int) bool { return n%2 == 0 && n <= 300 }, true, false, 400, 150, 250, false},
		{"without partial, 150 bad rows reject the file and list 100", 400, func(n int) bool { return n%2 == 0 && n <= 300 }, false, true, 400, 150, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, ctx, _ := setup(t, sqltest.OpenSQLite)
			file := awsReport(tc.rows, tc.bad)
			sum, err := svc.Import(ctx, "aws-credential-report", bytes.NewReader(file), steward.ImportOptions{Partial: tc.partial})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && steward.ErrorCode(err) != steward.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if sum == nil {
				t.Fatal("no summary")
			}
			if sum.Records != tc.wantRead || sum.Rejected != tc.wantBad || sum.Created != tc.wantCreated || (sum.Stopped != "") != tc.wantStopped {
				t.Fatalf("summary records %d rejected %d created %d stopped %q; want %d, %d, %d, stopped %v",
					sum.Records, sum.Rejected, sum.Created, sum.Stopped, tc.wantRead, tc.wantBad, tc.wantCreated, tc.wantStopped)
			}
			if len(sum.Errors) != steward.MaxImportErrors {
				t.Fatalf("%d errors listed, want the first %d", len(sum.Errors), steward.MaxImportErrors)
			}
			for n, e := range sum.Errors {
				if e.Line == 0 || (n > 0 && e.Record < sum.Errors[n-1].Record) {
					t.Fatalf("error %d %+v: each listed error names its line, in file order", n, e)
				}
			}
			if tc.wantStopped && !strings.Contains(err.Error(), "stopped reading at record 1001 (line 1002)") {
				t.Fatalf("the error does not say where the import gave up: %v", err)
			}
			body, _ := json.Marshal(sum)
			if len(body) > 32<<10 {
				t.Fatalf("the summary is %d bytes for a %d-byte file", len(body), len(file))
			}
		})
	}
}
