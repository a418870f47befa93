package scan

import (
	"encoding/base64"
)

// Limits for the base64 pass: spans shorter than minBase64 cannot hold a
// useful credential; longer than maxBase64 are data, not configuration.
const (
	minBase64 = 20
	maxBase64 = 64 << 10
)

var base64Chars = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=") {
		t[c] = true
	}
	return t
}()

// base64Spans calls fn for each run of base64 characters of plausible
// length that mixes upper case, lower case and digits.
func base64Spans(data []byte, fn func(s, e int)) {
	n := len(data)
	for i := 0; i < n; {
		if !base64Chars[data[i]] {
			i++
			continue
		}
		j := i
		var up, lo, dig bool
		for j < n && base64Chars[data[j]] {
			c := data[j]
			switch {
			case c >= 'A' && c <= 'Z':
				up = true
			case c >= 'a' && c <= 'z':
				lo = true
			case c >= '0' && c <= '9':
				dig = true
			}
			j++
		}
		if l := j - i; l >= minBase64 && l <= maxBase64 && up && lo && (dig || l >= 32) {
			fn(i, j)
		}
		i = j
	}
}

// decodeBase64 decodes s as standard or URL-safe base64, with or without
// padding, and returns the result when it looks like text.
func decodeBase64(s []byte) ([]byte, bool) {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	if len(s)%4 == 1 {
		return nil, false
	}
	url := false
	for _, c := range s {
		if c == '-' || c == '_' {
			url = true
		} else if c == '+' || c == '/' || c == '=' {
			if url {
				return nil, false
			}
		}
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		return nil, false
	}
	out = out[:n]
	return out, printable(out)
}

// printable reports whether b is mostly printable ASCII text.
func printable(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	bad := 0
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			bad++
		} else if c >= 0x80 {
			bad++
		}
	}
	return bad*20 <= len(b)
}

// detectEncoded decodes candidate base64 spans and scans the decoded text.
// Matches are reported at the location of the encoded span.
func (d *Detector) detectEncoded(path string, data []byte, depth int, out []match) []match {
	base64Spans(data, func(s, e int) {
		dec, ok := decodeBase64(data[s:e])
		if !ok {
			return
		}
		sub := d.detect(path, dec, depth+1, nil)
		for _, m := range sub {
			m.start, m.end, m.mstart, m.mend = s, e, s, e
			m.encoded = "base64"
			out = append(out, m)
		}
	})
	return out
}
