package kit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
)

// TestCollectorBoundsErrors checks that a Collector lists at most
// MaxListedErrors record errors, counts the rest, and stops once the import
// is hopeless.
func TestCollectorBoundsErrors(t *testing.T) {
	good := func(n int) steward.ImportRecord {
		id := NewIdentity(steward.KindServiceAccount, "aws", fmt.Sprintf("arn:aws:iam::1:user/u%d", n), fmt.Sprintf("u%d", n))
		return steward.ImportRecord{Line: n + 1, Identity: id}
	}
	tests := []struct {
		name        string
		records     int
		bad         func(n int) bool
		wantRead    int // records the collector took in before it stopped
		wantStopped bool
	}{
		{"a few bad records are all listed", 500, func(n int) bool { return n%100 == 0 }, 500, false},
		{"many bad records among good ones are counted, not listed", 9000, func(n int) bool { return n%2 == 0 }, 9000, false},
		{"a file of bad records stops after the first thousand", 1_000_000, func(int) bool { return true }, HopelessBad + 1, true},
		{"a file that turns bad stops once more than 10% of 10,000 are bad", 1_000_000, func(n int) bool { return n > 8000 }, HopelessAfter, true},
		{"5% bad is not hopeless", 12_000, func(n int) bool { return n%20 == 0 }, 12_000, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Collector
			read, bad := 0, 0
			for n := 1; n <= tc.records && !c.Hopeless(); n++ {
				read++
				if tc.bad(n) {
					bad++
					c.Bad(n, n+1, "", "arn", "%q is not an ARN", strings.Repeat("x", 40))
					continue
				}
				c.Add(n, good(n))
			}
			res := c.Result()
			if read != tc.wantRead || (res.Stopped != "") != tc.wantStopped {
				t.Fatalf("read %d records (stopped %q), want %d (stopped %v)", read, res.Stopped, tc.wantRead, tc.wantStopped)
			}
			if len(res.Bad) > MaxListedErrors || res.BadCount() != bad || len(res.Records) != read-bad {
				t.Fatalf("listed %d, counted %d, good %d; want ≤ %d listed, %d counted, %d good", len(res.Bad), res.BadCount(), len(res.Records), MaxListedErrors, bad, read-bad)
			}
			if len(res.Bad) > 0 && (res.Bad[0].Line == 0 || res.Bad[0].Record == 0) {
				t.Fatalf("a listed error lacks its record or line: %+v", res.Bad[0])
			}
		})
	}
}
