package web

import (
	"context"
	"net/http"
	"net/url"
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
	// GetReviewSummary returns a campaign with its counts, without its
	// items.
	GetReviewSummary(ctx context.Context, id string) (*steward.ReviewCampaign, error)
	// ReviewItems returns a page of a campaign's items (an owner's own
	// only), pending first.
	ReviewItems(ctx context.Context, f steward.ReviewItemFilter) (*steward.Page[*steward.ReviewItem], error)
	// ReviewItemCounts counts the items of a campaign the operator sees
	// (an owner's own), by status and decision.
	ReviewItemCounts(ctx context.Context, campaignID string) (map[string]int, error)
	// GetReviewItem returns one item of a campaign (an owner's own only)
	// and the campaign, without its counts.
	GetReviewItem(ctx context.Context, campaignID, itemID string) (*steward.ReviewCampaign, *steward.ReviewItem, error)
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
	return c.renderPage(w, r, v, "reviews", "Access reviews", d)
}

type reviewItemRow struct {
	*steward.ReviewItem
	Owner     string
	NewOwner  string
	CanDecide bool
}

type reviewData struct {
	C         *steward.ReviewCampaign
	Progress  reviewProgress
	Scope     string
	Overdue   bool
	Status    string // the items shown: "", pending, decided
	Filters   []timelineFilter
	Items     []reviewItemRow
	Shown     int // items matching the filter
	From      int // 1-based index of the first shown
	FirstHref string
	NextHref  string
	Yours     int // the operator's own pending items (owner role)
}

// canDecide reports whether the operator may attest the item now.
func (c *Console) canDecide(v *View, cp *steward.ReviewCampaign, it *steward.ReviewItem) bool {
	return c.cfg.ReviewDecisions != nil && v.CanWrite() && cp.Status == "open" && it.Status == steward.ReviewPending &&
		(v.IsStaff() || it.OwnerID == v.User.OwnerID)
}

// review shows one campaign and its items (an owner's own), pending
// first, reviewItemsPage at a time: the next page starts after the cursor
// of the last item shown; from only numbers the items shown.
func (c *Console) review(w http.ResponseWriter, r *http.Request, v *View) error {
	ctx := v.Context()
	cp, err := c.cfg.Reviews.GetReviewSummary(ctx, r.PathValue("id"))
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
	href := func(cursor string, from int) string {
		p := url.Values{}
		if d.Status != "" {
			p.Set("status", d.Status)
		}
		if cursor != "" {
			p.Set("cursor", cursor)
			p.Set("from", strconv.Itoa(from))
		}
		if len(p) == 0 {
			return base
		}
		return base + "?" + p.Encode()
	}
	for _, f := range []struct{ label, value string }{{"All", ""}, {"Pending", steward.ReviewPending}, {"Decided", steward.ReviewDecided}} {
		fh := base
		if f.value != "" {
			fh += "?status=" + f.value
		}
		d.Filters = append(d.Filters, timelineFilter{Label: f.label, Href: fh, Current: d.Status == f.value})
	}
	seen := cp.Counts // the items the operator may see
	if v.User.Role == steward.RoleOwner {
		if seen, err = c.cfg.Reviews.ReviewItemCounts(ctx, cp.ID); err != nil {
			return err
		}
		d.Yours = seen[steward.ReviewPending]
	}
	d.Shown = seen["items"]
	if d.Status != "" {
		d.Shown = seen[d.Status]
	}
	cursor := q.Get("cursor")
	page, err := c.cfg.Reviews.ReviewItems(ctx, steward.ReviewItemFilter{CampaignID: cp.ID, Status: d.Status, Limit: reviewItemsPage, Cursor: cursor})
	if err != nil {
		return err
	}
	d.From = 1
	if cursor != "" {
		d.FirstHref = href("", 0)
		if n, err := strconv.Atoi(q.Get("from")); err == nil && n > 1 {
			d.From = min(n, max(d.Shown, 1))
		}
	}
	if page.NextCursor != "" {
		d.NextHref = href(page.NextCursor, d.From+len(page.Items))
	}
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
	for _, it := range page.Items {
		d.Items = append(d.Items, reviewItemRow{ReviewItem: it, Owner: name(it.OwnerID), NewOwner: name(it.NewOwnerID), CanDecide: c.canDecide(v, cp, it)})
	}
	return c.renderPage(w, r, v, "review", cp.Name, d)
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
	cp, it, err := c.cfg.Reviews.GetReviewItem(ctx, r.PathValue("id"), r.PathValue("item"))
	if err != nil {
		return nil, err
	}
	switch {
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
	return c.renderPage(w, r, v, "review_item", "Attest "+d.I.Name, d)
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
		return c.showFormError(w, r, v, "review_item", "Attest "+d.I.Name, d, err)
	}
	c.invalidateDashboard()
	http.Redirect(w, r, "/reviews/"+url.PathEscape(d.C.ID)+"?msg=decided", http.StatusSeeOther)
	return nil
}
