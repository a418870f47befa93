package web

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// authChartSeries is how many environments the share chart draws (the
// busiest); the table lists every one.
const authChartSeries = 5

// authShare is the dashboard's panel of authentications made with
// federated or exchanged tokens against static secrets, by environment,
// per week over trendWeeks (UTC days; the last week ends today).
type authShare struct {
	Chart template.HTML
	// Series are the charted environments with their legend class.
	Series []authSeries
	// Envs sums the whole span per environment, busiest first.
	Envs []authCell
	// Weeks is the chart's data as a table, oldest first: one cell per
	// environment of Envs.
	Weeks []authWeek
	From  time.Time
	Total authCell
}

type authSeries struct {
	Env   string
	Class string
}

type authCell struct {
	Env       string
	Federated int64
	Static    int64
}

// Share is the federated share in percent; ok is false without any
// authentication.
func (c authCell) Share() (float64, bool) {
	n := c.Federated + c.Static
	if n == 0 {
		return 0, false
	}
	return float64(c.Federated) * 100 / float64(n), true
}

// ShareText is Share for a table cell: "62.5%", or "–" without data.
func (c authCell) ShareText() string {
	if v, ok := c.Share(); ok {
		return pct(v)
	}
	return "–"
}

// Count is the number of authentications.
func (c authCell) Count() int64 { return c.Federated + c.Static }

type authWeek struct {
	Start time.Time
	Cells []authCell
}

func envLabel(env string) string {
	if env == "" {
		return "(none)"
	}
	return env
}

// authShareOverview reads the authentication trend and builds the panel;
// nil when no authentication was recorded in the span.
func (c *Console) authShareOverview(ctx context.Context, now time.Time) (*authShare, error) {
	end := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	from := end.Add(-time.Duration(trendWeeks) * week)
	days, err := c.cfg.Dashboard.AuthTrend(ctx, from, end)
	if err != nil {
		return nil, err
	}
	return buildAuthShare(days, from, trendWeeks), nil
}

const week = 7 * 24 * time.Hour

// buildAuthShare sums days into weeks from from, per environment.
func buildAuthShare(days []steward.AuthDay, from time.Time, weeks int) *authShare {
	if len(days) == 0 {
		return nil
	}
	totals := map[string]*authCell{}
	cells := map[string][]authCell{}
	d := &authShare{From: from}
	for _, a := range days {
		w := int(a.Day.Sub(from) / week)
		if w < 0 || w >= weeks {
			continue
		}
		t := totals[a.Environment]
		if t == nil {
			t = &authCell{Env: a.Environment}
			totals[a.Environment] = t
			cells[a.Environment] = make([]authCell, weeks)
		}
		t.Federated += a.Federated
		t.Static += a.Static
		cells[a.Environment][w].Federated += a.Federated
		cells[a.Environment][w].Static += a.Static
		d.Total.Federated += a.Federated
		d.Total.Static += a.Static
	}
	if len(totals) == 0 {
		return nil
	}
	for _, t := range totals {
		d.Envs = append(d.Envs, *t)
	}
	slices.SortFunc(d.Envs, func(a, b authCell) int { return cmp.Or(cmp.Compare(b.Count(), a.Count()), cmp.Compare(a.Env, b.Env)) })
	for i := range weeks {
		wk := authWeek{Start: from.Add(time.Duration(i) * week)}
		for _, e := range d.Envs {
			cell := cells[e.Env][i]
			cell.Env = e.Env
			wk.Cells = append(wk.Cells, cell)
		}
		d.Weeks = append(d.Weeks, wk)
	}
	var series [][]point
	for i, e := range d.Envs {
		if i == authChartSeries {
			break
		}
		d.Series = append(d.Series, authSeries{Env: envLabel(e.Env), Class: fmt.Sprintf("s%d", i)})
		var pts []point
		for _, wk := range d.Weeks {
			if v, ok := wk.Cells[i].Share(); ok {
				pts = append(pts, point{T: wk.Start, V: v})
			}
		}
		series = append(series, pts)
	}
	d.Chart = shareChart("Share of authentications with federated or exchanged tokens, per week and environment", d.Series, series, from, weeks)
	return d
}

// shareChart draws one line of weekly percentages per series on a fixed
// 0-100 % scale; a week without authentications leaves a gap.
func shareChart(title string, series []authSeries, pts [][]point, from time.Time, weeks int) template.HTML {
	var desc []string
	for i, s := range series {
		var vs []string
		for _, p := range pts[i] {
			vs = append(vs, p.T.Format("2006-01-02")+" "+pct(p.V))
		}
		desc = append(desc, s.Env+": "+strings.Join(vs, ", "))
	}
	var b strings.Builder
	svgOpen(&b, title, strings.Join(desc, "; "))
	axes(&b, 100, "%")
	plotW := float64(chartW - padL - padR)
	plotH := float64(chartH - padT - padB)
	x := func(t time.Time) float64 {
		return float64(padL) + plotW*(float64(t.Sub(from)/week)+0.5)/float64(weeks)
	}
	y := func(v float64) float64 { return float64(padT) + plotH - plotH*v/100 }
	for i, s := range series {
		var path strings.Builder
		prev := -2
		for _, p := range pts[i] {
			w := int(p.T.Sub(from) / week)
			cmd := "L"
			if w != prev+1 {
				cmd = "M"
			}
			if path.Len() > 0 {
				path.WriteByte(' ')
			}
			fmt.Fprintf(&path, "%s%.1f %.1f", cmd, x(p.T), y(p.V))
			prev = w
			fmt.Fprintf(&b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="2.5"><title>%s, week of %s: %s</title></circle>`,
				s.Class, x(p.T), y(p.V), esc(s.Env), p.T.Format("2 Jan 2006"), pct(p.V))
		}
		fmt.Fprintf(&b, `<path class="line %s" d="%s"/>`, s.Class, path.String())
	}
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d">%s</text>`, padL, chartH-8, from.Format("2 Jan 2006"))
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`, chartW-padR, chartH-8, "this week")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
