package web

import (
	"context"
	"html/template"
	"net/http"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// PoliciesReader is the part of the authorization capability the console
// shows.
type PoliciesReader interface {
	ListPolicies(ctx context.Context, versions bool) (*authz.PolicyList, error)
}

type policyVersion struct {
	*steward.AuthzPolicy
	Diff string
}

type policiesData struct {
	Revision int64
	Items    []*steward.AuthzPolicy
	Name     string
	Versions []policyVersion
	Now      any
}

// PoliciesPage lists the Cedar policies in force; with ?name= it shows that
// policy's versions, newest first, each with its diff from the previous one.
func PoliciesPage(p PoliciesReader) Page {
	return Page{Path: "/policies", Title: "Policies", Render: func(r *http.Request, v *View) (template.HTML, error) {
		name := r.URL.Query().Get("name")
		list, err := p.ListPolicies(v.Context(), name != "")
		if err != nil {
			return "", err
		}
		d := &policiesData{Revision: list.Revision, Items: list.Items, Name: name, Now: v.Now}
		if name != "" {
			var hist []*steward.AuthzPolicy // newest first
			for _, pv := range list.Versions {
				if pv.Name == name {
					hist = append(hist, pv)
				}
			}
			for i, pv := range hist {
				prev := ""
				if i+1 < len(hist) && !hist[i+1].Deleted {
					prev = hist[i+1].Text
				}
				cur := pv.Text
				if pv.Deleted {
					cur = ""
				}
				d.Versions = append(d.Versions, policyVersion{AuthzPolicy: pv, Diff: authz.Diff(prev, cur)})
			}
		}
		return fragment("policies", d)
	}}
}
