package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-nhi/steward"
)

type ownerRow struct {
	O          *steward.Owner
	Identities int64
	Href       string
	Backup     string
}

type ownersData struct {
	Status    string
	Query     string
	Rows      []ownerRow
	NextHref  string
	FirstHref string
}

// owners lists owners with how many identities each holds; departed owners
// with identities are the orphans to reassign.
func (c *Console) owners(w http.ResponseWriter, r *http.Request, v *View) error {
	q := r.URL.Query()
	d := &ownersData{Status: q.Get("status"), Query: strings.TrimSpace(q.Get("q"))}
	f := steward.OwnerFilter{Status: steward.OwnerStatus(d.Status), Query: d.Query, Cursor: q.Get("cursor"), Limit: 100}
	if f.Status != "" && f.Status != steward.OwnerActive && f.Status != steward.OwnerDeparted {
		return steward.FieldError("status", "%q is not one of active, departed", f.Status)
	}
	page, err := c.cfg.Owners.ListOwners(v.Context(), f)
	if err != nil {
		return err
	}
	ids := make([]string, len(page.Items))
	for n, o := range page.Items {
		ids[n] = o.ID
	}
	counts := map[string]int64{}
	if v.IsStaff() {
		if counts, err = c.cfg.Dashboard.OwnerIdentityCounts(v.Context(), ids); err != nil {
			return err
		}
	}
	names := map[string]string{}
	for _, o := range page.Items {
		names[o.ID] = o.Name
	}
	for _, o := range page.Items {
		row := ownerRow{O: o, Identities: counts[o.ID], Href: invURL("owner_id", o.ID)}
		if o.BackupOwnerID != "" {
			row.Backup = names[o.BackupOwnerID]
			if row.Backup == "" {
				row.Backup = o.BackupOwnerID
			}
		}
		d.Rows = append(d.Rows, row)
	}
	base := url.Values{}
	for _, k := range []string{"status", "q"} {
		if q.Get(k) != "" {
			base.Set(k, q.Get(k))
		}
	}
	if page.NextCursor != "" {
		d.NextHref = nextPageHref("/owners", base, page.NextCursor)
	}
	if f.Cursor != "" {
		d.FirstHref = "/owners?" + base.Encode()
	}
	return c.renderPage(w, r, v, "owners", "Owners", d)
}
