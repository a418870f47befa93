package source

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/scan"
)

func revParse(t *testing.T, dir, rev string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", rev).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestRangeYieldsOnlyTheLinesTheRangeAdded: lines added by commits of the
// range come back at their own line numbers with their commit; lines of
// an older commit, deleted files and removed lines do not.
func TestRangeYieldsOnlyTheLinesTheRangeAdded(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	gitT(t, repo, "init", "-q", "-b", "main")
	write(t, repo, "app.env", "OLD=old-line\nKEEP=1\n")
	write(t, repo, "gone.txt", "old content\n")
	gitT(t, repo, "add", ".")
	gitT(t, repo, "commit", "-q", "-m", "before the range")
	before := revParse(t, repo, "HEAD")

	write(t, repo, "app.env", "OLD=old-line\nKEEP=1\nNEW=added-in-range\n")
	write(t, repo, "dir with space/ünï.txt", "first\n+++ looks like a header\n")
	gitT(t, repo, "add", ".")
	gitT(t, repo, "rm", "-q", "gone.txt")
	gitT(t, repo, "commit", "-q", "-m", "in the range")
	first := revParse(t, repo, "HEAD")
	write(t, repo, "app.env", "OLD=changed\nKEEP=1\nNEW=added-in-range\n")
	gitT(t, repo, "add", ".")
	gitT(t, repo, "commit", "-q", "-m", "second in the range")
	second := revParse(t, repo, "HEAD")

	frs := collect(t, &Range{Repo: repo, Range: before + "..HEAD"})
	type got struct{ path, commit, content string }
	var gots []got
	for _, f := range frs {
		gots = append(gots, got{f.Path, f.Commit, string(f.Content)})
	}
	want := []got{
		{"app.env", first, "\n\nNEW=added-in-range\n"},
		{"dir with space/ünï.txt", first, "first\n+++ looks like a header\n"},
		{"app.env", second, "OLD=changed\n"},
	}
	if len(gots) != len(want) {
		t.Fatalf("got %d fragments %q, want %q", len(gots), gots, want)
	}
	for i := range want {
		if gots[i] != want[i] {
			t.Errorf("fragment %d = %q, want %q", i, gots[i], want[i])
		}
	}
	if frs[0].Author != "T" || frs[0].Email != "t@example.org" || frs[0].Date.IsZero() {
		t.Errorf("fragment lacks the commit's author and date: %+v", frs[0])
	}
}

func TestCheckRangeRefusesWhatGitWouldReadAsAnOption(t *testing.T) {
	for _, tt := range []struct {
		name, r string
		ok      bool
	}{
		{"two commits", "abc..def", true},
		{"a ref and HEAD", "origin/main..HEAD", true},
		{"empty", "", false},
		{"an option", "--output=/tmp/x", false},
		{"a space", "a.. b", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckRange(tt.r); (err == nil) != tt.ok {
				t.Fatalf("CheckRange(%q) = %v, want ok=%v", tt.r, err, tt.ok)
			}
		})
	}
}

// FuzzParsePatchLog: any "git log -p" output (it holds the repository's
// content, outside input) parses without a panic, and every fragment has a
// path and content no larger than the lines it added plus padding.
func FuzzParsePatchLog(f *testing.F) {
	f.Add("\x01abc\x00A\x00a@b\x001700000000\ndiff --git a/x b/x\n--- /dev/null\n+++ b/x\n@@ -0,0 +1,2 @@\n+one\n+two\n")
	f.Add("\x01abc\x00A\x00a@b\x00x\ndiff --git a/x b/x\n+++ \"b/\\303\\244\"\n@@ -3 +7 @@\n-old\n+new\n\\ No newline at end of file\n")
	f.Add("diff --git a/y b/y\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n")
	f.Add("@@ -1 +999999999 @@\n+x\n")
	f.Fuzz(func(t *testing.T, in string) {
		_ = parsePatchLog(strings.NewReader(in), 1<<20, func(fr scan.Fragment) error {
			if fr.Path == "" && fr.Skip == "" && len(fr.Content) > 0 && !strings.Contains(in, "+++ ") {
				t.Fatalf("a fragment without a file header: %+v", fr)
			}
			if len(fr.Content) > 1<<20 {
				t.Fatalf("a fragment of %d bytes exceeds the size limit", len(fr.Content))
			}
			return nil
		})
	})
}

// TestRangeSkipsAnAddedLineFarPastTheLimit: a line added at a huge line
// number is not padded into memory; the file is skipped as too large.
func TestRangeSkipsAnAddedLineFarPastTheLimit(t *testing.T) {
	in := "\x01abc\x00A\x00a@b\x001700000000\ndiff --git a/x b/x\n+++ b/x\n@@ -1 +999999999 @@\n+secret\n"
	var got []scan.Fragment
	if err := parsePatchLog(strings.NewReader(in), 1<<20, func(fr scan.Fragment) error { got = append(got, fr); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Skip != scan.SkipTooLarge || got[0].Content != nil || got[0].Path != "x" {
		t.Fatalf("got %+v, want x skipped as too large", got)
	}
}
