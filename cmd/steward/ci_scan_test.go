package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	oldKey = `aws_access_key_id = "AKIAQ3T5RZ7Y2XW4VUSO"` + "\n" // committed before the range
	newKey = `aws_access_key_id = "AKIAZ7Y2XW4VUSOQ3T5R"` + "\n" // added by the range
)

// pushRepo makes a repository with one commit before the pushed range (a
// secret in old.env) and two in it (a secret in new.env, then an
// unrelated change to old.env), and returns it with the range's ends.
func pushRepo(t *testing.T) (repo, before, after string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo = t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=Dev", "-c", "user.email=dev@example.org", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(file, body, msg string) string {
		t.Helper()
		writeFile(t, filepath.Join(repo, file), body)
		git("add", file)
		git("commit", "-q", "-m", msg)
		return git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main")
	before = commit("old.env", oldKey, "an old secret")
	commit("new.env", "# config\n"+newKey, "a new secret")
	after = commit("old.env", oldKey+"LOG_LEVEL=debug\n", "unrelated")
	return repo, before, after
}

// TestScanRangeFindsOnlyWhatTheRangeAdded: --range BEFORE..AFTER reports
// a secret a commit of the range added, at its line and commit, and not
// one that only an older commit added (even when the range touched its
// file).
func TestScanRangeFindsOnlyWhatTheRangeAdded(t *testing.T) {
	repo, before, after := pushRepo(t)
	for _, tt := range []struct {
		name  string
		args  []string
		files []string
		code  int
	}{
		{"the pushed range", []string{"--range", before + ".." + after}, []string{"new.env:2"}, 1},
		{"an empty range", []string{"--range", after + ".." + after}, nil, 0},
		// --git reads every blob: old.env's two versions both hold the old key.
		{"the whole history", []string{"--git"}, []string{"new.env:2", "old.env:1", "old.env:1"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"scan", "--no-progress", "-o", "json"}, tt.args...)
			err := run(context.Background(), append(args, repo), func(string) string { return "" }, nil, &out, &errb)
			if code := exitCode(err, &errb); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errb.String())
			}
			var fs []struct {
				File   string `json:"file"`
				Line   int    `json:"line"`
				Commit string `json:"commit"`
			}
			if err := json.Unmarshal(out.Bytes(), &fs); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.File+":"+itoa(f.Line))
				if f.Commit == "" {
					t.Errorf("finding %s:%d has no commit", f.File, f.Line)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.files, ",") {
				t.Fatalf("findings %v, want %v", got, tt.files)
			}
		})
	}
}

func TestScanRangeBadInputIsAUsageError(t *testing.T) {
	repo, before, after := pushRepo(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"an option as the range", []string{"--range", "--output=x"}, "cannot start with", 2},
		{"an empty range", []string{"--range", ""}, "--range is empty", 2},
		{"with --git", []string{"--range", before + ".." + after, "--git"}, "exclusive", 2},
		{"an unknown commit", []string{"--range", "0123456789abcdef..HEAD"}, "git log", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), append(append([]string{"scan", "--no-progress"}, tt.args...), repo), func(string) string { return "" }, nil, &out, &errb)
			if code := exitCode(err, &errb); code != tt.code || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.code, errb.String(), tt.want)
			}
		})
	}
}

// TestCIScansThePushedRange runs the scan scripts of the GitHub Action
// (action.yml) and the GitLab template as written, with the built binary
// on PATH, against a real repository: a push reports the secret it added
// and not the older one; a first push (no BEFORE) scans the whole tree.
func TestCIScansThePushedRange(t *testing.T) {
	bin := buildSteward(t)
	repo, before, after := pushRepo(t)
	path := filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")

	var action struct {
		Runs struct {
			Steps []struct {
				ID  string `yaml:"id"`
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	readYAML(t, "../../action.yml", &action)
	var actionScript string
	for _, s := range action.Runs.Steps {
		if s.ID == "scan" {
			actionScript = s.Run
		}
	}
	var gitlab map[string]struct {
		Script []string `yaml:"script"`
	}
	readYAML(t, "../../deploy/gitlab/steward-scan.gitlab-ci.yml", &gitlab)
	job := gitlab["steward-secret-scan"].Script
	if actionScript == "" || len(job) < 2 || !strings.Contains(job[0], "go install") {
		t.Fatalf("the action's scan step or the GitLab job's script is missing")
	}
	gitlabScript := strings.Join(job[1:], "\n") // after the install line

	const zero = "0000000000000000000000000000000000000000"
	for _, tt := range []struct {
		name   string
		ci     string
		before string
		files  []string
	}{
		{"GitHub: a push", "github", before, []string{"new.env"}},
		{"GitHub: a new branch", "github", zero, []string{"new.env", "old.env"}},
		{"GitLab: a push", "gitlab", before, []string{"new.env"}},
		{"GitLab: a new branch", "gitlab", zero, []string{"new.env", "old.env"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			report := filepath.Join(tmp, "report")
			output := filepath.Join(tmp, "github_output")
			var cmd *exec.Cmd
			if tt.ci == "github" {
				cmd = exec.Command("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", actionScript) // as GitHub runs shell: bash
				cmd.Env = append(os.Environ(), "BEFORE="+tt.before, "AFTER="+after, "SARIF="+report, "GITHUB_OUTPUT="+output)
			} else {
				cmd = exec.Command("bash", "-e", "-o", "pipefail", "-c", gitlabScript)
				cmd.Env = append(os.Environ(), "CI_COMMIT_BEFORE_SHA="+tt.before, "CI_COMMIT_SHA="+after)
				report = filepath.Join(repo, "gl-secret-detection-report.json")
				t.Cleanup(func() { os.Remove(report) })
			}
			cmd.Env = append(cmd.Env, "PATH="+path, "NO_COLOR=1")
			cmd.Dir = repo
			out, err := cmd.CombinedOutput()
			var files []string
			if tt.ci == "github" {
				if err != nil {
					t.Fatalf("the action's scan step failed: %v\n%s", err, out)
				}
				if b, _ := os.ReadFile(output); !strings.Contains(string(b), "exit=1") {
					t.Fatalf("GITHUB_OUTPUT = %q, want exit=1\n%s", b, out)
				}
				var doc struct {
					Runs []struct {
						Results []struct {
							Locations []struct {
								PhysicalLocation struct {
									ArtifactLocation struct{ URI string } `json:"artifactLocation"`
								} `json:"physicalLocation"`
							}
						}
					}
				}
				readJSON(t, report, &doc)
				for _, r := range doc.Runs[0].Results {
					files = append(files, r.Locations[0].PhysicalLocation.ArtifactLocation.URI)
				}
			} else {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Fatalf("the GitLab job ended with %v, want exit status 1 (findings)\n%s", err, out)
				}
				var doc struct {
					Version         string
					Vulnerabilities []struct {
						Category string
						Location struct {
							File   string
							Commit struct{ SHA string }
						}
					}
				}
				readJSON(t, report, &doc)
				for _, v := range doc.Vulnerabilities {
					files = append(files, v.Location.File)
					if v.Category != "secret_detection" || v.Location.Commit.SHA == "" {
						t.Errorf("vulnerability %+v lacks its category or commit", v)
					}
				}
			}
			if strings.Join(files, ",") != strings.Join(tt.files, ",") {
				t.Fatalf("reported %v, want %v\n%s", files, tt.files, out)
			}
		})
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
