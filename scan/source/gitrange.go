package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward/scan"
)

// Range scans only the lines that the commits of a git range added
// ("BEFORE..AFTER", as a CI job gets for a push): for every commit and
// file, one fragment holding the added lines at their own line numbers
// (the other lines are left empty, so findings keep the file's line
// numbers), attributed to that commit. A secret that only an older commit
// added is not reported, nor one a commit of the range deleted. It runs
// "git log -p -U0" over the range.
type Range struct {
	Repo string
	// Range is a git revision range, e.g. "1a2b3c..HEAD".
	Range string
	// MaxSize: a file whose added lines (with the empty lines that keep
	// their numbers) exceed it is skipped.
	MaxSize int64
}

var _ scan.Source = (*Range)(nil)

// CheckRange refuses a range that git would read as an option, or an
// empty one.
func CheckRange(r string) error {
	switch {
	case strings.TrimSpace(r) == "":
		return errors.New("--range is empty: give BEFORE..AFTER (two commits)")
	case strings.HasPrefix(r, "-"):
		return fmt.Errorf("--range %q: a range cannot start with \"-\"; give BEFORE..AFTER", r)
	case strings.ContainsAny(r, " \t\n\x00"):
		return fmt.Errorf("--range %q: a range has no spaces; give BEFORE..AFTER", r)
	}
	return nil
}

// Fragments implements scan.Source.
func (g *Range) Fragments(ctx context.Context, yield func(scan.Fragment) error) error {
	if err := CheckRange(g.Range); err != nil {
		return err
	}
	maxSize := g.MaxSize
	if maxSize <= 0 {
		maxSize = scan.DefaultMaxFileSize
	}
	return streamGit(ctx, g.Repo, func(out io.Reader) error { return parsePatchLog(out, maxSize, yield) },
		"log", "-p", "-U0", "--reverse", "--no-ext-diff", "--no-color", "--no-renames",
		"--format=%x01%H%x00%an%x00%ae%x00%at", g.Range, "--")
}

// patchFile gathers the lines one commit added to one file.
type patchFile struct {
	fr    scan.Fragment
	buf   bytes.Buffer
	line  int // number of the last line written to buf
	added int64
	// max bounds buf (added lines and the padding before them): a file
	// past it is skipped as too large, never padded further.
	max      int64
	tooLarge bool
}

func (p *patchFile) add(lineNo int, text string) {
	p.added += int64(len(text)) + 1
	if p.tooLarge || int64(p.buf.Len())+int64(lineNo-1-p.line)+int64(len(text))+1 > p.max {
		p.tooLarge = true
		return
	}
	for p.line < lineNo-1 {
		p.buf.WriteByte('\n')
		p.line++
	}
	p.buf.WriteString(text)
	p.buf.WriteByte('\n')
	p.line = lineNo
}

// parsePatchLog reads "git log -p -U0" output in the format set above.
func parsePatchLog(r io.Reader, maxSize int64, yield func(scan.Fragment) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		commit  scan.Fragment
		cur     *patchFile
		newLine int  // number of the next added line in the current hunk
		header  bool // between "diff --git" and the first "@@"
	)
	flush := func() error {
		if cur == nil || cur.added == 0 {
			cur = nil
			return nil
		}
		fr := cur.fr
		if cur.tooLarge {
			fr.Skip = scan.SkipTooLarge
		} else {
			fr.Content = cur.buf.Bytes()
		}
		fr.Size = int64(cur.buf.Len())
		cur = nil
		return yield(fr)
	}
	for {
		line, err := br.ReadString('\n')
		if line == "" && errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("git log: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "\x01"):
			if err := flush(); err != nil {
				return err
			}
			f := strings.Split(line[1:], "\x00")
			commit = scan.Fragment{Commit: f[0]}
			if len(f) == 4 {
				commit.Author, commit.Email = f[1], f[2]
				if sec, err := strconv.ParseInt(f[3], 10, 64); err == nil {
					commit.Date = time.Unix(sec, 0).UTC()
				}
			}
		case strings.HasPrefix(line, "diff --git "):
			if err := flush(); err != nil {
				return err
			}
			header, newLine = true, 0
		case header && strings.HasPrefix(line, "+++ "):
			// git ends a path holding spaces with a tab.
			p := strings.TrimSuffix(strings.TrimPrefix(line, "+++ "), "\t")
			if p == "/dev/null" {
				cur = nil // a deletion adds nothing
				continue
			}
			if strings.HasPrefix(p, `"`) {
				if u, err := strconv.Unquote(p); err == nil {
					p = u
				}
			}
			cur = &patchFile{fr: commit, max: maxSize}
			cur.fr.Path = strings.TrimPrefix(p, "b/")
		case strings.HasPrefix(line, "@@ "):
			// "@@ -a[,b] +c[,d] @@": added lines start at c.
			header, newLine = false, 0
			if f := strings.Fields(line); len(f) >= 3 && strings.HasPrefix(f[2], "+") {
				start, _, _ := strings.Cut(f[2][1:], ",")
				newLine, _ = strconv.Atoi(start)
			}
		case !header && strings.HasPrefix(line, "+") && cur != nil && newLine > 0:
			cur.add(newLine, line[1:])
			newLine++
		}
		if errors.Is(err, io.EOF) {
			return flush()
		}
	}
}
