package sqlstore

import (
	"encoding/json"
	"slices"
)

// usageJSON encodes the JSON columns of usage events (policy ids, a list
// of strings, and attributes, an object of strings) into one buffer per
// statement, as encoding/json would encode them byte for byte: the
// decision log writes two of them per decision, and json.Marshal's
// reflection, map-key sorting and one allocation per value were a tenth
// of the write path's CPU.
type usageJSON struct {
	buf  []byte
	keys []string
}

// list appends the JSON array of v (null for nil, as json.Marshal) and
// returns its offsets in the buffer.
func (j *usageJSON) list(v []string) (int, int) {
	start := len(j.buf)
	if v == nil {
		j.buf = append(j.buf, "null"...)
		return start, len(j.buf)
	}
	j.buf = append(j.buf, '[')
	for k, s := range v {
		if k > 0 {
			j.buf = append(j.buf, ',')
		}
		j.buf = appendJSONString(j.buf, s)
	}
	j.buf = append(j.buf, ']')
	return start, len(j.buf)
}

// object appends the JSON object of m with its keys sorted (null for nil,
// as json.Marshal) and returns its offsets in the buffer.
func (j *usageJSON) object(m map[string]string) (int, int) {
	start := len(j.buf)
	if m == nil {
		j.buf = append(j.buf, "null"...)
		return start, len(j.buf)
	}
	j.keys = j.keys[:0]
	for k := range m {
		j.keys = append(j.keys, k)
	}
	slices.Sort(j.keys)
	j.buf = append(j.buf, '{')
	for n, k := range j.keys {
		if n > 0 {
			j.buf = append(j.buf, ',')
		}
		j.buf = appendJSONString(j.buf, k)
		j.buf = append(j.buf, ':')
		j.buf = appendJSONString(j.buf, m[k])
	}
	j.buf = append(j.buf, '}')
	return start, len(j.buf)
}

// appendJSONString appends s quoted as encoding/json quotes it. Printable
// ASCII other than the characters json.Marshal escapes (quote, backslash
// and the HTML-sensitive <, > and &) is copied; any other string is left
// to encoding/json, so that control characters, invalid UTF-8 and U+2028
// come out exactly as before.
func appendJSONString(b []byte, s string) []byte {
	for k := 0; k < len(s); k++ {
		if c := s[k]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonColumn returns the value encoded in all between start and end as
// column text: empty when the value was null, as jsonText.
func jsonColumn(all string, start, end int, empty string) string {
	if s := all[start:end]; s != "null" {
		return s
	}
	return empty
}
