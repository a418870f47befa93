package report

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress shows live totals and rates of a scan: files and bytes read,
// and bytes per second. Create it only when w is a terminal.
type Progress struct {
	mu     sync.Mutex
	p      *mpb.Progress
	bar    *mpb.Bar
	start  time.Time
	files  int
	bytes  int64
	now    func() time.Time
	output io.Writer
}

// NewProgress starts a spinner-style bar on w.
func NewProgress(w io.Writer) *Progress {
	pr := &Progress{start: time.Now(), now: time.Now, output: w}
	pr.p = mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh())
	pr.bar = pr.p.New(0, mpb.SpinnerStyle(),
		mpb.PrependDecorators(decor.Name("scanning "), decor.Any(func(decor.Statistics) string { return pr.Totals() })),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)),
	)
	return pr
}

// Update records the running totals.
func (pr *Progress) Update(files int, bytes int64) {
	pr.mu.Lock()
	pr.files, pr.bytes = files, bytes
	pr.mu.Unlock()
	pr.bar.SetCurrent(int64(files))
}

// Totals is the counter's text: "12 files, 3.4 MB, 1.2 MB/s".
func (pr *Progress) Totals() string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	rate := 0.0
	if d := pr.now().Sub(pr.start).Seconds(); d > 0 {
		rate = float64(pr.bytes) / d
	}
	return fmt.Sprintf("%d files, %s, %s/s", pr.files, HumanBytes(pr.bytes), HumanBytes(int64(rate)))
}

// Done stops the bar and leaves the final totals on the terminal.
func (pr *Progress) Done() {
	pr.bar.SetTotal(-1, true)
	pr.p.Wait()
	fmt.Fprintf(pr.output, "scanned %s in %s\n", pr.Totals(), pr.now().Sub(pr.start).Round(time.Millisecond))
}
