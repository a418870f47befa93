package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// timelineEntry is one entry of an identity's timeline (or of the audit
// page): a recorded change, a use, an alert or a finding.
type timelineEntry struct {
	Kind    string // change, usage, alert, finding
	Time    time.Time
	Actor   string
	Action  string
	Label   string
	Reason  string
	Detail  string
	Changes []string
	Class   string
	Seq     int64
	Href    string // the entry's own page
}

type actionLink struct {
	Action string
	Label  string
	Class  string
}

type identityData struct {
	I           *steward.Identity
	Owner       *steward.Owner
	Backup      *steward.Owner
	Credentials []credentialRow
	CanRotate   bool // some credential offers rotation
	Timeline    []timelineEntry
	Filters     []timelineFilter
	MoreHref    string // older changes
	More        []moreLink
	Notes       []string // parts that could not be loaded
	Actions     []actionLink
	Policy      steward.TierPolicy
	Labels      []string
	Findings    []*steward.Finding // unresolved
	HasPosture  bool
	Policies    []string // authorization policies naming the identity
	HasPolicies bool
	Bindings    []bindingRow // federation bindings, newest first
	HasFed      bool
	// Custody are the identity's secrets in custody with their rotations;
	// Leases its dynamic credentials (HasRotation: rotation is wired).
	Custody     []custodyRow
	Leases      []*steward.Lease
	HasRotation bool

	allFindings []*steward.Finding
}

// actionsFor lists what the operator may do to the identity now.
func actionsFor(v *View, i *steward.Identity) []actionLink {
	if !v.CanWrite() {
		return nil
	}
	var out []actionLink
	for _, t := range []steward.Transition{steward.TransitionActivate, steward.TransitionSuspend, steward.TransitionResume} {
		if _, err := steward.Next(i.Status, t); err == nil {
			out = append(out, actionLink{Action: string(t), Label: titleCase(string(t))})
		}
	}
	if i.Status != steward.StatusRevoked {
		if v.IsStaff() {
			out = append(out, actionLink{Action: "reassign", Label: "Reassign owner"})
		}
		if i.Status != steward.StatusExpired {
			out = append(out, actionLink{Action: "extend", Label: "Change expiry"})
		}
		out = append(out, actionLink{Action: "revoke", Label: "Revoke", Class: "danger"})
	}
	return out
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// identity renders one identity: attributes, owner, credentials, timeline
// and the actions the operator may take.
func (c *Console) identity(w http.ResponseWriter, r *http.Request, v *View) error {
	ctx := v.Context()
	i, err := c.cfg.Identities.GetIdentity(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := &identityData{I: i, Policy: c.cfg.Policy[i.Sensitivity], Actions: actionsFor(v, i)}
	if i.OwnerID != "" {
		if o, err := c.cfg.Owners.GetOwner(ctx, i.OwnerID); err == nil {
			d.Owner = o
			if o.BackupOwnerID != "" {
				d.Backup, _ = c.cfg.Owners.GetOwner(ctx, o.BackupOwnerID)
			}
		} else if statusOf(err) >= 500 {
			return err
		}
	}
	if err := c.credentials(v, d); err != nil {
		return err
	}
	c.custody(v, d)
	if c.cfg.Findings != nil {
		// Every finding of the identity, resolved too, for the timeline;
		// the checks give an identity far fewer than timelineLimit.
		fs, err := c.cfg.Findings.ListFindings(ctx, steward.FindingFilter{IdentityID: i.ID, Limit: timelineLimit})
		if c.optional(ctx, d, "findings", err) {
			d.HasPosture, d.allFindings = true, fs.Items
			for _, f := range fs.Items {
				if f.Status.Unresolved() {
					d.Findings = append(d.Findings, f)
				}
			}
		}
	}
	markDormantCredentials(d)
	c.federationBindings(ctx, d)
	if err := c.timeline(r, v, d); err != nil {
		return err
	}
	c.policiesNaming(ctx, d)
	for _, k := range slices.Sorted(maps.Keys(i.Labels)) {
		d.Labels = append(d.Labels, k+"="+i.Labels[k])
	}
	return c.renderPage(w, r, v, "identity", i.Name, d)
}

// eventLabels name the recorded actions in plain words.
var eventLabels = map[string]string{
	steward.ActionIdentityCreate:     "Registered",
	steward.ActionIdentityUpdate:     "Changed",
	steward.ActionIdentityDelete:     "Deleted",
	steward.ActionIdentityImport:     "Imported",
	steward.ActionCredentialCreate:   "Credential added",
	steward.ActionCredentialUpdate:   "Credential changed",
	"credential.revoke":              "Credential revoked",
	"identity.activate":              "Activated",
	"identity.suspend":               "Suspended",
	"identity.resume":                "Resumed",
	"identity.revoke":                "Revoked",
	"identity.expire":                "Expired",
	steward.ActionCredentialIssue:    "Credential issued",
	steward.ActionCredentialRotate:   "Credential rotated",
	steward.ActionCredentialExtend:   "Credential extended",
	steward.ActionCredentialExpire:   "Credential expired",
	steward.ActionReviewDecide:       "Access review decision",
	steward.ActionFindingWaive:       "Finding waived",
	steward.ActionFindingReopen:      "Finding reopened",
	steward.ActionFindingAcknowledge: "Finding acknowledged",
	steward.ActionBindingCreate:      "Federation binding added",
	steward.ActionBindingRemove:      "Federation binding removed",
	steward.ActionSecretStore:        "Secret stored in custody",
	steward.ActionSecretRead:         "Secret read",
	steward.ActionSecretDestroy:      "Secret version destroyed",
	steward.ActionRotationStart:      "Rotation started",
	steward.ActionRotationStep:       "Rotation step done",
	steward.ActionRotationFinish:     "Rotation finished",
	steward.ActionRotationFail:       "Rotation failed",
	steward.ActionRevocationProven:   "Old secret refused by the provider",
	steward.ActionLeaseCreate:        "Lease created",
	steward.ActionLeaseRenew:         "Lease renewed",
	steward.ActionLeaseRevoke:        "Lease revoked",
}

// timelineOf describes one event, with the fields it changed.
func timelineOf(e *steward.Event) timelineEntry {
	t := timelineEntry{Kind: kindChange, Time: e.Time, Actor: e.Actor, Action: e.Action, Reason: e.Reason, Seq: e.Seq, Label: eventLabels[e.Action]}
	if t.Label == "" {
		t.Label = e.Action
	}
	switch {
	case strings.HasSuffix(e.Action, ".revoke"):
		t.Class = "ev-bad"
	case strings.HasSuffix(e.Action, ".suspend"), strings.HasSuffix(e.Action, ".expire"):
		t.Class = "ev-warn"
	case strings.HasSuffix(e.Action, ".create"), strings.HasSuffix(e.Action, ".activate"), strings.HasSuffix(e.Action, ".resume"):
		t.Class = "ev-good"
	}
	if e.Action == steward.ActionBindingCreate || e.Action == steward.ActionBindingRemove {
		t.Detail = bindingDetail(e)
	}
	if len(e.Before) > 0 && len(e.After) > 0 {
		var before, after map[string]any
		if json.Unmarshal(e.Before, &before) == nil && json.Unmarshal(e.After, &after) == nil {
			for _, k := range slices.Sorted(maps.Keys(after)) {
				switch k {
				case "updated_at", "version", "digest", "fingerprint":
					continue
				}
				b, _ := json.Marshal(before[k])
				a, _ := json.Marshal(after[k])
				if string(a) != string(b) {
					t.Changes = append(t.Changes, fmt.Sprintf("%s: %s → %s", k, shorten(show(before[k]), 80), shorten(show(after[k]), 80)))
				}
			}
		}
	}
	return t
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "—"
		}
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

type actionData struct {
	I          *steward.Identity
	Action     string
	Title      string
	Effects    []string
	Danger     bool
	Reason     string
	Note       string
	Owners     []option
	OwnerID    string
	Expires    string
	MaxExpiry  time.Time
	Exception  bool
	ActiveCred int
}

// actionTitles are the confirmation pages' headings.
var actionTitles = map[string]string{
	"activate": "Activate", "suspend": "Suspend", "resume": "Resume", "revoke": "Revoke",
	"reassign": "Reassign the owner of", "extend": "Change the expiry of",
}

// prepareAction loads the identity and describes what the action will do.
func (c *Console) prepareAction(r *http.Request, v *View) (*actionData, error) {
	action := r.PathValue("action")
	if _, ok := actionTitles[action]; !ok {
		return nil, errorf(http.StatusNotFound, "no such page")
	}
	if !v.CanWrite() {
		return nil, errorf(http.StatusForbidden, "role %s may not change identities", v.User.Role)
	}
	ctx := v.Context()
	i, err := c.cfg.Identities.GetIdentity(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	allowed := false
	for _, a := range actionsFor(v, i) {
		allowed = allowed || a.Action == action
	}
	if !allowed {
		return nil, errorf(http.StatusConflict, "%s is not possible for this identity now (it is %s)", action, i.Status)
	}
	d := &actionData{I: i, Action: action, Title: actionTitles[action] + " " + i.Name}
	creds, err := c.cfg.Identities.ListCredentials(ctx, i.ID)
	if err != nil {
		return nil, err
	}
	for _, cr := range creds {
		if cr.Status == steward.CredentialActive || cr.Status == steward.CredentialInactive {
			d.ActiveCred++
		}
	}
	tp := c.cfg.Policy[i.Sensitivity]
	switch action {
	case "activate", "suspend", "resume":
		to, _ := steward.Next(i.Status, steward.Transition(action))
		d.Effects = []string{fmt.Sprintf("Status changes from %s to %s.", i.Status, to)}
		if action == "suspend" {
			d.Effects = append(d.Effects, "While suspended, the identity's credentials should not be accepted; it can be resumed later.")
		}
	case "revoke":
		d.Danger = true
		d.Effects = []string{
			fmt.Sprintf("Status changes from %s to revoked. Revocation is final: a revoked identity cannot be resumed or changed.", i.Status),
			fmt.Sprintf("%d active credential(s) are revoked in the same transaction.", d.ActiveCred),
		}
	case "reassign":
		opts, _, err := c.ownerOptions(v, false)
		if err != nil {
			return nil, err
		}
		d.Owners = opts
		from := "no owner"
		if i.OwnerID != "" {
			from = "owner " + i.OwnerID
			if o, err := c.cfg.Owners.GetOwner(ctx, i.OwnerID); err == nil {
				from = o.Name
			}
		}
		d.Effects = []string{"The identity moves from " + from + " to the owner you choose, who becomes accountable for it."}
	case "extend":
		d.MaxExpiry = v.Now.Add(time.Duration(tp.MaxLifetime))
		cur := "no expiry"
		if i.ExpiresAt != nil {
			cur = i.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
			d.Expires = i.ExpiresAt.UTC().Format("2006-01-02")
		}
		d.Effects = []string{
			"The expiry moves from " + cur + " to the date you choose (end of that day, UTC).",
			fmt.Sprintf("The %s tier allows at most %s from today (until %s); a later date needs a recorded policy exception.", i.Sensitivity, tp.MaxLifetime, d.MaxExpiry.Format("2006-01-02")),
		}
	}
	return d, nil
}

func (c *Console) actionForm(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := c.prepareAction(r, v)
	if err != nil {
		return err
	}
	return c.renderPage(w, r, v, "action", d.Title, d)
}

// action applies a confirmed action and returns to the identity page.
func (c *Console) action(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := c.prepareAction(r, v)
	if err != nil {
		return err
	}
	form := r.PostForm
	d.Reason, d.Note = strings.TrimSpace(form.Get("reason")), strings.TrimSpace(form.Get("note"))
	d.OwnerID, d.Exception = form.Get("owner_id"), form.Get("exception") == "yes"
	if e := form.Get("expires_at"); e != "" {
		d.Expires = e
	}
	ctx := v.Context()
	fail := func(err error) error { return c.showFormError(w, r, v, "action", d.Title, d, err) }
	switch d.Action {
	case "activate", "suspend", "resume", "revoke":
		req := steward.TransitionRequest{Reason: d.Reason, Note: d.Note}
		if d.Action != "revoke" {
			if d.Reason == "" {
				return fail(steward.FieldError("reason", "give a reason; it is recorded with the change"))
			}
			req = steward.TransitionRequest{Reason: shorten(d.Reason, steward.MaxNameLen-3), Note: d.Note}
		}
		if _, err := c.cfg.Identities.TransitionIdentity(ctx, d.I.ID, steward.Transition(d.Action), req); err != nil {
			return fail(err)
		}
	case "reassign":
		if d.Reason == "" {
			return fail(steward.FieldError("reason", "give a reason; it is recorded with the change"))
		}
		if d.OwnerID == "" {
			return fail(steward.FieldError("owner_id", "choose the new owner"))
		}
		if _, err := c.cfg.Identities.UpdateIdentity(ctx, d.I.ID, steward.IdentityPatch{OwnerID: steward.Some(d.OwnerID), Reason: d.Reason, Version: d.I.Version}); err != nil {
			return fail(err)
		}
	case "extend":
		if d.Reason == "" {
			return fail(steward.FieldError("reason", "give a reason; it is recorded with the change"))
		}
		day, err := time.Parse("2006-01-02", d.Expires)
		if err != nil {
			return fail(steward.FieldError("expires_at", "choose a date"))
		}
		until := day.Add(24*time.Hour - time.Second)
		pt := steward.IdentityPatch{ExpiresAt: steward.Some(until), Reason: d.Reason, Version: d.I.Version}
		if d.Exception && until.After(d.MaxExpiry) {
			pt.Exception = steward.Some(steward.Exception{Reason: d.Reason, Until: until, Approver: v.User.Actor})
		}
		if _, err := c.cfg.Identities.UpdateIdentity(ctx, d.I.ID, pt); err != nil {
			return fail(err)
		}
	}
	c.invalidateDashboard()
	http.Redirect(w, r, "/identities/"+url.PathEscape(d.I.ID)+"?msg="+d.Action, http.StatusSeeOther)
	return nil
}
