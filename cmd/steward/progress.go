package main

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/steward-nhi/steward/scan/report"
)

// uploadProgress shows, on a terminal, the bytes of r sent so far and
// their rate while a long upload (an import) runs; done stops it and
// leaves one line with the records handled and their rate.
type uploadProgress struct {
	r     io.Reader
	sent  atomic.Int64
	start time.Time
	now   func() time.Time
	w     io.Writer
	p     *mpb.Progress
	bar   *mpb.Bar
}

func newUploadProgress(w io.Writer, r io.Reader, what string) *uploadProgress {
	u := &uploadProgress{r: r, start: time.Now(), now: time.Now, w: w}
	u.p = mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh())
	u.bar = u.p.New(0, mpb.SpinnerStyle(),
		mpb.PrependDecorators(decor.Name(what+" "), decor.Any(func(decor.Statistics) string { return u.sentText() })),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)))
	return u
}

func (u *uploadProgress) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	u.sent.Add(int64(n))
	return n, err
}

func (u *uploadProgress) sentText() string {
	sent := u.sent.Load()
	rate := 0.0
	if d := u.now().Sub(u.start).Seconds(); d > 0 {
		rate = float64(sent) / d
	}
	return fmt.Sprintf("%s sent, %s/s", report.HumanBytes(sent), report.HumanBytes(int64(rate)))
}

// done stops the spinner and prints the records handled and their rate.
func (u *uploadProgress) done(records int) {
	u.bar.SetTotal(-1, true)
	u.p.Wait()
	took := u.now().Sub(u.start)
	rate := 0.0
	if took > 0 {
		rate = float64(records) / took.Seconds()
	}
	fmt.Fprintf(u.w, "%d records (%s) in %s, %.0f records/s\n", records, report.HumanBytes(u.sent.Load()), took.Round(time.Millisecond), rate)
}
