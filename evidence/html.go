package evidence

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"
)

// maxHTMLRows caps each HTML table; the CSV files hold every row.
const maxHTMLRows = 200

var page = template.Must(template.New("index").Funcs(template.FuncMap{
	"t":     tstr,
	"tp":    tptr,
	"limit": func(n int) int { return min(n, maxHTMLRows) },
	"join":  func(s []string) string { return strings.Join(s, ", ") },
	"seqs": func(s []int64) string {
		out := make([]string, len(s))
		for n, q := range s {
			out[n] = itoa(q)
		}
		return strings.Join(out, " ")
	},
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Steward audit evidence {{t .From}} to {{t .To}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.muted{color:#57606a}.kpi{display:inline-block;margin:.4rem 1.6rem .4rem 0}.kpi b{font-size:1.5rem;display:block}
svg{max-width:100%;height:auto}.bad{color:#b42318;font-weight:600}
</style></head><body>
<h1>Non-human identity audit evidence</h1>
<p class="muted">Period {{t .From}} to {{t .To}} · generated {{t .GeneratedAt}} · audit chain head seq {{.HeadSeq}} · every file of this pack is listed with its SHA-256 in manifest.json</p>

<h2>Ownership coverage (OWASP NHI1:2025 · NIST CSF GV.RR-02, PR.AA-01)</h2>
<div class="kpi"><b>{{pct .Coverage.Percent}}</b>owned by an active owner</div>
<div class="kpi"><b>{{.Coverage.Identities}}</b>identities (not revoked)</div>
<div class="kpi"><b>{{.Coverage.Unowned}}</b>without owner</div>
<div class="kpi"><b>{{.Coverage.Orphaned}}</b>owner departed</div>
{{.CoverageChart}}
<h3>Identities without an active owner ({{len .Unowned}}{{if gt (len .Unowned) 200}}, first 200; all in ownership.csv{{end}})</h3>
<table><tr><th>Identity</th><th>Name</th><th>Kind</th><th>Provider</th><th>Env</th><th>Tier</th><th>Status</th><th>Problem</th></tr>
{{range $n, $r := .Unowned}}{{if lt $n 200}}<tr><td>{{$r.ID}}</td><td>{{$r.Name}}</td><td>{{$r.Kind}}</td><td>{{$r.Provider}}</td><td>{{$r.Environment}}</td><td>{{$r.Sensitivity}}</td><td>{{$r.Status}}</td><td>{{$r.Problem}}</td></tr>{{end}}{{end}}
</table>

<h2>Credential age (OWASP NHI7:2025 · NIST CSF PR.AA-01)</h2>
{{.AgeChart}}

<h2>Rotation evidence ({{len .Rotations}})</h2>
<table><tr><th>Seq</th><th>Time</th><th>Actor</th><th>Identity</th><th>Credential</th><th>Old fingerprint</th><th>New fingerprint</th></tr>
{{range $n, $r := .Rotations}}{{if lt $n 200}}<tr><td>{{$r.Seq}}</td><td>{{t $r.Time}}</td><td>{{$r.Actor}}</td><td>{{$r.IdentityID}}</td><td>{{$r.CredentialID}}</td><td>{{$r.OldFingerprint}}</td><td>{{$r.NewFingerprint}}</td></tr>{{end}}{{end}}
</table>

<h2>Revocation proof ({{len .Revocations}})</h2>
<table><tr><th>Seq</th><th>Time</th><th>Actor</th><th>Subject</th><th>Identity</th><th>Credential</th><th>Reason</th><th>Post-revocation check</th><th>Where</th></tr>
{{range $n, $r := .Revocations}}{{if lt $n 200}}<tr><td>{{$r.Seq}}</td><td>{{t $r.Time}}</td><td>{{$r.Actor}}</td><td>{{$r.SubjectType}}</td><td>{{$r.IdentityID}}</td><td>{{$r.CredentialID}}</td><td>{{$r.Reason}}</td><td>{{$r.Check}}</td><td>{{$r.Where}}</td></tr>{{end}}{{end}}
</table>

<h2>Rotations performed and verified ({{len .RotationsVerified}}{{if gt (len .RotationsVerified) 200}}, first 200; all in rotations_verified.csv{{end}})</h2>
<p class="muted">Rotations Steward performed at the provider: the new secret tested there, the old one checked against the provider afterwards.</p>
<table><tr><th>Rotation</th><th>Time</th><th>Identity</th><th>Credential</th><th>Old fingerprint</th><th>New fingerprint</th><th>Test of the new secret</th><th>Old secret refused</th><th>Audit seqs</th></tr>
{{range $n, $r := .RotationsVerified}}{{if lt $n 200}}<tr><td>{{$r.RotationID}}</td><td>{{t $r.Time}}</td><td>{{$r.IdentityID}}</td><td>{{$r.CredentialID}}</td><td>{{$r.OldFingerprint}}</td><td>{{$r.NewFingerprint}}</td><td>{{$r.TestResult}}</td><td{{if not $r.OldRefused}} class="bad"{{end}}>{{if $r.OldRefused}}yes{{else}}NO{{end}}: {{$r.Proof}}</td><td>{{seqs $r.Seqs}}</td></tr>{{end}}{{end}}
</table>

<h2>Revocations proven ({{len .RevocationsProven}})</h2>
<div class="kpi"><b>{{.RevocationCounts.Steward}}</b>enforced by Steward</div>
<div class="kpi"><b>{{.RevocationCounts.Provider}}</b>confirmed by the provider</div>
<div class="kpi"><b>{{.RevocationCounts.InventoryOnly}}</b>marked in the inventory only (not proven)</div>
<div class="kpi"><b>{{.RevocationCounts.Unproven}}</b>failed their check</div>
<p class="muted">Only revocations Steward enforces or the provider confirmed count as proven; a credential revoked in the inventory only may still work where it is used.</p>
<table><tr><th>Seq</th><th>Time</th><th>Actor</th><th>Subject</th><th>Id</th><th>Identity</th><th>Where</th><th>Proof</th></tr>
{{range $n, $r := .RevocationsProven}}{{if lt $n 200}}<tr><td>{{$r.Seq}}</td><td>{{t $r.Time}}</td><td>{{$r.Actor}}</td><td>{{$r.SubjectType}}</td><td>{{$r.SubjectID}}</td><td>{{$r.IdentityID}}</td><td>{{$r.Where}}</td><td>{{$r.Proof}}</td></tr>{{end}}{{end}}
</table>

<h2>Open findings by OWASP NHI Top 10 (2025)</h2>
{{.OWASPChart}}
<table><tr><th>OWASP id</th><th>Risk</th><th>Open</th><th>Acknowledged</th><th>Waived</th></tr>
{{range .FindingsByOWASP}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.Open}}</td><td>{{.Acknowledged}}</td><td>{{.Waived}}</td></tr>{{end}}
</table>
<h3>By NIST CSF 2.0 subcategory</h3>
<table><tr><th>CSF id</th><th>Open</th><th>Acknowledged</th><th>Waived</th></tr>
{{range .FindingsByCSF}}<tr><td>{{.ID}}</td><td>{{.Open}}</td><td>{{.Acknowledged}}</td><td>{{.Waived}}</td></tr>{{end}}
</table>
<h3>Unresolved findings ({{len .Findings}}{{if gt (len .Findings) 200}}, first 200; all in findings.csv{{end}})</h3>
<table><tr><th>Finding</th><th>Check</th><th>Severity</th><th>Status</th><th>Identity</th><th>OWASP</th><th>CSF</th></tr>
{{range $n, $f := .Findings}}{{if lt $n 200}}<tr><td>{{$f.ID}}</td><td>{{$f.Check}}</td><td>{{$f.Severity}}</td><td>{{$f.Status}}</td><td>{{$f.IdentityID}}</td><td>{{$f.OWASP}}</td><td>{{join $f.CSF}}</td></tr>{{end}}{{end}}
</table>

<h2>Waivers (exceptions, NIST CSF ID.RA-07) ({{len .Waivers}})</h2>
<table><tr><th>Waiver</th><th>Finding</th><th>OWASP</th><th>Reason</th><th>Approver</th><th>Until</th><th>Granted</th><th>By</th><th>Ended</th></tr>
{{range .Waivers}}<tr><td>{{.ID}}</td><td>{{.FindingID}}</td><td>{{.OWASP}}</td><td>{{.Reason}}</td><td>{{.Approver}}</td><td>{{t .Until}}</td><td>{{t .CreatedAt}}</td><td>{{.CreatedBy}}</td><td>{{tp .EndedAt}} {{.EndReason}}</td></tr>{{end}}
</table>

<h2>Access reviews (NIST CSF PR.AA-05) ({{len .Reviews}})</h2>
<table><tr><th>Campaign</th><th>Name</th><th>Status</th><th>Deadline</th><th>Items</th><th>Keep</th><th>Reduce</th><th>Revoke</th><th>Reassign</th><th>Pending</th><th>Overdue</th></tr>
{{range .Reviews}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.Status}}</td><td>{{t .Deadline}}</td><td>{{.Items}}</td><td>{{.Keep}}</td><td>{{.Reduce}}</td><td>{{.Revoke}}</td><td>{{.Reassign}}</td><td>{{.Pending}}</td><td{{if .Overdue}} class="bad"{{end}}>{{.Overdue}}</td></tr>{{end}}
</table>
<p class="muted">Files: ownership.csv, credential_ages.csv, rotations.csv, revocations.csv, findings.csv, findings_by_id.csv, waivers.csv, reviews.csv, evidence.json, manifest.json.</p>
</body></html>
`))

type view struct {
	*Data
	CoverageChart, AgeChart, OWASPChart template.HTML
}

func renderHTML(d *Data) ([]byte, error) {
	v := view{Data: d, CoverageChart: lineChart("Ownership coverage over time (% owned)", d.CoverageTrend), AgeChart: barChart("Active credentials by age since last rotation", bucketBars(d.CredentialAges)),
		OWASPChart: barChart("Unresolved findings by OWASP NHI id", owaspBars(d.FindingsByOWASP))}
	var b bytes.Buffer
	if err := page.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type bar struct {
	label string
	value int
}

func bucketBars(bs []Bucket) []bar {
	out := make([]bar, len(bs))
	for n, b := range bs {
		out[n] = bar{b.Label, b.Count}
	}
	return out
}

func owaspBars(cs []FindingCount) []bar {
	out := make([]bar, len(cs))
	for n, c := range cs {
		out[n] = bar{strings.TrimSuffix(c.ID, ":2025"), c.Open + c.Acknowledged + c.Waived}
	}
	return out
}

// barChart draws a vertical bar chart as inline SVG.
func barChart(title string, bars []bar) template.HTML {
	const w, h, top, bottom, left = 720, 260, 30, 40, 40
	peak := 1
	for _, b := range bars {
		peak = max(peak, b.value)
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&s, `<text x="%d" y="18" font-size="14" font-weight="600">%s</text>`, left, html.EscapeString(title))
	fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#8c959f"/>`, left, h-bottom, w-10, h-bottom)
	if len(bars) > 0 {
		slot := float64(w-left-10) / float64(len(bars))
		for n, b := range bars {
			bh := float64(h-top-bottom) * float64(b.value) / float64(peak)
			x := float64(left) + slot*float64(n) + slot*0.15
			fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#0969da"/>`, x, float64(h-bottom)-bh, slot*0.7, bh)
			fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%d</text>`, x+slot*0.35, float64(h-bottom)-bh-4, b.value)
			fmt.Fprintf(&s, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, x+slot*0.35, h-bottom+16, html.EscapeString(b.label))
		}
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

// lineChart draws coverage over time (0-100 %) as inline SVG.
func lineChart(title string, pts []TrendPoint) template.HTML {
	const w, h, top, bottom, left, right = 720, 240, 30, 40, 46, 20
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&s, `<text x="%d" y="18" font-size="14" font-weight="600">%s</text>`, left, html.EscapeString(title))
	for _, p := range []int{0, 50, 100} {
		y := float64(h-bottom) - float64(h-top-bottom)*float64(p)/100
		fmt.Fprintf(&s, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d0d7de"/><text x="%d" y="%.1f" font-size="11" text-anchor="end">%d%%</text>`,
			left, y, w-right, y, left-6, y+4, p)
	}
	if len(pts) > 0 {
		first, last := pts[0].Time, pts[len(pts)-1].Time
		span := last.Sub(first)
		var path strings.Builder
		for n, p := range pts {
			x := float64(left)
			if span > 0 {
				x += float64(w-left-right) * float64(p.Time.Sub(first)) / float64(span)
			} else if len(pts) == 1 {
				x = float64(w-right) - 2
			}
			y := float64(h-bottom) - float64(h-top-bottom)*p.Percent/100
			if n == 0 {
				fmt.Fprintf(&path, "M%.1f %.1f", x, y)
			} else {
				fmt.Fprintf(&path, " L%.1f %.1f", x, y)
			}
			fmt.Fprintf(&s, `<circle cx="%.1f" cy="%.1f" r="3" fill="#1a7f37"/>`, x, y)
		}
		fmt.Fprintf(&s, `<path d="%s" fill="none" stroke="#1a7f37" stroke-width="2"/>`, path.String())
		fmt.Fprintf(&s, `<text x="%d" y="%d" font-size="11">%s</text><text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>`,
			left, h-bottom+16, first.UTC().Format(time.DateOnly), w-right, h-bottom+16, last.UTC().Format(time.DateOnly))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}
