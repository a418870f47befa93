package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// timelineItem is one entry of an identity page's timeline.
type timelineItem struct {
	Kind, Action, Time, Text, Href string
}

var (
	itemRE     = regexp.MustCompile(`<li class="[^"]*" data-kind="([^"]+)" data-action="([^"]*)">`)
	datetimeRE = regexp.MustCompile(`<time datetime="([^"]+)"`)
	hrefRE     = regexp.MustCompile(`<a href="([^"]+)"`)
	tagRE      = regexp.MustCompile(`<[^>]+>`)
)

// timeline parses the timeline of an identity page, newest first as shown.
func timeline(body string) []timelineItem {
	i := strings.Index(body, `<ol class="timeline">`)
	if i < 0 {
		return nil
	}
	body = body[i:]
	if j := strings.Index(body, "\n  </ol>"); j >= 0 {
		body = body[:j]
	}
	ms := itemRE.FindAllStringSubmatchIndex(body, -1)
	var out []timelineItem
	for n, m := range ms {
		end := len(body)
		if n+1 < len(ms) {
			end = ms[n+1][0]
		}
		inner := body[m[1]:end]
		it := timelineItem{Kind: body[m[2]:m[3]], Action: body[m[4]:m[5]], Text: strings.Join(strings.Fields(tagRE.ReplaceAllString(inner, " ")), " ")}
		if d := datetimeRE.FindStringSubmatch(inner); d != nil {
			it.Time = d[1]
		}
		if h := hrefRE.FindStringSubmatch(inner); h != nil {
			it.Href = strings.ReplaceAll(h[1], "&amp;", "&")
		}
		out = append(out, it)
	}
	return out
}

func TestCapabilityPagesAreSelfContained(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	seedActivity(t, e)
	if _, err := e.svc.TransitionIdentity(sys(), e.deployer.ID, steward.TransitionResume, steward.TransitionRequest{Reason: "cleared"}); err != nil {
		t.Fatal(err)
	}
	key, err := e.caps.broker.Issue(admin(), e.deployer.ID, broker.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.caps.posture.StartReview(admin(), steward.ReviewRequest{Name: "Q1"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn(steward.RoleAdmin)
	for _, path := range []string{"/identities/" + e.deployer.ID, "/identities/" + e.deployer.ID + "?show=usage", "/identities/" + e.deployer.ID + "/usage",
		"/identities/" + e.deployer.ID + "/credentials/" + key.ID + "/rotate", "/reviews", "/reviews?all=1", "/reviews/" + c.ID,
		"/reviews/" + c.ID + "/items/" + c.Items[0].ID} {
		b.get(path)
		b.expect(200, `<main id="main"`, `href="/reviews"`)
		selfContained(t, path, b)
	}
	b.get("/identities/" + e.deployer.ID + "/credentials/" + key.ID + "/rotate")
	b.post("/identities/"+e.deployer.ID+"/credentials/"+key.ID+"/rotate", url.Values{"reason": {"check"}, "overlap": {"1h"}})
	b.expect(200, `id="new-secret"`)
	selfContained(t, "rotated", b)
}
