// Package docrun runs the shell examples of the documentation, so a
// README cannot rot: a fenced ```bash block whose fence line directly
// follows the line
//
//	<!-- runnable -->
//
// is extracted (Extract) and run with bash -euo pipefail (Run). The caller
// chooses the directory and the environment (the test of cmd/steward
// starts a fresh server and puts the built binary first on PATH).
package docrun

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Marker is the line that makes the next fenced bash block runnable.
const Marker = "<!-- runnable -->"

// Block is one runnable code block.
type Block struct {
	File string // as given to Extract
	Line int    // of the opening fence, 1-based
	Code string
}

// Extract returns the runnable blocks of a Markdown document. A marker
// that is not directly followed by a ```bash (or ```sh) fence, or a block
// that is never closed, is an error naming file:line: a marker that marks
// nothing would silently stop testing a block.
func Extract(file string, md []byte) ([]Block, error) {
	var (
		blocks  []Block
		marked  int // line of a pending marker, 0 when none
		inFence string
		cur     *Block
		code    strings.Builder
	)
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if inFence != "" {
			if strings.HasPrefix(trimmed, inFence) && strings.Trim(trimmed, "`~") == "" {
				inFence = ""
				if cur != nil {
					cur.Code = code.String()
					blocks = append(blocks, *cur)
					cur = nil
				}
				continue
			}
			if cur != nil {
				code.WriteString(line)
				code.WriteByte('\n')
			}
			continue
		}
		if trimmed == Marker {
			marked = n
			continue
		}
		if fence, lang, ok := openFence(trimmed); ok {
			inFence = fence
			if marked != 0 {
				if lang != "bash" && lang != "sh" {
					return nil, fmt.Errorf("%s:%d: %s marks a %q block; only bash blocks run", file, marked, Marker, lang)
				}
				cur = &Block{File: file, Line: n}
				code.Reset()
			}
			marked = 0
			continue
		}
		if marked != 0 {
			return nil, fmt.Errorf("%s:%d: %s is not directly followed by a ```bash block", file, marked, Marker)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if marked != 0 {
		return nil, fmt.Errorf("%s:%d: %s is not followed by a ```bash block", file, marked, Marker)
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the runnable block is never closed", file, cur.Line)
	}
	return blocks, nil
}

// openFence reports whether line opens a fenced code block, with the
// fence (``` or ~~~, or longer) and the info string's language.
func openFence(line string) (fence, lang string, ok bool) {
	for _, c := range []string{"```", "~~~"} {
		if strings.HasPrefix(line, c) {
			i := 0
			for i < len(line) && line[i] == c[0] {
				i++
			}
			lang, _, _ = strings.Cut(strings.TrimSpace(line[i:]), " ")
			return line[:i], lang, true
		}
	}
	return "", "", false
}

// Run runs a block with bash -euo pipefail in dir with env (the whole
// environment: nothing is inherited). A non-zero exit is an error that
// names the block's file:line and holds its combined output.
func Run(ctx context.Context, b Block, dir string, env []string) error {
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", b.Code)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s:%d: %w\n--- block ---\n%s--- output ---\n%s", b.File, b.Line, err, b.Code, out)
	}
	return nil
}
