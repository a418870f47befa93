package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/docrun"
)

// TestRunnableDocs runs every bash block marked <!-- runnable --> in the
// README and docs/ (see CONTRIBUTING.md) against a fresh "steward serve
// --demo" on a free port, with SQLite in a temporary directory, the built
// binary first on PATH and STEWARD_SERVER/STEWARD_TOKEN exported. Each
// block runs in a temporary directory of its own; a non-zero exit fails
// with the block's file:line and output.
func TestRunnableDocs(t *testing.T) {
	bin := buildSteward(t)
	files := []string{"../../README.md"}
	err := filepath.WalkDir("../../docs", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var blocks []docrun.Block
	perFile := map[string]int{}
	for _, f := range files {
		md, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bs, err := docrun.Extract(strings.TrimPrefix(f, "../../"), md)
		if err != nil {
			t.Fatal(err)
		}
		perFile[strings.TrimPrefix(f, "../../")] += len(bs)
		blocks = append(blocks, bs...)
	}
	// The README's quick start and CLI tour must stay marked.
	if perFile["README.md"] < 3 {
		t.Fatalf("README.md has %d runnable blocks, want at least 3 (quick start, CLI at a glance)", perFile["README.md"])
	}

	p := startProc(t, bin, []string{"STEWARD_ADMIN_TOKEN=" + adminToken, "STEWARD_MASTER_KEY=" + testMasterKey},
		"--data-dir", t.TempDir(), "--demo")
	home := t.TempDir()
	env := []string{
		"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home, "LANG=C.UTF-8", "NO_COLOR=1", "TMPDIR=" + os.TempDir(),
		"STEWARD_SERVER=" + p.url, "STEWARD_TOKEN=" + adminToken,
	}
	for _, b := range blocks {
		t.Run(b.File+":"+itoa(b.Line), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := docrun.Run(ctx, b, t.TempDir(), env); err != nil {
				t.Fatalf("%v\n--- server log ---\n%s", err, tail(p.logs.String(), 2000))
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
