package web

import (
	"cmp"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
)

// trendWeeks is how many weeks the trend charts cover.
const trendWeeks = 26

// dashboardTTL is how long the estate-wide dashboard numbers are reused:
// they are the same for every staff operator.
const dashboardTTL = 10 * time.Second

type tile struct {
	Label string
	Value string
	Note  string
	Href  string
	Tone  string // "", "good", "warn", "bad"
}

type breakdownRow struct {
	Key   string
	Count int64
	Href  string
	Share float64 // 0..100
}

type breakdown struct {
	Title string
	Rows  []breakdownRow
}

type tierRow struct {
	Tier            steward.Sensitivity
	Total           int64
	RotationOverdue int64
	RotationHref    string
	RotationPeriod  steward.Duration
	Dormant         int64
	DormantHref     string
	Dormancy        steward.Duration
}

type dashboardData struct {
	Scope      string // "estate" or "yours"
	Truncated  bool
	AsOf       time.Time
	Tiles      []tile
	Breakdowns []breakdown
	Tiers      []tierRow
	Coverage   template.HTML
	Created    template.HTML
	Changes    template.HTML
	CredAge    template.HTML
	HasHistory bool
	// Findings is the unresolved findings by OWASP id and severity, and
	// FindingsTrend their daily count (both only when posture runs).
	Findings      template.HTML
	FindingsTrend template.HTML
	// AuthShare is the share of federated authentications by environment
	// (estate only; nil before any authentication).
	AuthShare *authShare
	Extra     []tile
}

// dashboard renders the estate at a glance.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, v *View) error {
	var d *dashboardData
	var err error
	if v.IsStaff() {
		d, err = c.estateDashboard(r, v.Now)
	} else {
		d, err = c.ownerDashboard(r, v)
	}
	if err != nil {
		return err
	}
	return c.renderPage(w, r, v, "dashboard", "Dashboard", d)
}

// estateDashboard returns the dashboard of the whole inventory. The numbers
// come from aggregate queries that take time on a large inventory, so they
// are computed at most every dashboardTTL and served stale while a refresh
// runs in the background (the page shows when they were computed); only
// the very first request waits for them.
func (c *Console) estateDashboard(r *http.Request, now time.Time) (*dashboardData, error) {
	c.dashMu.Lock()
	d, at := c.dashCache, c.dashAt
	fresh := d != nil && now.Sub(at) < dashboardTTL && !now.Before(at.Add(-time.Second))
	if d != nil && !fresh && !c.dashBusy {
		c.dashBusy = true
		go func() {
			if _, err := c.computeDashboard(context.WithoutCancel(r.Context())); err != nil {
				c.log.Error("web dashboard refresh", "err", err)
			}
		}()
	}
	c.dashMu.Unlock()
	if d != nil {
		return d, nil
	}
	return c.computeDashboard(r.Context())
}

// Refresh recomputes the estate dashboard now (a warm-up at start).
func (c *Console) Refresh(ctx context.Context) error {
	_, err := c.computeDashboard(ctx)
	return err
}

func (c *Console) computeDashboard(ctx context.Context) (*dashboardData, error) {
	defer func() {
		c.dashMu.Lock()
		c.dashBusy = false
		c.dashMu.Unlock()
	}()
	now := c.cfg.Now().UTC()
	st, err := c.cfg.Stats(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := c.cfg.Dashboard.DashboardCounts(ctx, now, c.cfg.Policy, trendWeeks)
	if err != nil {
		return nil, err
	}
	hist, err := c.cfg.Dashboard.ListDailyStats(ctx, now.Add(-90*24*time.Hour))
	if err != nil {
		return nil, err
	}
	d := c.buildDashboard(st, counts, hist, now)
	d.Scope = "estate"
	if err := c.findingsOverview(ctx, d, hist); err != nil {
		c.log.WarnContext(ctx, "web dashboard", "part", "findings", "err", err)
	}
	if a, err := c.authShareOverview(ctx, now); err != nil {
		c.log.WarnContext(ctx, "web dashboard", "part", "auth_share", "err", err)
	} else {
		d.AuthShare = a
	}
	c.dashMu.Lock()
	c.dashCache, c.dashAt = d, now
	c.dashMu.Unlock()
	return d, nil
}

// ownerDashboard summarises an owner's own identities (owners never see
// estate-wide numbers).
func (c *Console) ownerDashboard(r *http.Request, v *View) (*dashboardData, error) {
	page, err := c.cfg.Identities.ListIdentities(r.Context(), steward.IdentityFilter{Limit: steward.MaxLimit})
	if err != nil {
		return nil, err
	}
	st, counts := summarize(page.Items, v.Now, c.cfg.Policy)
	d := c.buildDashboard(st, counts, nil, v.Now)
	d.Scope, d.Truncated = "yours", page.NextCursor != ""
	return d, nil
}

// summarize computes the dashboard numbers of a few identities in memory.
func summarize(items []*steward.Identity, now time.Time, p steward.Policy) (*steward.InventoryStats, *steward.DashboardCounts) {
	st := &steward.InventoryStats{ByStatus: map[string]int64{}, ByKind: map[string]int64{}, ByProvider: map[string]int64{},
		BySensitivity: map[string]int64{}, ByEnvironment: map[string]int64{}}
	dc := &steward.DashboardCounts{RotationOverdue: map[steward.Sensitivity]int64{}, Dormant: map[steward.Sensitivity]int64{}}
	for _, i := range items {
		st.Identities++
		st.ByStatus[string(i.Status)]++
		st.ByKind[string(i.Kind)]++
		st.ByProvider[i.Provider]++
		st.BySensitivity[string(i.Sensitivity)]++
		st.ByEnvironment[i.Environment]++
		if i.Status == steward.StatusExpired || (i.Status == steward.StatusActive && i.ExpiresAt != nil && i.ExpiresAt.Before(now)) {
			st.Expired++
		}
		if i.Status != steward.StatusActive {
			continue
		}
		tp := p[i.Sensitivity]
		rotated := i.CreatedAt
		if i.LastRotatedAt != nil {
			rotated = *i.LastRotatedAt
		}
		if rotated.Before(now.Add(-time.Duration(tp.RotationPeriod))) {
			dc.RotationOverdue[i.Sensitivity]++
		}
		used := i.CreatedAt
		if i.LastUsedAt != nil {
			used = *i.LastUsedAt
		}
		if used.Before(now.Add(-time.Duration(tp.Dormancy))) {
			dc.Dormant[i.Sensitivity]++
		}
		if i.ExpiresAt != nil && !i.ExpiresAt.Before(now) {
			if i.ExpiresAt.Before(now.Add(7 * 24 * time.Hour)) {
				dc.Expiring7++
			}
			if i.ExpiresAt.Before(now.Add(30 * 24 * time.Hour)) {
				dc.Expiring30++
			}
		}
	}
	return st, dc
}

// invURL returns the inventory URL with the given filters.
func invURL(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return "/identities"
	}
	return "/identities?" + q.Encode()
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func (c *Console) buildDashboard(st *steward.InventoryStats, dc *steward.DashboardCounts, hist []steward.DailyStats, now time.Time) *dashboardData {
	d := &dashboardData{AsOf: now}
	live := st.Identities - st.ByStatus[string(steward.StatusRevoked)]
	coverage := steward.DailyStats{Live: live, Unowned: st.Unowned}.Coverage() * 100
	tone := "good"
	switch {
	case coverage < 80:
		tone = "bad"
	case coverage < 95:
		tone = "warn"
	}
	warnIf := func(n int64) string {
		if n > 0 {
			return "warn"
		}
		return "good"
	}
	badIf := func(n int64) string {
		if n > 0 {
			return "bad"
		}
		return "good"
	}
	var overdue, dormant int64
	for _, n := range dc.RotationOverdue {
		overdue += n
	}
	for _, n := range dc.Dormant {
		dormant += n
	}
	d.Tiles = []tile{
		{Label: "Identities", Value: num(st.Identities), Note: num(st.ByStatus["active"]) + " active", Href: "/identities"},
		{Label: "Ownership coverage", Value: pct(coverage), Note: num(live-st.Unowned) + " of " + num(live) + " live identities have an owner", Href: invURL("owner_id", "none"), Tone: tone},
		{Label: "Unowned", Value: num(st.Unowned), Note: "no owner recorded", Href: invURL("owner_id", "none"), Tone: badIf(st.Unowned)},
		{Label: "Orphaned", Value: num(st.Orphaned), Note: "owner has departed", Href: "/owners?status=departed", Tone: badIf(st.Orphaned)},
		{Label: "Expiring in 7 days", Value: num(dc.Expiring7), Href: invURL("status", "active", "expires_before", day(now.Add(7*24*time.Hour)), "sort", "expires_at"), Tone: warnIf(dc.Expiring7)},
		{Label: "Expiring in 30 days", Value: num(dc.Expiring30), Href: invURL("status", "active", "expires_before", day(now.Add(30*24*time.Hour)), "sort", "expires_at"), Tone: warnIf(dc.Expiring30)},
		{Label: "Rotation overdue", Value: num(overdue), Note: "past the tier's rotation period", Href: invURL("status", "active", "sort", "last_rotated_at"), Tone: warnIf(overdue)},
		{Label: "Dormant", Value: num(dormant), Note: "not used within the dormancy period", Href: invURL("status", "active", "sort", "last_used_at"), Tone: warnIf(dormant)},
		{Label: "Expired", Value: num(st.Expired), Href: invURL("status", "expired"), Tone: warnIf(st.Expired)},
		{Label: "Suspended", Value: num(st.ByStatus["suspended"]), Href: invURL("status", "suspended")},
	}
	if d.Scope != "yours" && st.Owners > 0 {
		d.Tiles = append(d.Tiles, tile{Label: "Owners", Value: num(st.Owners), Note: num(st.Departed) + " departed", Href: "/owners"})
	}
	mk := func(title, param string, m map[string]int64, order []string) breakdown {
		b := breakdown{Title: title}
		keys := order
		if keys == nil {
			for k := range m {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
		}
		for _, k := range keys {
			n, ok := m[k]
			if !ok {
				continue
			}
			share := 0.0
			if st.Identities > 0 {
				share = float64(n) * 100 / float64(st.Identities)
			}
			label := k
			if label == "" {
				label = "(none)"
			}
			row := breakdownRow{Key: label, Count: n, Share: share, Href: invURL(param, k)}
			if k == "" {
				row.Href = ""
			}
			b.Rows = append(b.Rows, row)
		}
		return b
	}
	tiers := make([]string, len(steward.Sensitivities))
	for i, s := range steward.Sensitivities {
		tiers[i] = string(s)
	}
	statuses := make([]string, len(steward.Statuses))
	for i, s := range steward.Statuses {
		statuses[i] = string(s)
	}
	d.Breakdowns = []breakdown{
		mk("By kind", "kind", st.ByKind, nil),
		mk("By provider", "provider", st.ByProvider, nil),
		mk("By environment", "environment", st.ByEnvironment, nil),
		mk("By tier", "sensitivity", st.BySensitivity, tiers),
		mk("By status", "status", st.ByStatus, statuses),
	}
	for _, t := range steward.Sensitivities {
		tp := c.cfg.Policy[t]
		d.Tiers = append(d.Tiers, tierRow{
			Tier: t, Total: st.BySensitivity[string(t)],
			RotationOverdue: dc.RotationOverdue[t], RotationPeriod: tp.RotationPeriod,
			RotationHref: invURL("sensitivity", string(t), "status", "active", "sort", "last_rotated_at"),
			Dormant:      dc.Dormant[t], Dormancy: tp.Dormancy,
			DormantHref: invURL("sensitivity", string(t), "status", "active", "unused_since", day(now.Add(-time.Duration(tp.Dormancy))), "sort", "last_used_at"),
		})
	}
	if len(hist) >= 2 {
		d.HasHistory = true
		pts := make([]point, len(hist))
		for i, h := range hist {
			pts[i] = point{T: h.Day, V: h.Coverage() * 100}
		}
		d.Coverage = lineChart("Ownership coverage, last 90 days", pts, true)
	}
	if len(dc.CreatedPerWeek) > 0 {
		d.Created = barChart("Identities created per week", dc.CreatedPerWeek, "bar")
	}
	if len(dc.ChangesPerWeek) > 0 {
		d.Changes = barChart("Recorded changes per week", dc.ChangesPerWeek, "bar alt")
	}
	if len(dc.CredentialAge) > 0 {
		d.CredAge = histogram("Active credentials by age since creation or last rotation", dc.CredentialAge)
	}
	return d
}

// findingsOverview adds the findings tile, the OWASP × severity matrix and
// the daily trend to the estate dashboard, when posture runs.
func (c *Console) findingsOverview(ctx context.Context, d *dashboardData, hist []steward.DailyStats) error {
	m, ok := c.cfg.Findings.(FindingMatrixReader)
	if !ok || m == nil {
		return nil
	}
	counts, err := m.FindingMatrix(steward.WithPrincipal(ctx, steward.SystemPrincipal("web")))
	if err != nil {
		return err
	}
	open, severe := FindingTotals(counts)
	tone := "good"
	switch {
	case severe > 0:
		tone = "bad"
	case open > 0:
		tone = "warn"
	}
	d.Tiles = append(d.Tiles, tile{Label: "Open findings", Value: num(open), Note: num(severe) + " critical or high", Href: "/findings", Tone: tone})
	if d.Findings, err = fragment("finding_matrix", &findingsData{Matrix: matrixRows(counts), Severities: severities}); err != nil {
		return err
	}
	var pts []point
	for _, h := range hist {
		if h.OpenFindings >= 0 {
			pts = append(pts, point{T: h.Day, V: float64(h.OpenFindings)})
		}
	}
	if len(pts) >= 2 {
		d.FindingsTrend = lineChart("Unresolved findings, last 90 days", pts, false)
	}
	return nil
}
