package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli and docs/config.md")

// TestReferenceDocsAreCurrent fails when docs/cli/ or docs/config.md differ
// from what the command tree and the Config struct generate. Regenerate
// with: go run ./cmd/steward docs docs
func TestReferenceDocsAreCurrent(t *testing.T) {
	root := newRootCmd(func(string) string { return "" }, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	want := referenceDocs(root)
	docs := filepath.Join("..", "..", "docs")
	if *updateDocs {
		os.RemoveAll(filepath.Join(docs, "cli"))
		for name, body := range want {
			p := filepath.Join(docs, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var stale []string
	for name, body := range want {
		got, err := os.ReadFile(filepath.Join(docs, name))
		if err != nil || !bytes.Equal(got, body) {
			stale = append(stale, name)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(docs, "cli"))
	for _, e := range entries {
		if _, ok := want["cli/"+e.Name()]; !ok {
			stale = append(stale, "cli/"+e.Name()+" (no such command)")
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Fatalf("generated references are stale: %v; regenerate with: go run ./cmd/steward docs docs", stale)
	}
	if !strings.Contains(string(want["config.md"]), "| `log_format` | string | `auto` | `--log-format` | `STEWARD_LOG_FORMAT` |") {
		t.Errorf("config.md lacks log_format:\n%s", want["config.md"])
	}
	if _, ok := want["cli/steward_doctor.md"]; !ok {
		t.Error("no page for steward doctor")
	}
}
