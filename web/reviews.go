package web

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// ReviewsReader is the part of the posture capability the access-review
// pages show.
type ReviewsReader interface {
	// ListReviews returns the campaigns open, or created or closed since
	// since (nil: all), newest first, with their counts.
	ListReviews(ctx context.Context, since *time.Time) ([]*steward.ReviewCampaign, error)
	// GetReview returns a campaign with its items (an owner's own only).
	GetReview(ctx context.Context, id string) (*steward.ReviewCampaign, error)
}

// ReviewDecider records and carries out an attestation.
type ReviewDecider interface {
	DecideReviewItem(ctx context.Context, campaignID, itemID string, d steward.ReviewDecisionRequest) (*steward.ReviewItem, error)
}

const (
	// reviewsMax is the most campaigns the list shows.
	reviewsMax = 100
	// reviewsRecent is how far back the list reaches unless asked for all:
	// open campaigns, and those created or closed within it.
	reviewsRecent = 365 * 24 * time.Hour
	// reviewItemsPage is how many items a campaign's page shows at once.
	reviewItemsPage = 100
)

// reviewProgress is a campaign's progress from its counts.
type reviewProgress struct {
	Total, Pending, Decided, Attested, Revoked int
	Percent                                    float64 // decided share, 0..100
}

func progressOf(c *steward.ReviewCampaign) reviewProgress {
	n := c.Counts
	p := reviewProgress{Total: n["items"], Pending: n[steward.ReviewPending], Decided: n[steward.ReviewDecided], Revoked: n[string(steward.DecisionRevoke)]}
	p.Attested = n[string(steward.DecisionKeep)] + n[string(steward.DecisionReduce)] + n[string(steward.DecisionReassign)]
	if p.Total > 0 {
		p.Percent = float64(p.Decided) * 100 / float64(p.Total)
	}
	return p
}

type reviewRow struct {
	*steward.ReviewCampaign
	reviewProgress
	Overdue bool
	Scope   string
}

type reviewsData struct {
	Rows      []reviewRow
	All       bool
	Truncated bool
}

// scopeText describes a campaign's scope.
func scopeText(s steward.ReviewScope) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	add("team", s.Team)
	add("owner", s.OwnerID)
	add("tier", string(s.Sensitivity))
	add("provider", s.Provider)
	add("environment", s.Environment)
	add("kind", string(s.Kind))
	if len(parts) == 0 {
		return "every live identity"
	}
	return strings.Join(parts, ", ")
}

// reviews lists the access-review campaigns with their progress.
func (c *Console) reviews(w http.ResponseWriter, r *http.Request, v *View) error {
	d := &reviewsData{All: r.URL.Query().Get("all") == "1"}
	var since *time.Time
	if !d.All {
		t := v.Now.Add(-reviewsRecent)
		since = &t
	}
	cs, err := c.cfg.Reviews.ListReviews(v.Context(), since)
	if err != nil {
		return err
	}
	if len(cs) > reviewsMax {
		cs, d.Truncated = cs[:reviewsMax], true
	}
	for _, cp := range cs {
		d.Rows = append(d.Rows, reviewRow{ReviewCampaign: cp, reviewProgress: progressOf(cp), Scope: scopeText(cp.Scope),
			Overdue: cp.Status == "open" && cp.Deadline.Before(v.Now)})
	}
	v.Title, v.Data = "Access reviews", d
	c.render(w, r, "reviews", v)
	return nil
}

type reviewItemRow struct {
	*steward.ReviewItem
	Owner     string
	NewOwner  string
	CanDecide bool
}

type reviewData struct {
	C        *steward.ReviewCampaign
	Progress reviewProgress
	Scope    string
	Overdue  bool
	Status   string // the items shown: "", pending, decided
	Filters  []timelineFilter
	Items    []reviewItemRow
	Shown    int // items matching the filter
	From     int // 1-based index of the first shown
	PrevHref string
	NextHref string
	Yours    int // the operator's own pending items (owner role)
}

// canDecide reports whether the operator may attest the item now.
func (c *Console) canDecide(v *View, cp *steward.ReviewCampaign, it *steward.ReviewItem) bool {
	return c.cfg.ReviewDecisions != nil && v.CanWrite() && cp.Status == "open" && it.Status == steward.ReviewPending &&
		(v.IsStaff() || it.OwnerID == v.User.OwnerID)
}

// review shows one campaign and its items (an owner's own), pending
// first, reviewItemsPage at a time.
func (c *Console) review(w http.ResponseWriter, r *http.Request, v *View) error {
	ctx := v.Context()
	cp, err := c.cfg.Reviews.GetReview(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := &reviewData{C: cp, Progress: progressOf(cp), Scope: scopeText(cp.Scope), Overdue: cp.Status == "open" && cp.Deadline.Before(v.Now)}
	switch s := q.Get("status"); s {
	case steward.ReviewPending, steward.ReviewDecided:
		d.Status = s
	}
	base := "/reviews/" + url.PathEscape(cp.ID)
	for _, f := range []struct{ label, value string }{{"All", ""}, {"Pending", steward.ReviewPending}, {"Decided", steward.ReviewDecided}} {
		href := base
		if f.value != "" {
			href += "?status=" + f.value
		}
		d.Filters = append(d.Filters, timelineFilter{Label: f.label, Href: href, Current: d.Status == f.value})
	}
	var items []*steward.ReviewItem
	for _, it := range cp.Items {
		if d.Status == "" || it.Status == d.Status {
			items = append(items, it)
		}
		if v.User.Role == steward.RoleOwner && it.Status == steward.ReviewPending {
			d.Yours++
		}
	}
	pendingFirst := func(it *steward.ReviewItem) int {
		if it.Status == steward.ReviewPending {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(items, func(a, b *steward.ReviewItem) int { return cmp.Compare(pendingFirst(a), pendingFirst(b)) })
	d.Shown = len(items)
	from, _ := strconv.Atoi(q.Get("from"))
	if from < 0 || from >= len(items) {
		from = 0
	}
	to := min(from+reviewItemsPage, len(items))
	page := func(n int) string {
		p := url.Values{}
		if d.Status != "" {
			p.Set("status", d.Status)
		}
		if n > 0 {
			p.Set("from", strconv.Itoa(n))
		}
		if len(p) == 0 {
			return base
		}
		return base + "?" + p.Encode()
	}
	if from > 0 {
		d.PrevHref = page(max(from-reviewItemsPage, 0))
	}
	if to < len(items) {
		d.NextHref = page(to)
	}
	d.From = from + 1
	names := map[string]string{}
	name := func(id string) string {
		if id == "" {
			return ""
		}
		if n, ok := names[id]; ok {
			return n
		}
		n := id
		if o, err := c.cfg.Owners.GetOwner(ctx, id); err == nil {
			n = o.Name
		}
		names[id] = n
		return n
	}
	for _, it := range items[from:to] {
		d.Items = append(d.Items, reviewItemRow{ReviewItem: it, Owner: name(it.OwnerID), NewOwner: name(it.NewOwnerID), CanDecide: c.canDecide(v, cp, it)})
	}
	v.Title, v.Data = cp.Name, d
	c.render(w, r, "review", v)
	return nil
}

type decideData struct {
	C             *steward.ReviewCampaign
	Item          *steward.ReviewItem
	I             *steward.Identity
	Owner         string
	Decisions     []option
	Effects       []string
	Owners        []option
	Decision      string
	Justification string
	Scopes        []string // chosen to keep (reduce)
	NewOwnerID    string
}

// prepareDecision loads the campaign, the item and its identity.
func (c *Console) prepareDecision(r *http.Request, v *View) (*decideData, error) {
	if !v.CanWrite() {
		return nil, errorf(http.StatusForbidden, "role %s may not attest access reviews", v.User.Role)
	}
	ctx := v.Context()
	cp, err := c.cfg.Reviews.GetReview(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	var it *steward.ReviewItem
	for _, x := range cp.Items {
		if x.ID == r.PathValue("item") {
			it = x
		}
	}
	switch {
	case it == nil:
		return nil, errorf(http.StatusNotFound, "review %s has no item %s of yours", cp.ID, r.PathValue("item"))
	case cp.Status != "open":
		return nil, errorf(http.StatusConflict, "the review %s is %s", cp.Name, cp.Status)
	case it.Status != steward.ReviewPending:
		return nil, errorf(http.StatusConflict, "this item was decided already (%s)", it.Decision)
	case !c.canDecide(v, cp, it):
		return nil, errorf(http.StatusForbidden, "you may not attest this item")
	}
	i, err := c.cfg.Identities.GetIdentity(ctx, it.IdentityID)
	if err != nil {
		return nil, err
	}
	d := &decideData{C: cp, Item: it, I: i, Scopes: i.Scopes,
		Decisions: []option{
			{Value: string(steward.DecisionKeep), Label: "Keep: it is needed as it is"},
			{Value: string(steward.DecisionReduce), Label: "Reduce: keep only the scopes ticked below"},
			{Value: string(steward.DecisionRevoke), Label: "Revoke: it is no longer needed"},
			{Value: string(steward.DecisionReassign), Label: "Reassign: someone else should own it"},
		},
		Effects: []string{
			"Keep records your justification (required); nothing else changes.",
			"Reduce removes the scopes you untick from the identity.",
			"Revoke revokes the identity and its credentials at once. Revocation is final.",
			"Reassign moves the identity to the owner you choose, who becomes accountable for it.",
			"Your decision is carried out at once and recorded in the audit chain in your name.",
		}}
	if o, err := c.cfg.Owners.GetOwner(ctx, it.OwnerID); err == nil {
		d.Owner = o.Name
	}
	if d.Owners, _, err = c.ownerOptions(v, false); err != nil {
		return nil, err
	}
	return d, nil
}

func (c *Console) decideForm(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := c.prepareDecision(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Data = "Attest "+d.I.Name, d
	c.render(w, r, "review_item", v)
	return nil
}

// decide records the attestation and returns to the campaign.
func (c *Console) decide(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := c.prepareDecision(r, v)
	if err != nil {
		return err
	}
	form := r.PostForm
	d.Decision, d.Justification, d.NewOwnerID = form.Get("decision"), strings.TrimSpace(form.Get("justification")), form.Get("new_owner_id")
	req := steward.ReviewDecisionRequest{Decision: steward.ReviewDecision(d.Decision), Justification: d.Justification}
	switch req.Decision {
	case steward.DecisionReduce:
		req.Scopes = form["scope"]
		d.Scopes = req.Scopes
	case steward.DecisionReassign:
		req.NewOwnerID = d.NewOwnerID
	}
	if _, err := c.cfg.ReviewDecisions.DecideReviewItem(v.Context(), d.C.ID, d.Item.ID, req); err != nil {
		if statusOf(err) >= 500 {
			return err
		}
		v.Status, v.Error = statusOf(err), messageOf(err)
		if v.Status == http.StatusBadRequest {
			v.Status = http.StatusUnprocessableEntity
		}
		v.Title, v.Data = "Attest "+d.I.Name, d
		c.render(w, r, "review_item", v)
		return nil
	}
	c.invalidateDashboard()
	http.Redirect(w, r, "/reviews/"+url.PathEscape(d.C.ID)+"?msg=decided", http.StatusSeeOther)
	return nil
}
