// Package importtest holds the importers' test helpers: golden files and
// the invariants every parsed Result must keep.
package importtest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

// Golden marshals got as indented JSON and compares it with the file at
// path; with update set it writes the file instead.
func Golden(t testing.TB, path string, got any, update bool) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if update {
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
