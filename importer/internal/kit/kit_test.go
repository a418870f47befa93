package kit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"2024-06-01T10:45:00+00:00", "2024-06-01T10:45:00Z"},
		{"2024-06-01T10:45:00Z", "2024-06-01T10:45:00Z"},
		{"2023-05-16T08:47:09.000-07:00", "2023-05-16T15:47:09Z"},
		{"2025-02-28T10:15:30.1234567Z", "2025-02-28T10:15:30.1234567Z"},
		{"2024-06-01T10:45:00+0200", "2024-06-01T08:45:00Z"},
		{" 2024-06-01T10:45:00Z ", "2024-06-01T10:45:00Z"},
		{"2024-06-01T10:45:00", ""},
		{"2024-06-01", ""},
		{"N/A", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("got %v, want an error", got)
				}
				return
			}
			if err != nil || got.Format(time.RFC3339Nano) != tt.want {
				t.Errorf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestJSONArrayFindsEachElementsLine(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		keys   []string
		lines  []int
		single bool
	}{
		{"a bare array", "[\n  {\"a\": 1},\n  {\"a\": 2}\n]", nil, []int{2, 3}, false},
		{"a wrapped array", "{\n \"count\": 2,\n \"items\": [\n  1,\n\n  2\n ]\n}", []string{"items"}, []int{4, 6}, false},
		{"an object without the key", "\n\n{\"a\": 1}", []string{"items"}, []int{3}, true},
		{"an empty array", "[]", nil, nil, false},
		{"a byte order mark", "\xef\xbb\xbf[1]", nil, []int{1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			elems, single, err := JSONArray([]byte(tt.in), tt.keys...)
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for n, e := range elems {
				if e.Index != n+1 {
					t.Errorf("element %d has index %d", n, e.Index)
				}
				lines = append(lines, e.Line)
			}
			if single != tt.single || !slices.Equal(lines, tt.lines) {
				t.Errorf("lines %v single %v, want %v %v", lines, single, tt.lines, tt.single)
			}
		})
	}
}

func TestJSONArrayErrorsNameTheLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[\n1,\n2,,\n]", "line 3"},
		{"[\n1,\n", "line 3: unexpected end"},
		{"[1]\nx", "line 2: unexpected data"},
		{"", "empty"},
		{"\"text\"", "line 1: expected a JSON array or object"},
	}
	for _, tt := range tests {
		_, _, err := JSONArray([]byte(tt.in))
		if err == nil || steward.ErrorCode(err) != steward.EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("JSONArray(%q) error %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestCollectorKeepsTheFirstOfTwoRecordsWithOneReference(t *testing.T) {
	var c Collector
	rec := steward.ImportRecord{Line: 2, Identity: NewIdentity(steward.KindServiceAccount, "aws", "arn:x", "x")}
	c.Add(1, rec)
	rec.Line = 5
	c.Add(2, rec)
	res := c.Result()
	if len(res.Records) != 1 || len(res.Bad) != 1 || !strings.Contains(res.Bad[0].Message, "record 1 (line 2)") {
		t.Errorf("got %+v", res)
	}
}

func TestCollectorKeepsEveryRecordInOrderAcrossChunks(t *testing.T) {
	for _, n := range []int{0, 1, recordChunk - 1, recordChunk, recordChunk + 1, 3*recordChunk + 7} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			var c Collector
			for k := range n {
				ref := fmt.Sprintf("arn:x:%d", k)
				c.Add(k+1, steward.ImportRecord{Line: k + 2, Identity: NewIdentity(steward.KindServiceAccount, "aws", ref, ref)})
			}
			res := c.Result()
			if res.Records == nil || len(res.Records) != n || len(res.Bad) != 0 {
				t.Fatalf("%d records (nil: %v), %d bad; want %d records", len(res.Records), res.Records == nil, len(res.Bad), n)
			}
			for k, r := range res.Records {
				if r.Line != k+2 || r.Identity.ExternalRef != fmt.Sprintf("arn:x:%d", k) {
					t.Fatalf("record %d is line %d, %q", k, r.Line, r.Identity.ExternalRef)
				}
			}
		})
	}
}
