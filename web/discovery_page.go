package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"

	"github.com/steward-nhi/steward"
)

// DiscoveryReader is the part of discovery the console shows.
type DiscoveryReader interface {
	ListSightings(ctx context.Context, f steward.SightingFilter) (*steward.Page[*steward.Sighting], error)
}

type discoveryData struct {
	Managed  string
	Items    []*steward.Sighting
	NextHref string
	Now      any
}

// DiscoveryPage lists secrets found in code and pipelines: leaked managed
// credentials first in severity, unmanaged ones linked to the discovered
// identities created for them.
func DiscoveryPage(d DiscoveryReader) Page {
	return Page{Path: "/discovery", Title: "Discovery", Render: func(r *http.Request, v *View) (template.HTML, error) {
		q := r.URL.Query()
		f := steward.SightingFilter{Repository: q.Get("repository"), Limit: 100, Cursor: q.Get("cursor")}
		data := &discoveryData{Managed: q.Get("managed"), Now: v.Now}
		switch data.Managed {
		case "true":
			t := true
			f.Managed = &t
		case "false":
			b := false
			f.Managed = &b
		}
		page, err := d.ListSightings(v.Context(), f)
		if err != nil {
			return "", err
		}
		data.Items = page.Items
		if page.NextCursor != "" {
			next := url.Values{"cursor": {page.NextCursor}}
			if data.Managed != "" {
				next.Set("managed", data.Managed)
			}
			data.NextHref = "/discovery?" + next.Encode()
		}
		return fragment("discovery", data)
	}}
}
