package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Charts are drawn on the server as inline SVG: no script, no inline style
// (colours come from classes in app.css), a <title> for screen readers and
// a <desc> that lists the values.

type point struct {
	T time.Time
	V float64
}

const (
	chartW = 560
	chartH = 180
	padL   = 44
	padR   = 10
	padT   = 12
	padB   = 26
)

func esc(s string) string { return template.HTMLEscapeString(s) }

func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return num(int64(v))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func svgOpen(b *strings.Builder, title, desc string) {
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s"><title>%s</title><desc>%s</desc>`,
		chartW, chartH, esc(title), esc(title), esc(desc))
}

func axes(b *strings.Builder, max float64, suffix string) {
	plotH := float64(chartH - padT - padB)
	for i := 0; i <= 4; i++ {
		y := float64(padT) + plotH - plotH*float64(i)/4
		fmt.Fprintf(b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padL, y, chartW-padR, y)
		fmt.Fprintf(b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s%s</text>`, padL-6, y+4, esc(fmtNum(max*float64(i)/4)), suffix)
	}
}

// openBars starts a chart of n bars whose largest value is max: the SVG
// element with its description, and the axes. It returns the top of the
// scale, the height of the plot and the width of each bar.
func openBars(b *strings.Builder, title string, desc []string, max float64, n int) (top, plotH, bw float64) {
	top = niceMax(max)
	svgOpen(b, title, strings.Join(desc, "; "))
	axes(b, top, "")
	plotW := float64(chartW - padL - padR)
	return top, float64(chartH - padT - padB), plotW / float64(n)
}

// barChart draws one bar per time point (weeks).
func barChart(title string, pts []steward.TimePoint, class string) template.HTML {
	var max float64
	var desc []string
	for _, p := range pts {
		max = math.Max(max, float64(p.Value))
		desc = append(desc, p.Time.Format("2006-01-02")+": "+num(p.Value))
	}
	var b strings.Builder
	max, plotH, bw := openBars(&b, title, desc, max, len(pts))
	for i, p := range pts {
		h := plotH * float64(p.Value) / max
		x := float64(padL) + float64(i)*bw
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>week of %s: %s</title></rect>`,
			esc(class), x+1, float64(padT)+plotH-h, math.Max(bw-2, 1), h, p.Time.Format("2 Jan 2006"), num(p.Value))
	}
	if len(pts) > 0 {
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d">%s</text>`, padL, chartH-8, pts[0].Time.Format("2 Jan 2006"))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`, chartW-padR, chartH-8, "this week")
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// lineChart draws a series over time; pct fixes the scale at 0-100 %.
func lineChart(title string, pts []point, pct bool) template.HTML {
	max := 100.0
	if !pct {
		max = 0
		for _, p := range pts {
			max = math.Max(max, p.V)
		}
		max = niceMax(max)
	}
	suffix := ""
	if pct {
		suffix = "%"
	}
	var desc []string
	for _, p := range pts {
		desc = append(desc, p.T.Format("2006-01-02")+": "+fmtNum(p.V)+suffix)
	}
	var b strings.Builder
	svgOpen(&b, title, strings.Join(desc, "; "))
	axes(&b, max, suffix)
	plotW := float64(chartW - padL - padR)
	plotH := float64(chartH - padT - padB)
	first, last := pts[0].T, pts[len(pts)-1].T
	span := last.Sub(first).Seconds()
	if span <= 0 {
		span = 1
	}
	var path strings.Builder
	for i, p := range pts {
		x := float64(padL) + plotW*p.T.Sub(first).Seconds()/span
		y := float64(padT) + plotH - plotH*p.V/max
		if i == 0 {
			fmt.Fprintf(&path, "M%.1f %.1f", x, y)
		} else {
			fmt.Fprintf(&path, " L%.1f %.1f", x, y)
		}
		fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="2.5"><title>%s: %s%s</title></circle>`, x, y, p.T.Format("2 Jan 2006"), esc(fmtNum(p.V)), suffix)
	}
	fmt.Fprintf(&b, `<path class="line" d="%s"/>`, path.String())
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d">%s</text>`, padL, chartH-8, first.Format("2 Jan 2006"))
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`, chartW-padR, chartH-8, last.Format("2 Jan 2006"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// histogram draws labelled vertical bars with their counts.
func histogram(title string, buckets []steward.Bucket) template.HTML {
	var max float64
	var desc []string
	for _, bk := range buckets {
		max = math.Max(max, float64(bk.Count))
		desc = append(desc, bk.Label+": "+num(bk.Count))
	}
	var b strings.Builder
	max, plotH, bw := openBars(&b, title, desc, max, len(buckets))
	for i, bk := range buckets {
		h := plotH * float64(bk.Count) / max
		x := float64(padL) + float64(i)*bw
		fmt.Fprintf(&b, `<rect class="bar age%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			i, x+6, float64(padT)+plotH-h, bw-12, h, esc(bk.Label), num(bk.Count))
		fmt.Fprintf(&b, `<text class="val" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+bw/2, math.Max(float64(padT)+plotH-h-4, float64(padT)+10), num(bk.Count))
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+bw/2, chartH-8, esc(bk.Label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// num formats an integer with thousands separators.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" }
