package sqlstore

import (
	"testing"
)

// TestUsageJSONEncodesAsEncodingJSON checks that the usage events' JSON
// columns are the bytes jsonText (encoding/json) wrote before.
func TestUsageJSONEncodesAsEncodingJSON(t *testing.T) {
	for _, c := range []struct {
		name  string
		list  []string
		attrs map[string]string
	}{
		{"nil values are the columns' defaults", nil, nil},
		{"empty values stay empty", []string{}, map[string]string{}},
		{"plain text is quoted", []string{"rbac#114", "p"}, map[string]string{"request_id": "5aaf5e23", "caller": "token:tok_01"}},
		{"keys are sorted", nil, map[string]string{"z": "1", "a": "2", "m": "3", "b": ""}},
		{"quotes and backslashes are escaped", []string{`a"b`, `c\d`}, map[string]string{`k"`: `v\`}},
		{"HTML characters are escaped", []string{"<script>&"}, map[string]string{"<": ">"}},
		{"control characters are escaped", []string{"a\nb\tc\x00d\x1f"}, map[string]string{"\r": "\b\f"}},
		{"non-ASCII text is kept", []string{"café ünïcode 日本"}, map[string]string{"é": "✓"}},
		{"invalid UTF-8 is replaced", []string{"a\xffb", "\xc3"}, map[string]string{"\xfe": "\xed\xa0\x80"}},
		{"line and paragraph separators are escaped", []string{"a\u2028b\u2029"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkUsageJSON(t, c.list, c.attrs)
		})
	}
}

func checkUsageJSON(t *testing.T, list []string, attrs map[string]string) {
	t.Helper()
	var j usageJSON
	j.buf = append(j.buf, "prefix"...) // offsets, not the buffer's start
	ls, le := j.list(list)
	as, ae := j.object(attrs)
	all := string(j.buf)
	wantList, _ := jsonText(list, "[]")
	wantAttrs, _ := jsonText(attrs, "{}")
	if got := jsonColumn(all, ls, le, "[]"); got != wantList {
		t.Errorf("list %q encodes as %s, want %s", list, got, wantList)
	}
	if got := jsonColumn(all, as, ae, "{}"); got != wantAttrs {
		t.Errorf("attributes %q encode as %s, want %s", attrs, got, wantAttrs)
	}
}

func FuzzUsageJSON(f *testing.F) {
	f.Add("rbac#114", "request_id", "5aaf5e23", "<&>")
	f.Add("a\xffb", "\x00", "\u2028", `"\`)
	f.Fuzz(func(t *testing.T, a, k1, v1, v2 string) {
		checkUsageJSON(t, []string{a, v2}, map[string]string{k1: v1, v2: a})
	})
}
