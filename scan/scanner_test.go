package scan_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/scan"
	"github.com/steward-nhi/steward/scan/rules"
	"github.com/steward-nhi/steward/scan/source"
)

// Fake credentials assembled at run time so this file holds no literal.
var (
	ghToken  = "ghp_" + strings.Repeat("A1b2C3d4E5", 3) + "Zz9Yy8"
	awsKeyID = "AKIA" + "Q3T5RZ7Y2XW4VUSO"
	awsSec   = "k7Hq2mVx9LpR4tYc8NwZ3bFj6DsG1aKe5UoI0nTb"
	stwKey   = "stw_" + stwBody + scan.Base62CRC32(stwBody)
	stwBody  = "Xk9pQ2mWv7Lr4tYz8Nb3Hc6Jd1Fg5S"
)

func newDetector(t *testing.T) *scan.Detector {
	t.Helper()
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	d, err := scan.NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func find(fs []scan.Finding, rule, file string) *scan.Finding {
	for i := range fs {
		if fs[i].Rule == rule && fs[i].File == file {
			return &fs[i]
		}
	}
	return nil
}

func TestScanDirectoryReportsLocationsAndContext(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"app/config.go":            "package app\n\nconst token = \"" + ghToken + "\"\n",
		".github/workflows/ci.yml": "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - name: deploy\n        env:\n          AWS_ACCESS_KEY_ID: " + awsKeyID + "\n          AWS_SECRET_ACCESS_KEY: " + awsSec + "\n        run: ./deploy.sh\n",
		"k8s/secret.yaml":          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\ndata:\n  password: " + b64("Zq8#Lw2!Vn5rTx7p") + "\n",
		".env":                     "# local\nSTEWARD_KEY=" + stwKey + "\n",
		"docker-compose.yml":       "services:\n  web:\n    environment:\n      - DATABASE_URL=postgres://app:Vq7rT2xLp9Kz@db:5432/app\n",
		"infra/prod.tfvars":        "db_password = \"Hx7!pQ2vL9zR\"\n",
		"allowed.txt":              "token = \"" + ghToken + "\" // steward:allow\n",
		"bin/blob.bin":             "\x00\x01" + ghToken,
		"certs/client.p12":         "\x30\x82\x0a\x00\x02\x01\x03" + strings.Repeat("\x00\x9f", 5000),
	})
	fs, sum, err := scan.Scan(context.Background(), &source.Files{Paths: []string{root}}, scan.Options{Detector: newDetector(t)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, rule, file string
		line, column     int
		context          string
	}{
		{"a GitHub token in Go code", "github-pat", "app/config.go", 3, 16, ""},
		{"an AWS key id in a workflow step env", "aws-access-key-id", ".github/workflows/ci.yml", 9, 30, "workflow=ci.yml job=build step=deploy env=AWS_ACCESS_KEY_ID"},
		{"an AWS secret in a workflow step env", "aws-secret-access-key", ".github/workflows/ci.yml", 10, 34, "workflow=ci.yml job=build step=deploy env=AWS_SECRET_ACCESS_KEY"},
		{"a base64 password in a Kubernetes Secret", "generic-secret-assignment", "k8s/secret.yaml", 7, 13, "k8s=Secret/prod/db key=password encoding=base64"},
		{"a Steward key in .env", "steward-api-key", ".env", 2, 13, "env=STEWARD_KEY"},
		{"a database URL in docker-compose", "postgres-url-password", "docker-compose.yml", 4, 37, "compose-service=web env=DATABASE_URL"},
		{"a password in tfvars", "generic-secret-assignment", "infra/prod.tfvars", 1, 16, "tfvars var=db_password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := find(fs, tt.rule, tt.file)
			if f == nil {
				t.Fatalf("no %s finding in %s; got %+v", tt.rule, tt.file, fs)
			}
			if f.Line != tt.line || f.Column != tt.column {
				t.Errorf("location = %d:%d, want %d:%d", f.Line, f.Column, tt.line, tt.column)
			}
			if f.Context != tt.context {
				t.Errorf("context = %q, want %q", f.Context, tt.context)
			}
			if f.Secret != "" {
				t.Errorf("secret kept without ShowSecret")
			}
			if len(f.Fingerprint) != 64 {
				t.Errorf("fingerprint %q", f.Fingerprint)
			}
		})
	}
	if f := find(fs, "pkcs12-file", "certs/client.p12"); f == nil || f.Line != 1 {
		t.Errorf("no PKCS#12 file finding: %+v", f)
	}
	if find(fs, "github-pat", "allowed.txt") != nil {
		t.Error("inline steward:allow did not suppress")
	}
	if sum.Skipped[scan.SkipBinary] != 1 {
		t.Errorf("skipped = %v, want one binary", sum.Skipped)
	}
	if sum.Suppressed < 1 {
		t.Errorf("suppressed = %d", sum.Suppressed)
	}
	if f := find(fs, "github-pat", "app/config.go"); f != nil && f.Fingerprint != scan.Fingerprint([]byte(ghToken)) {
		t.Error("fingerprint is not the SHA-256 of the captured secret")
	}
}

func TestChecksumLowersConfidenceButKeepsFinding(t *testing.T) {
	d := newDetector(t)
	bad := stwKey[:len(stwKey)-1] + "x"
	if stwKey[len(stwKey)-1] == 'x' {
		bad = stwKey[:len(stwKey)-1] + "y"
	}
	for _, tt := range []struct {
		name, key, want string
	}{
		{"a valid checksum keeps high confidence", stwKey, "high"},
		{"a broken checksum lowers confidence", bad, "low"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := d.Detect("x.txt", []byte("key="+tt.key))
			var got *scan.Finding
			for i := range fs {
				if fs[i].Rule == "steward-api-key" {
					got = &fs[i]
				}
			}
			if got == nil {
				t.Fatalf("no finding; got %+v", fs)
			}
			if got.Confidence != tt.want {
				t.Errorf("confidence = %s, want %s", got.Confidence, tt.want)
			}
		})
	}
}

func TestSuppressionByIgnoreFileAndBaseline(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.txt":            "t=" + ghToken + "\n",
		"vendor/lib/b.txt": "k=" + awsKeyID + "\n",
		"c.txt":            "s=" + stwKey + "\n",
	})
	ig, err := scan.ParseIgnore(strings.NewReader("# test\nvendor/\n" + scan.Fingerprint([]byte(ghToken)) + ":a.txt\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := scan.Options{Detector: newDetector(t), Ignore: ig}
	fs, _, err := scan.Scan(context.Background(), &source.Files{Paths: []string{root}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].File != "c.txt" {
		t.Fatalf("with .stewardignore got %+v, want only c.txt", fs)
	}
	opts.Baseline = map[string]bool{fs[0].Fingerprint: true}
	fs, _, err = scan.Scan(context.Background(), &source.Files{Paths: []string{root}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Fatalf("with baseline got %+v, want none", fs)
	}
}

func TestRobustnessSkipsAndErrors(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"big.txt":     strings.Repeat("a", 2048) + ghToken,
		"minified.js": strings.Repeat("var a=1;", 20000) + "x=\"" + ghToken + "\";" + strings.Repeat("b", 5000),
		"invalid.txt": "\xff\xfe\xfd token=" + ghToken + " \xc3\x28\n",
		"sub/ok.txt":  "nothing here\n",
	})
	if err := os.Symlink(root, filepath.Join(root, "sub", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "sub", "ok.txt"), filepath.Join(root, "link.txt")); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(root, "secret.txt")
	if err := os.WriteFile(unreadable, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	fs, sum, err := scan.Scan(context.Background(), &source.Files{Paths: []string{root}}, scan.Options{Detector: newDetector(t), MaxFileSize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped[scan.SkipTooLarge] != 2 {
		t.Errorf("too-large = %d, want 2 (big.txt, minified.js): %+v", sum.Skipped[scan.SkipTooLarge], sum)
	}
	if sum.Skipped[scan.SkipSymlink] != 1 {
		t.Errorf("symlink = %d, want 1", sum.Skipped[scan.SkipSymlink])
	}
	if os.Geteuid() != 0 && len(sum.Errors) != 1 {
		t.Errorf("errors = %v, want the unreadable file", sum.Errors)
	}
	if find(fs, "github-pat", "invalid.txt") == nil {
		t.Errorf("no finding in invalid UTF-8 file: %+v", fs)
	}
	fs, _, err = scan.Scan(context.Background(), &source.Files{Paths: []string{root}}, scan.Options{Detector: newDetector(t)})
	if err != nil {
		t.Fatal(err)
	}
	if find(fs, "github-pat", "minified.js") == nil {
		t.Errorf("no finding in minified line")
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Dev One", "-c", "user.email=dev@example.org", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_DATE=2024-05-06T07:08:09Z", "GIT_COMMITTER_DATE=2024-05-06T07:08:09Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestGitHistoryFindsDeletedSecretsOnce(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	writeFiles(t, repo, map[string]string{"README.md": "hello\n"})
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "init")
	writeFiles(t, repo, map[string]string{"deploy/config.env": "A=1\nGITHUB_TOKEN=" + ghToken + "\n"})
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "add secret")
	writeFiles(t, repo, map[string]string{"deploy/config.env": "A=1\n"})
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "remove secret")
	writeFiles(t, repo, map[string]string{"copy.txt": "GITHUB_TOKEN=" + ghToken + "\n"}) // same blob content differs (no A=1)
	writeFiles(t, repo, map[string]string{"staged.txt": "k=" + stwKey + "\n"})
	git(t, repo, "add", "staged.txt")

	fs, sum, err := scan.Scan(context.Background(), &source.Git{Repo: repo}, scan.Options{Detector: newDetector(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("got %d findings, want 1: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.File != "deploy/config.env" || f.Line != 2 || f.Commit == "" || f.Author != "Dev One" || f.Email != "dev@example.org" || f.Date != "2024-05-06T07:08:09Z" {
		t.Errorf("finding = %+v", f)
	}
	if sum.Files != 3 {
		t.Errorf("blobs scanned = %d, want 3", sum.Files)
	}

	fs, _, err = scan.Scan(context.Background(), &source.Staged{Repo: repo}, scan.Options{Detector: newDetector(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].File != "staged.txt" || fs[0].Rule != "steward-api-key" || fs[0].Commit != "" {
		t.Fatalf("staged findings = %+v", fs)
	}
}

func TestStdin(t *testing.T) {
	fs, _, err := scan.Scan(context.Background(), &source.Reader{Name: "stdin", R: strings.NewReader("x\ny = " + awsKeyID + "\n")}, scan.Options{Detector: newDetector(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].File != "stdin" || fs[0].Line != 2 || fs[0].Column != 5 {
		t.Fatalf("got %+v", fs)
	}
}

func b64(s string) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b strings.Builder
	in := []byte(s)
	for i := 0; i < len(in); i += 3 {
		var v uint32
		n := min(3, len(in)-i)
		for j := 0; j < 3; j++ {
			v <<= 8
			if j < n {
				v |= uint32(in[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= n {
				b.WriteByte(enc[(v>>(18-6*j))&63])
			} else {
				b.WriteByte('=')
			}
		}
	}
	return b.String()
}
