package source

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/scan"
)

func gitT(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func collect(t *testing.T, src scan.Source) []scan.Fragment {
	t.Helper()
	var out []scan.Fragment
	err := src.Fragments(context.Background(), func(f scan.Fragment) error {
		out = append(out, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGitYieldsEveryBlobOnceWithItsFirstCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	gitT(t, repo, "init", "-q", "-b", "main")
	write(t, repo, "dir with space/naïve file.txt", "one\n")
	write(t, repo, "same.txt", "one\n") // same blob as above: scanned once
	gitT(t, repo, "add", ".")
	gitT(t, repo, "commit", "-q", "-m", "first")
	gitT(t, repo, "checkout", "-q", "-b", "side")
	write(t, repo, "side.txt", "side\n")
	gitT(t, repo, "add", ".")
	gitT(t, repo, "commit", "-q", "-m", "side")
	gitT(t, repo, "checkout", "-q", "main")
	write(t, repo, "main.txt", "main\n")
	gitT(t, repo, "add", ".")
	gitT(t, repo, "commit", "-q", "-m", "main")
	gitT(t, repo, "merge", "-q", "--no-edit", "side")

	frs := collect(t, &Git{Repo: repo})
	var got []string
	for _, f := range frs {
		if f.Commit == "" || f.Author != "T" || f.Date.IsZero() {
			t.Errorf("fragment %q lacks commit metadata: %+v", f.Path, f)
		}
		got = append(got, f.Path+"="+strings.TrimSpace(string(f.Content)))
	}
	sort.Strings(got)
	want := []string{"dir with space/naïve file.txt=one", "main.txt=main", "side.txt=side"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("blobs = %q, want %q", got, want)
	}
}

func TestGitSkipsLargeBlobs(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	gitT(t, repo, "init", "-q", "-b", "main")
	write(t, repo, "big.txt", strings.Repeat("x", 4096))
	write(t, repo, "small.txt", "ok\n")
	gitT(t, repo, "add", ".")
	gitT(t, repo, "commit", "-q", "-m", "c")
	frs := collect(t, &Git{Repo: repo, MaxSize: 100})
	skipped, read := 0, 0
	for _, f := range frs {
		if f.Skip == scan.SkipTooLarge {
			skipped++
		} else if string(f.Content) == "ok\n" {
			read++
		}
	}
	if skipped != 1 || read != 1 {
		t.Errorf("skipped=%d read=%d, want 1 and 1", skipped, read)
	}
}

func TestNotARepositoryIsAnError(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	err := (&Git{Repo: dir}).Fragments(context.Background(), func(scan.Fragment) error { return nil })
	if err == nil {
		t.Fatal("no error for a directory that is not a repository")
	}
}

func TestFilesGivenDirectlyUseTheirBaseName(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a/b.txt", "x")
	frs := collect(t, &Files{Paths: []string{filepath.Join(dir, "a", "b.txt")}})
	if len(frs) != 1 || frs[0].Path != "b.txt" {
		t.Fatalf("got %+v", frs)
	}
	data, err := frs[0].Read(nil)
	if err != nil || string(data) != "x" {
		t.Fatalf("read %q, %v", data, err)
	}
}
