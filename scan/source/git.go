package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward/scan"
)

// Git scans every blob of a repository's history once, attributed to the
// commit, author and date of its first appearance (oldest first). It runs
// the git CLI: "git log --raw" lists the blobs each commit introduces and
// "git cat-file --batch" reads them.
type Git struct {
	Repo string
	// MaxSize: larger blobs are skipped (read and discarded).
	MaxSize int64
	// LogArgs restrict the history (default "--all").
	LogArgs []string
}

// Staged scans the versions of files staged in the index (for a
// pre-commit hook): added, copied, modified and renamed paths.
type Staged struct {
	Repo    string
	MaxSize int64
}

var (
	_ scan.Source = (*Git)(nil)
	_ scan.Source = (*Staged)(nil)
)

func gitCmd(ctx context.Context, repo string, args ...string) *exec.Cmd {
	full := append([]string{"-C", repo, "-c", "core.fsmonitor=", "-c", "core.quotepath=off"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	return cmd
}

// streamGit runs git with args in repo and hands its standard output to
// parse while it runs. A parse error stops git; the output is drained and
// git waited for either way, and git's own failure names its stderr.
func streamGit(ctx context.Context, repo string, parse func(io.Reader) error, args ...string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := gitCmd(ctx, repo, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("git %s: %w", args[0], err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git %s: %w", args[0], err)
	}
	perr := parse(out)
	if perr != nil {
		cancel()
	}
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if perr != nil {
		return perr
	}
	if werr != nil {
		return fmt.Errorf("git %s: %w: %s", args[0], werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

type blobRef struct {
	sha, path, commit, author, email string
	when                             time.Time
}

// Fragments implements scan.Source.
func (g *Git) Fragments(ctx context.Context, yield func(scan.Fragment) error) error {
	logArgs := g.LogArgs
	if len(logArgs) == 0 {
		logArgs = []string{"--all"}
	}
	args := append([]string{"log"}, logArgs...)
	args = append(args, "--reverse", "--raw", "--no-abbrev", "--no-renames", "-m", "-z", "--no-ext-diff", "--format=%x01%H%x00%an%x00%ae%x00%at")
	seen := make(map[string]bool)
	var refs []blobRef
	err := streamGit(ctx, g.Repo, func(out io.Reader) error {
		return parseRawLog(out, func(b blobRef) {
			if !seen[b.sha] {
				seen[b.sha] = true
				refs = append(refs, b)
			}
		})
	}, args...)
	if err != nil {
		return err
	}
	return catBlobs(ctx, g.Repo, refs, g.MaxSize, yield)
}

// parseRawLog reads "git log --raw -z" output in the format set above.
func parseRawLog(r io.Reader, fn func(blobRef)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var cur blobRef
	field := 0 // position in a commit header: 1 author, 2 email, 3 time
	var pending []string
	for {
		tok, err := br.ReadString(0)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("git log: %w", err)
		}
		tok = strings.TrimLeft(tok[:len(tok)-1], "\n")
		switch {
		case strings.HasPrefix(tok, "\x01"):
			cur = blobRef{commit: tok[1:]}
			field = 1
		case field == 1:
			cur.author, field = tok, 2
		case field == 2:
			cur.email, field = tok, 3
		case field == 3:
			if sec, err := strconv.ParseInt(tok, 10, 64); err == nil {
				cur.when = time.Unix(sec, 0).UTC()
			}
			field = 0
		case pending != nil:
			// tok is the path of the raw entry in pending.
			mode, sha := pending[1], pending[3]
			pending = nil
			if (mode == "100644" || mode == "100755" || mode == "100664") && strings.Trim(sha, "0") != "" {
				b := cur
				b.sha, b.path = sha, tok
				fn(b)
			}
		case strings.HasPrefix(tok, ":"):
			f := strings.Fields(tok)
			if len(f) >= 5 {
				pending = f
			}
		}
	}
}

// catBlobs reads blobs with one "git cat-file --batch" process.
func catBlobs(ctx context.Context, repo string, refs []blobRef, maxSize int64, yield func(scan.Fragment) error) error {
	if len(refs) == 0 {
		return nil
	}
	if maxSize <= 0 {
		maxSize = scan.DefaultMaxFileSize
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := gitCmd(ctx, repo, "cat-file", "--batch")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	go func() {
		bw := bufio.NewWriterSize(in, 64<<10)
		for _, r := range refs {
			if _, err := bw.WriteString(r.sha + "\n"); err != nil {
				break
			}
		}
		_ = bw.Flush()
		_ = in.Close()
	}()
	br := bufio.NewReaderSize(out, 1<<20)
	var ferr error
	for _, r := range refs {
		hdr, err := br.ReadString('\n')
		if err != nil {
			ferr = fmt.Errorf("git cat-file: %w: %s", err, strings.TrimSpace(stderr.String()))
			break
		}
		f := strings.Fields(hdr)
		if len(f) < 3 || f[1] != "blob" {
			continue // "<sha> missing"
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			ferr = fmt.Errorf("git cat-file: bad header %q", hdr)
			break
		}
		fr := scan.Fragment{Path: r.path, Commit: r.commit, Author: r.author, Email: r.email, Date: r.when, Size: size}
		if size > maxSize {
			if _, err := br.Discard(int(size) + 1); err != nil {
				ferr = fmt.Errorf("git cat-file: %w", err)
				break
			}
			fr.Skip = scan.SkipTooLarge
		} else {
			buf := make([]byte, size+1)
			if _, err := io.ReadFull(br, buf); err != nil {
				ferr = fmt.Errorf("git cat-file: %w", err)
				break
			}
			fr.Content = buf[:size]
		}
		if err := yield(fr); err != nil {
			ferr = err
			break
		}
	}
	cancel()
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if ferr != nil {
		return ferr
	}
	if werr != nil && ctx.Err() == nil {
		return fmt.Errorf("git cat-file: %w", werr)
	}
	return nil
}

// Fragments implements scan.Source.
func (s *Staged) Fragments(ctx context.Context, yield func(scan.Fragment) error) error {
	cmd := gitCmd(ctx, s.Repo, "diff", "--cached", "--name-only", "-z", "--no-ext-diff", "--diff-filter=ACMR")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git diff --cached: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var refs []blobRef
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			refs = append(refs, blobRef{sha: ":" + p, path: p})
		}
	}
	return catBlobs(ctx, s.Repo, refs, s.MaxSize, yield)
}
