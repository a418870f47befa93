package scan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzScanDetect(f *testing.F) {
	d := defaultDetector(f)
	for _, s := range []string{
		"",
		"token = \"ghp_" + strings.Repeat("a1B2", 9) + "\"",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
		"postgres://u:p4ssw0rd!@h/db",
		"password: \xff\xfe\x00",
		"a\nb\r\nc" + strings.Repeat("key=", 50),
		"Z2hwX2FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh",
		"kind: Secret\ndata:\n  password: aHVudGVyMg==\n",
		// Split so that this file holds no token-shaped string.
		"x\r\n  token = \"" + "ghp_" + "Zq8Lm2Xv9Tr4Kp7Wn3Bd6Fh1Jc5Gs0Ya8Ue\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		data := []byte(s)
		// starts[i] is the byte offset of line i+1.
		starts := []int{0}
		for i, c := range data {
			if c == '\n' {
				starts = append(starts, i+1)
			}
		}
		fs, _ := d.Detect("fuzz/input.yaml", data)
		for _, fd := range fs {
			if fd.Line < 1 || fd.Column < 1 || fd.EndLine < fd.Line || fd.EndLine > len(starts) {
				t.Fatalf("location %d:%d-%d:%d outside the input's %d lines", fd.Line, fd.Column, fd.EndLine, fd.EndColumn, len(starts))
			}
			begin, end := starts[fd.Line-1]+fd.Column-1, starts[fd.EndLine-1]+fd.EndColumn
			if begin > len(data) || end > len(data) || begin > end {
				t.Fatalf("offsets %d..%d outside the input's %d bytes (%+v)", begin, end, len(data), fd)
			}
			if fd.Context == "" && string(data[begin:end]) != fd.Secret {
				t.Fatalf("the bytes at %d:%d-%d:%d are %q, not the secret %q", fd.Line, fd.Column, fd.EndLine, fd.EndColumn, data[begin:end], fd.Secret)
			}
			if fd.Context != "" && !bytes.Contains(data, []byte(fd.Secret)) && begin == end {
				t.Fatalf("a decoded secret with an empty span: %+v", fd)
			}
			if sum := sha256.Sum256([]byte(fd.Secret)); fd.Fingerprint != hex.EncodeToString(sum[:]) {
				t.Fatalf("fingerprint %s is not the SHA-256 of the matched secret %q", fd.Fingerprint, fd.Secret)
			}
			if !utf8.ValidString(fd.Preview) {
				t.Fatalf("preview is not valid UTF-8: %q", fd.Preview)
			}
		}
		_, _ = d.detectK8sSecrets("fuzz/input.yaml", data)
		cc := newContextCache(".github/workflows/x.yml", data)
		for line := 0; line < 5; line++ {
			cc.at(line)
		}
	})
}

func FuzzScanDecodeBase64(f *testing.F) {
	for _, s := range []string{"", "aGVsbG8gd29ybGQ=", "aGVsbG8gd29ybGQ", "aGVs-bG8_d29y", "====", "a", "+/+/+/+/+/+/+/+/+/+/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := decodeBase64([]byte(s))
		if ok && !printable(out) {
			t.Fatalf("accepted non-printable decoding of %q", s)
		}
		base64Spans([]byte(s), func(a, b int) {
			if a < 0 || b > len(s) || b-a < minBase64 {
				t.Fatalf("bad span %d..%d of %d", a, b, len(s))
			}
		})
	})
}

func FuzzScanIgnoreAndValidators(f *testing.F) {
	f.Add("vendor/\n**/*.pem\n# c\n"+strings.Repeat("a", 64)+"\n", "vendor/x.go")
	f.Add("[", "a")
	f.Fuzz(func(t *testing.T, ignore, path string) {
		ig, err := ParseIgnore(strings.NewReader(ignore))
		if err == nil {
			ig.MatchPath(path)
		}
		ValidStewardKey(path)
		validGitHubToken(path)
	})
}
