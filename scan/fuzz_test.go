package scan

import (
	"bytes"
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
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		data := []byte(s)
		fs, _ := d.Detect("fuzz/input.yaml", data)
		for _, fd := range fs {
			if fd.Line < 1 || fd.Column < 1 || fd.EndLine < fd.Line {
				t.Fatalf("bad location %+v", fd)
			}
			if len(fd.Fingerprint) != 64 || fd.Fingerprint != Fingerprint([]byte(fd.Secret)) {
				t.Fatalf("bad fingerprint %+v", fd)
			}
			if fd.Context == "" && !bytes.Contains(data, []byte(fd.Secret)) {
				t.Fatalf("secret %q not in input", fd.Secret)
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
