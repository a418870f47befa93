package docrun

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	for _, tt := range []struct {
		name  string
		md    string
		lines []int
		err   string
	}{
		{"a marked block", "<!-- runnable -->\n```bash\necho hi\n```\n", []int{2}, ""},
		{"an unmarked block is skipped", "```bash\nexit 1\n```\n", nil, ""},
		{"a marker then a blank line marks nothing", "<!-- runnable -->\n\n```bash\necho\n```\n", nil, "doc.md:1: <!-- runnable --> is not directly followed"},
		{"a marked yaml block", "<!-- runnable -->\n```yaml\na: 1\n```\n", nil, `doc.md:1: <!-- runnable --> marks a "yaml" block`},
		{"a marker at the end", "text\n<!-- runnable -->\n", nil, "doc.md:2:"},
		{"an unclosed block", "<!-- runnable -->\n```bash\necho\n", nil, "doc.md:2: the runnable block is never closed"},
		{"a marker inside a block is text", "```md\n<!-- runnable -->\n```\n", nil, ""},
		{"a longer fence holds a shorter one", "<!-- runnable -->\n````bash\ncat <<'X'\n```\nX\n````\n", []int{2}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bs, err := Extract("doc.md", []byte(tt.md))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, b := range bs {
				lines = append(lines, b.Line)
			}
			if len(lines) != len(tt.lines) || (len(lines) > 0 && lines[0] != tt.lines[0]) {
				t.Fatalf("blocks at lines %v, want %v", lines, tt.lines)
			}
		})
	}
}

// TestRunFailsWithTheBlocksFileAndLine: the harness passes a good
// document and fails a broken one, naming the failing block's file:line
// and showing its output; a block stops at its first failing command.
func TestRunFailsWithTheBlocksFileAndLine(t *testing.T) {
	env := append(os.Environ(), "DOCRUN_VAR=set")
	for _, tt := range []struct {
		file   string
		blocks int
		err    []string // in the first error, in order
	}{
		{"testdata/good.md", 2, nil},
		{"testdata/broken.md", 2, []string{"testdata/broken.md:9:", "exit status 1", "about to fail"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			md, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			bs, err := Extract(tt.file, md)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != tt.blocks {
				t.Fatalf("%d blocks, want %d", len(bs), tt.blocks)
			}
			var first error
			for _, b := range bs {
				if err := Run(context.Background(), b, t.TempDir(), env); err != nil && first == nil {
					first = err
				}
			}
			if tt.err == nil {
				if first != nil {
					t.Fatalf("a good document failed: %v", first)
				}
				return
			}
			if first == nil {
				t.Fatal("a broken document passed")
			}
			msg := first.Error()
			if strings.Contains(msg, "never reached") && strings.Count(msg, "never reached") > 1 {
				t.Fatalf("the block went on after a failing command:\n%s", msg)
			}
			rest := msg
			for _, w := range tt.err {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error lacks %q (in order):\n%s", w, msg)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
