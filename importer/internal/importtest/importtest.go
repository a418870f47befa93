// Package importtest holds the importers' test helpers: golden files and
// the invariants every parsed Result must keep.
package importtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

// update is the importers' -update test flag: rewrite the golden files.
var update = flag.Bool("update", false, "rewrite the golden files")

// Golden marshals got as indented JSON and compares it with the file at
// path; with -update it writes the file instead.
func Golden(t testing.TB, path string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(want, b) {
		t.Errorf("%s differs from the parsed result (run with -update to accept):\n--- got\n%s", path, b)
	}
}

// Check fails the test when res breaks an invariant every importer keeps:
// records are imported, active/expired/suspended identities with a kind,
// provider, name, external reference and non-nil labels, that would pass
// validation once the caller fills the defaults; record errors name a
// record and a message; no output contains any of secrets.
func Check(t testing.TB, res kit.Result, provider string, secrets ...string) {
	t.Helper()
	for n, rec := range res.Records {
		id := rec.Identity
		if id.Source != steward.SourceImported || id.Provider != provider || id.Kind == "" || id.Name == "" || id.ExternalRef == "" || id.Labels == nil {
			t.Errorf("record %d: incomplete identity %+v", n, id)
		}
		switch id.Status {
		case steward.StatusActive, steward.StatusExpired, steward.StatusSuspended:
		default:
			t.Errorf("record %d: status %q", n, id.Status)
		}
		probe := id
		if probe.Sensitivity == "" {
			probe.Sensitivity = steward.SensitivityLow
		}
		if err := probe.Validate(); err != nil {
			t.Errorf("record %d: %v", n, err)
		}
		for _, c := range rec.Credentials {
			c.IdentityID = "x"
			if err := c.Validate(); err != nil {
				t.Errorf("record %d credential %s: %v", n, c.ExternalRef, err)
			}
		}
	}
	for _, b := range res.Bad {
		if b.Record < 1 || b.Message == "" {
			t.Errorf("record error without a record or message: %+v", b)
		}
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(string(out), s) {
			t.Errorf("the result keeps a secret value %q", s)
		}
	}
}

// Parser is an importer's parse function with its other arguments bound.
type Parser func(io.Reader) (kit.Result, error)

// Read returns the content of the file at path.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ParseFile parses the file at path, failing t on an error.
func ParseFile(t testing.TB, parse Parser, path string) kit.Result {
	t.Helper()
	res, err := parse(bytes.NewReader(Read(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ParseString parses in, failing t on an error.
func ParseString(t testing.TB, parse Parser, in string) kit.Result {
	t.Helper()
	res, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ByName indexes the records of res by identity name.
func ByName(res kit.Result) map[string]steward.ImportRecord {
	out := make(map[string]steward.ImportRecord, len(res.Records))
	for _, r := range res.Records {
		out[r.Identity.Name] = r
	}
	return out
}

// Deterministic fails t when two parses of the file at path differ.
func Deterministic(t testing.TB, parse Parser, path string) {
	t.Helper()
	if !reflect.DeepEqual(ParseFile(t, parse, path), ParseFile(t, parse, path)) {
		t.Error("two parses of the same file differ")
	}
}

// SameRecordErrors fails t unless got names the records, lines and fields
// of want, in order.
func SameRecordErrors(t testing.TB, got, want []steward.RecordError) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("bad records %+v, want %+v", got, want)
	}
	for n, w := range want {
		if g := got[n]; g.Record != w.Record || g.Line != w.Line || g.Field != w.Field {
			t.Errorf("bad record %d: got %+v, want %+v", n, g, w)
		}
	}
}

// OneBadRecord parses in and returns its only record error, failing t
// unless there is exactly one and it names field at line.
func OneBadRecord(t testing.TB, parse Parser, in, field string, line int) steward.RecordError {
	t.Helper()
	res := ParseString(t, parse, in)
	if len(res.Bad) != 1 {
		t.Fatalf("bad records %+v, want one", res.Bad)
	}
	b := res.Bad[0]
	if b.Field != field || b.Line != line {
		t.Errorf("got %+v, want field %q at line %d", b, field, line)
	}
	return b
}

// Malformed is a file an importer must reject as a whole, with an error
// that contains Want. It is an alias of an unnamed struct, so tables list
// their cases positionally.
type Malformed = struct{ Name, Input, Want string }

// Rejects runs each case as a subtest: parsing must fail with an EINVALID
// error that contains the case's Want.
func Rejects(t *testing.T, parse Parser, cases []Malformed) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			_, err := parse(strings.NewReader(c.Input))
			if err == nil {
				t.Fatal("no error")
			}
			if steward.ErrorCode(err) != steward.EINVALID || !strings.Contains(err.Error(), c.Want) {
				t.Errorf("error %q (code %s), want it to contain %q", err, steward.ErrorCode(err), c.Want)
			}
		})
	}
}

// Fuzz adds seeds to f and fuzzes parse: it either rejects the input as
// EINVALID or returns a result that passes Check for provider.
func Fuzz(f *testing.F, parse Parser, provider string, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := parse(bytes.NewReader(data))
		if err != nil {
			if steward.ErrorCode(err) != steward.EINVALID {
				t.Fatalf("error of code %s: %v", steward.ErrorCode(err), err)
			}
			return
		}
		Check(t, res, provider)
	})
}
