package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward/scan"
	"github.com/steward-nhi/steward/scan/report"
	"github.com/steward-nhi/steward/scan/rules"
	"github.com/steward-nhi/steward/scan/source"
)

// newScanCmd builds "steward scan": the offline secret scanner. It returns
// a scan.ExitError (which implements ExitCode() int) when findings remain
// (code 1 or --exit-code) or the scan fails (code 2).
func newScanCmd(g *globals, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var (
		push                                    bool
		repository                              string
		gitMode, staged, showSecret, noProgress bool
		format, outputFile, config, baseline    string
		gitRange                                string
		exitCode                                int
		maxSize                                 int64
	)
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "Find credentials in files, git history or standard input",
		Long: `Scan directories and files (default "."), a repository's full history (--git),
the lines a range of commits added (--range BEFORE..AFTER, for a CI job on a
push), the staged changes (--staged) or standard input ("-") for credentials.

Exit status: 0 when no findings remain, 1 (or --exit-code) when some do, 2 on error.`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := scanRun{
				args: args, gitMode: gitMode, staged: staged, gitRange: gitRange, rangeSet: cmd.Flags().Changed("range"), showSecret: showSecret,
				format: format, output: outputFile, config: config, baseline: baseline,
				exitCode: exitCode, maxSize: maxSize,
				progress: !noProgress && isTerminal(stderr),
			}
			if push {
				opts.push = func(ctx context.Context, root string, fs []scan.Finding) error {
					return pushFindings(ctx, g, root, repository, fs, stderr)
				}
			}
			err := opts.run(cmd.Context(), stdin, stdout, stderr)
			var ee scan.ExitError
			if err != nil && !errors.As(err, &ee) {
				return scan.ExitError{Code: 2, Err: err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&gitMode, "git", false, "scan the full git history of the repository at PATH (every blob once)")
	f.BoolVar(&staged, "staged", false, "scan the files staged in the git index (for a pre-commit hook)")
	f.StringVar(&gitRange, "range", "", "scan only the lines the commits of a git range added, e.g. BEFORE..AFTER (for CI on a push), in the repository at PATH")
	// -o/--output is the format here as in every other command; --format
	// (-f) stays as a hidden alias for scripts written before.
	f.StringVarP(&format, "format", "f", "table", "output format (alias of --output)")
	f.StringVarP(&format, "output", "o", "table", "output format: "+strings.Join(report.Formats, "|"))
	_ = f.MarkHidden("format")
	f.StringVar(&outputFile, "output-file", "", "write the report to FILE instead of standard output")
	f.StringVar(&config, "config", "", "rules FILE that adds, overrides or disables rules")
	f.StringVar(&baseline, "baseline", "", "previous JSON report: report only findings not in it")
	f.BoolVar(&showSecret, "show-secret", false, "include the secrets themselves in the report")
	f.IntVar(&exitCode, "exit-code", 1, "exit status when findings remain")
	f.Int64Var(&maxSize, "max-file-size", scan.DefaultMaxFileSize, "skip files larger than this many bytes")
	f.BoolVar(&noProgress, "no-progress", false, "do not show a progress bar")
	f.BoolVar(&push, "push", false, "send fingerprints and locations (never secrets) to the Steward server (--server, --token) to link them to the inventory")
	f.StringVar(&repository, "repository", "", "repository name recorded with pushed findings (default: git remote origin, else the directory name)")
	cmd.AddCommand(newScanInstallHookCmd(stdout))
	return cmd
}

type scanRun struct {
	args                             []string
	gitMode, staged, showSecret      bool
	gitRange                         string
	rangeSet                         bool
	format, output, config, baseline string
	exitCode                         int
	maxSize                          int64
	progress                         bool
	push                             func(ctx context.Context, root string, fs []scan.Finding) error
}

func (o scanRun) run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !validFormat(o.format) {
		if strings.ContainsAny(o.format, "./\\") {
			return fmt.Errorf("unknown output format %q (want %s): -o is the format; to write the report to a file use --output-file %s",
				o.format, strings.Join(report.Formats, "|"), o.format)
		}
		return fmt.Errorf("unknown output format %q (want %s)", o.format, strings.Join(report.Formats, "|"))
	}
	modes := 0
	for _, on := range []bool{o.gitMode, o.staged, o.rangeSet} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return usageError{errors.New("--git, --staged and --range are exclusive")}
	}
	if o.rangeSet {
		if err := source.CheckRange(o.gitRange); err != nil {
			return usageError{err}
		}
	}
	cfg, err := rules.Load(o.config)
	if err != nil {
		return err
	}
	det, err := scan.NewDetector(cfg)
	if err != nil {
		return err
	}
	paths := o.args
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var src scan.Source
	root := paths[0]
	switch {
	case o.gitMode || o.staged || o.rangeSet:
		if len(paths) > 1 {
			return usageError{errors.New("--git, --staged and --range take one repository path")}
		}
		switch {
		case o.gitMode:
			src = &source.Git{Repo: root, MaxSize: o.maxSize}
		case o.rangeSet:
			src = &source.Range{Repo: root, Range: o.gitRange, MaxSize: o.maxSize}
		default:
			src = &source.Staged{Repo: root, MaxSize: o.maxSize}
		}
		if top, err := gitTopLevel(ctx, root); err == nil {
			root = top
		}
	default:
		var multi scan.Multi
		var files []string
		for _, p := range paths {
			if p == "-" {
				multi = append(multi, &source.Reader{Name: "stdin", R: stdin, MaxSize: o.maxSize})
				continue
			}
			files = append(files, p)
		}
		if len(files) > 0 {
			multi = append(multi, &source.Files{Paths: files})
		}
		src = multi
		if root == "-" {
			root = "."
		}
	}
	ignoreDir := root
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		ignoreDir = filepath.Dir(root)
	}
	ig, err := scan.LoadIgnore(filepath.Join(ignoreDir, scan.IgnoreFile))
	if err != nil {
		return err
	}
	opts := scan.Options{Detector: det, MaxFileSize: o.maxSize, ShowSecret: o.showSecret, Ignore: ig}
	if o.baseline != "" {
		if opts.Baseline, err = scan.LoadBaseline(o.baseline); err != nil {
			return err
		}
	}
	var bar *report.Progress
	if o.progress {
		bar = report.NewProgress(stderr)
		opts.Progress = bar.Update
	}
	start := time.Now()
	findings, sum, err := scan.Scan(ctx, src, opts)
	end := time.Now()
	if bar != nil {
		bar.Done()
	}
	if err != nil {
		return err
	}
	meta := report.Meta{Version: version, Start: start, End: end}
	if o.gitMode || o.staged || o.rangeSet {
		meta.SourceRoot = root
	} else if files := o.filePaths(); len(files) == 1 {
		meta.SourceRoot, meta.Prefix = sourceRoot(ctx, files[0])
	}
	if err := o.write(stdout, findings, sum, meta); err != nil {
		return err
	}
	if o.format != "table" {
		fmt.Fprintln(stderr, report.SummaryLine(sum))
	}
	if o.push != nil {
		if err := o.push(ctx, root, findings); err != nil {
			return err
		}
	}
	for _, e := range sum.Errors {
		fmt.Fprintln(stderr, "steward scan: error:", e)
	}
	if len(findings) > 0 && o.exitCode != 0 {
		return scan.ExitError{Code: o.exitCode}
	}
	return nil
}

// filePaths lists the scanned paths other than standard input.
func (o scanRun) filePaths() []string {
	var files []string
	for _, p := range o.args {
		if p != "-" {
			files = append(files, p)
		}
	}
	if len(o.args) == 0 {
		files = []string{"."}
	}
	return files
}

// sourceRoot finds the directory SARIF locations are relative to for a
// scanned path: the root of the git repository holding it, else the
// working directory when the path lies under it, else the scanned
// directory itself. prefix is the scanned directory relative to that root
// (findings name files relative to the scanned directory; a scanned file
// keeps its base name, so its directory is the prefix).
func sourceRoot(ctx context.Context, p string) (root, prefix string) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", ""
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	dir := abs
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		dir = filepath.Dir(abs)
	}
	root = dir
	if top, err := gitTopLevel(ctx, dir); err == nil {
		root = top
	} else if wd, err := os.Getwd(); err == nil {
		if real, err := filepath.EvalSymlinks(wd); err == nil {
			wd = real
		}
		if rel, err := filepath.Rel(wd, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			root = wd
		}
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return dir, ""
	}
	return root, filepath.ToSlash(rel)
}

func (o scanRun) write(stdout io.Writer, fs []scan.Finding, sum scan.Summary, meta report.Meta) error {
	var buf bytes.Buffer
	if err := report.Write(&buf, o.format, fs, sum, meta); err != nil {
		return err
	}
	if o.output == "" || o.output == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(o.output, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func validFormat(f string) bool {
	for _, g := range report.Formats {
		if f == g {
			return true
		}
	}
	return false
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func gitTopLevel(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--show-toplevel")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

const preCommitHook = `#!/bin/sh
# Installed by "steward scan install-hook": block commits that add credentials.
# Bypass once with "git commit --no-verify"; suppress a finding with an inline
# "steward:allow" comment or its fingerprint in .stewardignore.
exec steward scan --staged --no-progress
`

func newScanInstallHookCmd(stdout io.Writer) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:          "install-hook [REPO]",
		Short:        "Install a git pre-commit hook that runs \"steward scan --staged\"",
		Args:         cobra.MaximumNArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			repo := "."
			if len(args) == 1 {
				repo = args[0]
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			c := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "--git-path", "hooks")
			c.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
			out, err := c.Output()
			if err != nil {
				return scan.ExitError{Code: 2, Err: fmt.Errorf("%s is not a git repository: %w", repo, err)}
			}
			dir := strings.TrimSpace(string(out))
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(repo, dir)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return scan.ExitError{Code: 2, Err: err}
			}
			hook := filepath.Join(dir, "pre-commit")
			if _, err := os.Stat(hook); err == nil && !force {
				return scan.ExitError{Code: 2, Err: fmt.Errorf("%s exists; use --force to replace it", hook)}
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return scan.ExitError{Code: 2, Err: err}
			}
			if err := os.WriteFile(hook, []byte(preCommitHook), 0o755); err != nil {
				return scan.ExitError{Code: 2, Err: err}
			}
			if err := os.Chmod(hook, 0o755); err != nil {
				return scan.ExitError{Code: 2, Err: err}
			}
			fmt.Fprintln(stdout, "installed", hook)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing pre-commit hook")
	return cmd
}
