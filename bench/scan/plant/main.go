// Command plant copies a corpus and plants credentials of many providers
// into it (in code, configuration, pipeline files and base64 blobs), writing
// the ground truth as JSON lines. With -git it builds a repository whose
// history adds the corpus in batches and adds, then deletes, secrets.
//
//	go run ./bench/scan/plant -src $(go env GOROOT)/src -dst /tmp/corpus -truth truth.jsonl -n 400
//	go run ./bench/scan/plant -src ... -dst /tmp/repo -truth truth-git.jsonl -n 200 -git -batch 5
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Truth is one planted secret.
type Truth struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	EndLine int    `json:"end_line"`
	Kind    string `json:"kind"`
	Secret  string `json:"secret"`
	Carrier string `json:"carrier"`
	Commit  int    `json:"commit,omitempty"` // batch number in -git mode
}

func main() {
	src := flag.String("src", "", "corpus directory, or several separated by commas (each copied under its base name)")
	dst := flag.String("dst", "", "output directory (created)")
	truthPath := flag.String("truth", "truth.jsonl", "ground-truth file")
	n := flag.Int("n", 400, "number of secrets to plant")
	seed := flag.Uint64("seed", 1, "random seed")
	gitMode := flag.Bool("git", false, "build a git repository with history")
	batch := flag.Int("batch", 5, "files per commit in -git mode")
	flag.Parse()
	if err := run(*src, *dst, *truthPath, *n, *seed, *gitMode, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "plant:", err)
		os.Exit(1)
	}
}

var skipNames = map[string]bool{"go.sum": true, "package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true, "Cargo.lock": true}

// corpusFiles lists regular files under src, without vendor trees and lock
// files (which peers skip by default), sorted.
func corpusFiles(src string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "vendor" || d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || skipNames[d.Name()] {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		files = append(files, rel)
		return nil
	})
	sort.Strings(files)
	return files, err
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

type planter struct {
	r     *rand.Rand
	dst   string
	truth []Truth
	seq   int
}

const (
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	hexd  = "0123456789abcdef"
	b64c  = alnum + "+/"
	urlc  = alnum + "_-"
	upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
)

func (p *planter) rs(charset string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = charset[p.r.IntN(len(charset))]
	}
	return string(b)
}

func base62crc(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = alnum62[v%62]
		v /= 62
	}
	return string(b[:])
}

const alnum62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// secret makes one credential: kind, env-style variable name, value.
func (p *planter) secret() (kind, name, value string) {
	switch p.r.IntN(30) {
	case 0:
		return "aws-access-key-id", "AWS_ACCESS_KEY_ID", "AKIA" + p.rs(upper, 16)
	case 1:
		return "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", p.rs(b64c, 40)
	case 2:
		body := p.rs(alnum62, 30)
		return "github-pat", "GITHUB_TOKEN", "ghp_" + body + base62crc(body)
	case 3:
		return "github-fine-grained-pat", "GH_PAT", "github_pat_" + p.rs(alnum, 22) + "_" + p.rs(alnum, 59)
	case 4:
		return "gitlab-pat", "GITLAB_TOKEN", "glpat-" + p.rs(urlc, 20)
	case 5:
		return "slack-bot-token", "SLACK_BOT_TOKEN", "xoxb-" + p.rs("0123456789", 12) + "-" + p.rs("0123456789", 12) + "-" + p.rs(alnum, 24)
	case 6:
		return "stripe-live-secret-key", "STRIPE_SECRET_KEY", "sk_live_" + p.rs(alnum, 24)
	case 7:
		return "sendgrid-api-key", "SENDGRID_API_KEY", "SG." + p.rs(urlc, 22) + "." + p.rs(urlc, 43)
	case 8:
		return "npm-access-token", "NPM_TOKEN", "npm_" + p.rs(alnum, 36)
	case 9:
		return "pypi-upload-token", "PYPI_TOKEN", "pypi-AgEIcHlwaS5vcmc" + p.rs(urlc, 70)
	case 10:
		return "dockerhub-pat", "DOCKERHUB_TOKEN", "dckr_pat_" + p.rs(urlc, 27)
	case 11:
		return "openai-api-key", "OPENAI_API_KEY", "sk-" + p.rs(alnum, 20) + "T3BlbkFJ" + p.rs(alnum, 20)
	case 12:
		return "anthropic-api-key", "ANTHROPIC_API_KEY", "sk-ant-api03-" + p.rs(urlc, 93) + "AA"
	case 13:
		return "huggingface-token", "HF_TOKEN", "hf_" + p.rs(alnum, 34)
	case 14:
		return "shopify-access-token", "SHOPIFY_TOKEN", "shpat_" + p.rs(hexd, 32)
	case 15:
		return "atlassian-api-token", "JIRA_API_TOKEN", "ATATT3" + p.rs(urlc, 186)
	case 16:
		return "vault-service-token", "VAULT_TOKEN", "hvs." + p.rs(urlc, 95)
	case 17:
		return "terraform-cloud-token", "TFE_TOKEN", p.rs(alnum, 14) + ".atlasv1." + p.rs(urlc, 67)
	case 18:
		return "jwt", "AUTH_JWT", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI" + p.rs(urlc, 24) + "In0." + p.rs(urlc, 43)
	case 19:
		return "postgres-url-password", "DATABASE_URL", "postgres://app:" + p.rs(alnum, 16) + "@db.internal:5432/app"
	case 20:
		return "redis-url-password", "REDIS_URL", "redis://default:" + p.rs(alnum, 20) + "@cache.internal:6379/0"
	case 21:
		body := p.rs(alnum62, 30)
		return "steward-api-key", "STEWARD_TOKEN", "stw_" + body + base62crc(body)
	case 22:
		return "generic-password", "DB_PASSWORD", p.rs(alnum, 6) + "!" + p.rs(alnum, 9)
	case 23:
		return "datadog-api-key", "DD_API_KEY", p.rs(hexd, 32)
	case 24:
		return "twilio-auth-token", "TWILIO_AUTH_TOKEN", p.rs(hexd, 32)
	case 25:
		return "azure-storage-account-key", "AZURE_STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=" + p.rs(b64c, 86) + "==;EndpointSuffix=core.windows.net"
	case 26:
		return "slack-webhook-url", "SLACK_WEBHOOK", "https://hooks.slack.com/services/T" + p.rs(upper, 8) + "/B" + p.rs(upper, 8) + "/" + p.rs(alnum, 24)
	case 27:
		return "gcp-api-key", "GOOGLE_API_KEY", "AIza" + p.rs(urlc, 35)
	case 28:
		return "mailgun-api-key", "MAILGUN_API_KEY", "key-" + p.rs(hexd, 32)
	default:
		return "basic-auth-url", "REPO_URL", "https://deploy:" + p.rs(alnum, 18) + "@git.internal.example.net/org/repo.git"
	}
}

// lineOf returns the 1-based line of the first occurrence of needle.
func lineOf(content, needle string) int {
	i := strings.Index(content, needle)
	if i < 0 {
		return 0
	}
	return strings.Count(content[:i], "\n") + 1
}

// carrier renders a file that holds the secret; it returns the content,
// file name and the text whose line is the truth location.
func (p *planter) carrier(kind, name, value string) (content, file, needle, carrier string) {
	p.seq++
	id := p.seq
	switch p.r.IntN(12) {
	case 0:
		return fmt.Sprintf("package planted\n\n// Client settings.\nconst %s = %q\n", goName(name), value), fmt.Sprintf("planted_%d.go", id), value, "go"
	case 1:
		return fmt.Sprintf("# settings\n%s=%s\nLOG_LEVEL=info\n", name, value), fmt.Sprintf("planted_%d.env", id), value, "dotenv"
	case 2:
		return fmt.Sprintf("name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: deploy\n        env:\n          %s: %s\n        run: ./deploy.sh\n", name, value), fmt.Sprintf(".github/workflows/planted-%d.yml", id), value, "github-actions"
	case 3:
		return fmt.Sprintf("stages: [deploy]\ndeploy:\n  stage: deploy\n  variables:\n    %s: \"%s\"\n  script:\n    - ./deploy.sh\n", name, value), fmt.Sprintf("ci%d/.gitlab-ci.yml", id), value, "gitlab-ci"
	case 4:
		return fmt.Sprintf("services:\n  app:\n    image: acme/app:1\n    environment:\n      - %s=%s\n", name, value), fmt.Sprintf("compose%d/docker-compose.yml", id), value, "compose"
	case 5:
		enc := base64.StdEncoding.EncodeToString([]byte(value))
		return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-%d\n  namespace: prod\ntype: Opaque\ndata:\n  %s: %s\n", id, strings.ToLower(name), enc), fmt.Sprintf("k8s%d/secret.yaml", id), enc, "k8s-secret-base64"
	case 6:
		return fmt.Sprintf("region = \"us-east-1\"\n%s = \"%s\"\n", strings.ToLower(name), value), fmt.Sprintf("planted_%d.tfvars", id), value, "tfvars"
	case 7:
		return fmt.Sprintf("pipeline {\n  agent any\n  stages {\n    stage('Deploy') {\n      environment {\n        %s = '%s'\n      }\n      steps { sh './deploy.sh' }\n    }\n  }\n}\n", name, value), fmt.Sprintf("jenkins%d/Jenkinsfile", id), value, "jenkinsfile"
	case 8:
		blob := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("export %s=%s\n", name, value)))
		return fmt.Sprintf("# bootstrap script, encoded\nbootstrap: %s\n", blob), fmt.Sprintf("planted_%d_blob.yaml", id), blob, "base64-blob"
	case 9:
		return fmt.Sprintf("{\n  \"service\": \"billing\",\n  \"%s\": \"%s\"\n}\n", strings.ToLower(name), value), fmt.Sprintf("planted_%d.json", id), value, "json"
	case 10:
		return fmt.Sprintf("version: 2.1\njobs:\n  build:\n    docker:\n      - image: cimg/base:stable\n    environment:\n      %s: %s\n    steps:\n      - checkout\n", name, value), fmt.Sprintf("circle%d/.circleci/config.yml", id), value, "circleci"
	default:
		return fmt.Sprintf("import os\n\n%s = \"%s\"\n", strings.ToLower(name), value), fmt.Sprintf("planted_%d.py", id), value, "python"
	}
}

func goName(env string) string {
	parts := strings.Split(strings.ToLower(env), "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// plant writes one secret-bearing file into dir (relative to dst).
func (p *planter) plant(dir string, batch int) (string, error) {
	kind, name, value := p.secret()
	content, file, needle, carrier := p.carrier(kind, name, value)
	rel := filepath.ToSlash(filepath.Join(dir, file))
	full := filepath.Join(p.dst, rel)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		return "", err
	}
	line := lineOf(content, needle)
	p.truth = append(p.truth, Truth{File: rel, Line: line, EndLine: line, Kind: kind, Secret: value, Carrier: carrier, Commit: batch})
	return rel, nil
}

func run(src, dst, truthPath string, n int, seed uint64, gitMode bool, batch int) error {
	if src == "" || dst == "" {
		return fmt.Errorf("-src and -dst are required")
	}
	// files are "source root index + relative path" pairs flattened into
	// destination-relative paths; from maps them back to their source.
	from := map[string]string{}
	var files []string
	roots := strings.Split(src, ",")
	for _, root := range roots {
		fs, err := corpusFiles(root)
		if err != nil {
			return err
		}
		for _, f := range fs {
			rel := f
			if len(roots) > 1 {
				rel = filepath.Join(filepath.Base(root), f)
			}
			from[rel] = filepath.Join(root, f)
			files = append(files, rel)
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	p := &planter{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), dst: dst}
	var dirs []string
	seen := map[string]bool{}
	for _, f := range files {
		d := filepath.Dir(f)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	if !gitMode {
		for _, f := range files {
			if err := copyFile(from[f], filepath.Join(dst, f)); err != nil {
				return err
			}
		}
		for i := 0; i < n; i++ {
			if _, err := p.plant(dirs[p.r.IntN(len(dirs))], 0); err != nil {
				return err
			}
		}
		return writeTruth(truthPath, p.truth)
	}
	return buildHistory(p, from, files, dirs, n, batch, truthPath)
}

func git(dir string, args ...string) error {
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Bench Bot", "-c", "user.email=bench@example.org", "-c", "commit.gpgsign=false", "-c", "core.fsmonitor="}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("git %v: %w: %s", args, err, out)
	}
	return nil
}

// buildHistory commits the corpus in batches; every k-th commit also adds a
// secret file, and some later commit deletes it.
func buildHistory(p *planter, from map[string]string, files, dirs []string, n, batch int, truthPath string) error {
	if err := git(p.dst, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	commits := (len(files) + batch - 1) / batch
	every := max(1, commits/max(1, n))
	var pending []string // planted files to delete later
	c := 0
	for i := 0; i < len(files); i += batch {
		c++
		for _, f := range files[i:min(len(files), i+batch)] {
			if err := copyFile(from[f], filepath.Join(p.dst, f)); err != nil {
				return err
			}
		}
		if c%every == 0 && len(p.truth) < n {
			rel, err := p.plant(dirs[p.r.IntN(len(dirs))], c)
			if err != nil {
				return err
			}
			pending = append(pending, rel)
		}
		if len(pending) > 3 && p.r.IntN(2) == 0 {
			victim := pending[0]
			pending = pending[1:]
			if err := os.Remove(filepath.Join(p.dst, victim)); err != nil {
				return err
			}
		}
		if err := git(p.dst, "add", "-A"); err != nil {
			return err
		}
		if err := git(p.dst, "commit", "-q", "--allow-empty", "-m", fmt.Sprintf("batch %d", c)); err != nil {
			return err
		}
	}
	return writeTruth(truthPath, p.truth)
}

func writeTruth(path string, truth []Truth) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, t := range truth {
		if err := enc.Encode(t); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
