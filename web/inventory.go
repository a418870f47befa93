package web

import (
	"cmp"
	"encoding/csv"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// column is one column the inventory table and its CSV export can show.
type column struct {
	Key, Title string
	Sort       string // the sort key, when sortable
	Default    bool
	value      func(i *steward.Identity) string
}

func tstr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

var columns = []column{
	{Key: "name", Title: "Name", Sort: "name", Default: true, value: func(i *steward.Identity) string { return i.Name }},
	{Key: "kind", Title: "Kind", Default: true, value: func(i *steward.Identity) string { return string(i.Kind) }},
	{Key: "provider", Title: "Provider", Default: true, value: func(i *steward.Identity) string { return i.Provider }},
	{Key: "environment", Title: "Environment", Default: true, value: func(i *steward.Identity) string { return i.Environment }},
	{Key: "sensitivity", Title: "Tier", Default: true, value: func(i *steward.Identity) string { return string(i.Sensitivity) }},
	{Key: "status", Title: "Status", Default: true, value: func(i *steward.Identity) string { return string(i.Status) }},
	{Key: "owner", Title: "Owner", Default: true, value: func(i *steward.Identity) string { return i.OwnerID }},
	{Key: "team", Title: "Team", value: func(i *steward.Identity) string { return i.Team }},
	{Key: "source", Title: "Source", value: func(i *steward.Identity) string { return string(i.Source) }},
	{Key: "external_ref", Title: "External reference", value: func(i *steward.Identity) string { return i.ExternalRef }},
	{Key: "created_at", Title: "Created", Sort: "created_at", value: func(i *steward.Identity) string { return i.CreatedAt.UTC().Format(time.RFC3339) }},
	{Key: "expires_at", Title: "Expires", Sort: "expires_at", Default: true, value: func(i *steward.Identity) string { return tstr(i.ExpiresAt) }},
	{Key: "last_rotated_at", Title: "Last rotated", Sort: "last_rotated_at", value: func(i *steward.Identity) string { return tstr(i.LastRotatedAt) }},
	{Key: "last_used_at", Title: "Last used", Sort: "last_used_at", Default: true, value: func(i *steward.Identity) string { return tstr(i.LastUsedAt) }},
	{Key: "purpose", Title: "Purpose", value: func(i *steward.Identity) string { return i.Purpose }},
	{Key: "id", Title: "ID", value: func(i *steward.Identity) string { return i.ID }},
}

func defaultColumns() []string {
	var out []string
	for _, c := range columns {
		if c.Default {
			out = append(out, c.Key)
		}
	}
	return out
}

// filterParams are the inventory's query parameters (the API's filters).
var filterParams = []string{"q", "owner_id", "team", "kind", "provider", "environment", "status", "sensitivity", "source", "expires_before", "unused_since", "sort", "limit"}

// parseTime accepts a date (2026-01-31, from a date input) or RFC 3339.
func parseTime(name, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, steward.FieldError(name, "must be a date (2026-01-31) or an RFC 3339 time, not %q", s)
	}
	return &t, nil
}

// identityFilter reads the inventory filters from the query.
func identityFilter(q url.Values) (steward.IdentityFilter, error) {
	g := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	f := steward.IdentityFilter{
		Query: g("q"), OwnerID: cmp.Or(g("owner_id"), g("owner")), Team: g("team"), Kind: steward.Kind(g("kind")),
		Provider: g("provider"), Environment: g("environment"), Status: steward.Status(g("status")),
		Sensitivity: steward.Sensitivity(g("sensitivity")), Source: steward.Source(g("source")), Sort: g("sort"), Cursor: g("cursor"),
	}
	var err error
	if f.ExpiresBefore, err = parseTime("expires_before", g("expires_before")); err != nil {
		return f, err
	}
	if f.UnusedSince, err = parseTime("unused_since", g("unused_since")); err != nil {
		return f, err
	}
	if l := g("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > steward.MaxLimit {
			return f, steward.FieldError("limit", "must be between 1 and %d", steward.MaxLimit)
		}
		f.Limit = n
	}
	return f, f.Validate()
}

// chosenColumns returns the requested columns in table order.
func chosenColumns(q url.Values) []column {
	want := q["cols"]
	if len(want) == 0 {
		want = defaultColumns()
	}
	var out []column
	for _, c := range columns {
		if c.Key == "name" || slices.Contains(want, c.Key) {
			out = append(out, c)
		}
	}
	return out
}

type cell struct {
	Text  string
	Href  string
	Class string
	Badge string // shown as a badge of this class
	Title string
}

type row struct {
	ID    string
	Cells []cell
}

type header struct {
	Title    string
	SortHref string
	Sorted   string // "ascending", "descending" or ""
}

type option struct {
	Value, Label string
}

type inventoryData struct {
	Filter     steward.IdentityFilter
	Params     url.Values
	Headers    []header
	Rows       []row
	Columns    []column
	Chosen     []string
	NextHref   string
	FirstHref  string
	CSVHref    string
	Kinds      []steward.Kind
	Statuses   []steward.Status
	Tiers      []steward.Sensitivity
	Sources    []steward.Source
	Sorts      []option
	Owners     []option
	Active     int // filters in use
	FilterErr  string
	ExpiresVal string
	Self       string
	UnusedVal  string
}

func (c *Console) ownerOptions(v *View, includeDeparted bool) ([]option, map[string]*steward.Owner, error) {
	page, err := c.cfg.Owners.ListOwners(v.Context(), steward.OwnerFilter{Limit: steward.MaxLimit})
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]*steward.Owner{}
	var opts []option
	for _, o := range page.Items {
		byID[o.ID] = o
		if o.Status != steward.OwnerActive && !includeDeparted {
			continue
		}
		label := o.Name
		if o.Email != "" {
			label += " <" + o.Email + ">"
		}
		if o.Status == steward.OwnerDeparted {
			label += " (departed)"
		}
		opts = append(opts, option{Value: o.ID, Label: label})
	}
	slices.SortFunc(opts, func(a, b option) int { return strings.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label)) })
	return opts, byID, nil
}

// inventory renders the filtered, sorted, paginated identity table.
func (c *Console) inventory(w http.ResponseWriter, r *http.Request, v *View) error {
	q := r.URL.Query()
	d := &inventoryData{Params: q, Kinds: steward.Kinds, Statuses: steward.Statuses, Tiers: steward.Sensitivities, Sources: steward.Sources}
	f, ferr := identityFilter(q)
	if ferr != nil {
		v.Status = statusOf(ferr)
		d.FilterErr = messageOf(ferr)
	}
	d.Filter = f
	d.Self = withParams(q)
	d.ExpiresVal, d.UnusedVal = q.Get("expires_before"), q.Get("unused_since")
	for _, k := range filterParams {
		if k != "sort" && k != "limit" && q.Get(k) != "" {
			d.Active++
		}
	}
	d.Columns = columns
	cols := chosenColumns(q)
	for _, col := range cols {
		d.Chosen = append(d.Chosen, col.Key)
	}
	for _, s := range steward.IdentitySorts {
		d.Sorts = append(d.Sorts, option{s, "oldest first by " + strings.ReplaceAll(s, "_", " ")}, option{"-" + s, "newest first by " + strings.ReplaceAll(s, "_", " ")})
	}
	// Headers sort by their column, toggling the direction.
	for _, col := range cols {
		h := header{Title: col.Title}
		if col.Sort != "" {
			next := col.Sort
			switch f.Sort {
			case col.Sort:
				h.Sorted, next = "ascending", "-"+col.Sort
			case "-" + col.Sort:
				h.Sorted = "descending"
			}
			h.SortHref = withParams(q, "sort", next, "cursor", "")
		}
		d.Headers = append(d.Headers, h)
	}
	opts, owners, err := c.ownerOptions(v, true)
	if err != nil {
		return err
	}
	d.Owners = opts
	if ferr == nil {
		page, err := c.cfg.Identities.ListIdentities(v.Context(), f)
		if err != nil {
			v.Status = statusOf(err)
			if v.Status >= 500 {
				return err
			}
			d.FilterErr = messageOf(err)
		} else {
			for _, i := range page.Items {
				d.Rows = append(d.Rows, tableRow(i, cols, owners, v.Now))
			}
			if page.NextCursor != "" {
				d.NextHref = withParams(q, "cursor", page.NextCursor)
			}
		}
	}
	if q.Get("cursor") != "" {
		d.FirstHref = withParams(q, "cursor", "")
	}
	csvQ := withParams(q, "cursor", "", "limit", "")
	d.CSVHref = "/identities.csv" + strings.TrimPrefix(csvQ, "/identities")
	return c.renderPage(w, r, v, "identities", "Identities", d)
}

func tableRow(i *steward.Identity, cols []column, owners map[string]*steward.Owner, now time.Time) row {
	rw := row{ID: i.ID}
	for _, col := range cols {
		cl := cell{Text: col.value(i)}
		switch col.Key {
		case "name":
			cl.Href = "/identities/" + url.PathEscape(i.ID)
		case "status":
			cl.Badge = "badge st-" + string(i.Status)
		case "sensitivity":
			cl.Badge = "badge tier-" + string(i.Sensitivity)
		case "owner":
			if i.OwnerID == "" {
				cl.Text, cl.Class = "unowned", "muted warn-text"
			} else if o := owners[i.OwnerID]; o != nil {
				cl.Text = o.Name
				cl.Href = invURL("owner_id", o.ID)
				if o.Status == steward.OwnerDeparted {
					cl.Text += " (departed)"
					cl.Class = "warn-text"
				}
			}
		case "expires_at", "last_used_at", "last_rotated_at", "created_at":
			var t *time.Time
			switch col.Key {
			case "expires_at":
				t = i.ExpiresAt
			case "last_used_at":
				t = i.LastUsedAt
			case "last_rotated_at":
				t = i.LastRotatedAt
			default:
				t = &i.CreatedAt
			}
			if t == nil {
				cl.Text, cl.Class = "—", "muted"
				if col.Key == "last_used_at" {
					cl.Text = "never"
				}
			} else {
				cl.Text, cl.Title = ago(now, t), t.UTC().Format("2006-01-02 15:04 UTC")
				if col.Key == "expires_at" && t.Before(now.Add(7*24*time.Hour)) && i.Status == steward.StatusActive {
					cl.Class = "warn-text"
				}
			}
		}
		rw.Cells = append(rw.Cells, cl)
	}
	return rw
}

// nextPageHref links to the page after this one: path with the query q
// and cursor.
func nextPageHref(path string, q url.Values, cursor string) string {
	n := maps.Clone(q)
	if n == nil {
		n = url.Values{}
	}
	n.Set("cursor", cursor)
	return path + "?" + n.Encode()
}

// withParams returns the inventory URL of q with some parameters replaced
// (an empty value removes one).
func withParams(q url.Values, kv ...string) string {
	n := url.Values{}
	for k, vs := range q {
		n[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			n.Del(kv[i])
		} else {
			n.Set(kv[i], kv[i+1])
		}
	}
	n.Del("msg")
	if len(n) == 0 {
		return "/identities"
	}
	return "/identities?" + n.Encode()
}

// csvSafe defuses spreadsheet formulas in exported cells.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// maxCSVRows bounds one export.
const maxCSVRows = 200000

// inventoryCSV streams the filtered inventory as CSV with the chosen columns.
func (c *Console) inventoryCSV(w http.ResponseWriter, r *http.Request, v *View) error {
	q := r.URL.Query()
	f, err := identityFilter(q)
	if err != nil {
		return err
	}
	f.Limit, f.Cursor = steward.MaxLimit, ""
	cols := chosenColumns(q)
	page, err := c.cfg.Identities.ListIdentities(v.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="steward-identities-`+v.Now.Format("20060102-1504")+`.csv"`)
	cw := csv.NewWriter(w)
	rec := make([]string, len(cols))
	for n, col := range cols {
		rec[n] = col.Key
	}
	_ = cw.Write(rec)
	rows := 0
	for {
		for _, i := range page.Items {
			for n, col := range cols {
				rec[n] = csvSafe(col.value(i))
			}
			_ = cw.Write(rec)
			rows++
		}
		if page.NextCursor == "" || rows >= maxCSVRows || r.Context().Err() != nil {
			break
		}
		f.Cursor = page.NextCursor
		if page, err = c.cfg.Identities.ListIdentities(v.Context(), f); err != nil {
			c.log.ErrorContext(r.Context(), "web csv export", "err", err)
			break
		}
	}
	cw.Flush()
	return nil
}

// maxBulk bounds one bulk action.
const maxBulk = 200

type bulkResult struct {
	ID, Name string
	Err      string
}

type bulkData struct {
	Action     string
	Verb       string
	Identities []*steward.Identity
	Missing    []string
	Owners     []option
	OwnerID    string
	Reason     string
	Done       bool
	Results    []bulkResult
	OK         int
	Back       string
}

// bulk confirms, then applies, an action to the selected identities.
func (c *Console) bulk(w http.ResponseWriter, r *http.Request, v *View) error {
	if !v.CanWrite() {
		return errorf(http.StatusForbidden, "role %s may not change identities", v.User.Role)
	}
	form := r.PostForm
	d := &bulkData{Action: form.Get("action"), OwnerID: form.Get("owner_id"), Reason: strings.TrimSpace(form.Get("reason")), Back: safeNext(form.Get("back"))}
	if d.Back == "/" {
		d.Back = "/identities"
	}
	switch d.Action {
	case "assign":
		d.Verb = "Assign an owner to"
		if !v.IsStaff() {
			return errorf(http.StatusForbidden, "an owner cannot reassign identities")
		}
	case "suspend":
		d.Verb = "Suspend"
	default:
		return errorf(http.StatusBadRequest, "choose an action: assign an owner or suspend")
	}
	ids := slices.Compact(slices.Sorted(slices.Values(form["id"])))
	if len(ids) == 0 {
		return errorf(http.StatusBadRequest, "select at least one identity first")
	}
	if len(ids) > maxBulk {
		return errorf(http.StatusBadRequest, "select at most %d identities at a time", maxBulk)
	}
	for _, id := range ids {
		i, err := c.cfg.Identities.GetIdentity(v.Context(), id)
		if err != nil {
			if code := steward.ErrorCode(err); code == steward.ENOTFOUND || code == steward.EFORBIDDEN {
				d.Missing = append(d.Missing, id)
				continue
			}
			return err
		}
		d.Identities = append(d.Identities, i)
	}
	if d.Action == "assign" {
		opts, _, err := c.ownerOptions(v, false)
		if err != nil {
			return err
		}
		d.Owners = opts
	}
	if form.Get("confirm") == "yes" {
		switch {
		case d.Reason == "":
			v.Error = "Give a reason; it is recorded with every change."
		case d.Action == "assign" && d.OwnerID == "":
			v.Error = "Choose the new owner."
		default:
			d.Done = true
			for _, i := range d.Identities {
				var err error
				if d.Action == "assign" {
					_, err = c.cfg.Identities.UpdateIdentity(v.Context(), i.ID, steward.IdentityPatch{OwnerID: steward.Some(d.OwnerID), Reason: d.Reason})
				} else {
					_, err = c.cfg.Identities.TransitionIdentity(v.Context(), i.ID, steward.TransitionSuspend, steward.TransitionRequest{Reason: shorten(d.Reason, steward.MaxNameLen-3)})
				}
				res := bulkResult{ID: i.ID, Name: i.Name}
				if err != nil {
					if statusOf(err) >= 500 {
						return err
					}
					res.Err = messageOf(err)
				} else {
					d.OK++
				}
				d.Results = append(d.Results, res)
			}
			c.invalidateDashboard()
		}
		if v.Error != "" {
			v.Status = http.StatusUnprocessableEntity
		}
	}
	return c.renderPage(w, r, v, "bulk", d.Verb+" identities", d)
}

// invalidateDashboard makes the next dashboard request refresh the numbers.
func (c *Console) invalidateDashboard() {
	c.dashMu.Lock()
	c.dashAt = time.Time{}
	c.dashMu.Unlock()
}
