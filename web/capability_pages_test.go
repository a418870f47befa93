package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
	"github.com/steward-nhi/steward/web"
)

// caps are the capabilities beyond the core, on the env's store.
type caps struct {
	posture *posture.Engine
	broker  *broker.Broker
	usage   *usage.Service
	pdp     *authz.PDP
}

// withCaps wires every capability beyond the core into the console, as
// cmd/steward does.
func withCaps(e *env, cfg *web.Config) {
	e.t.Helper()
	ctx := context.Background()
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := broker.New(ctx, broker.Config{Store: e.store, Box: box, Pepper: []byte("pepper-pepper-pepper-pepper"), Issuer: "http://steward.test",
		Clock: e.clock, Logger: cfg.Logger})
	if err != nil {
		e.t.Fatal(err)
	}
	pdp, err := authz.New(ctx, authz.Config{Inventory: e.store, Store: e.store, Clock: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	e.caps = &caps{
		posture: posture.New(posture.Options{Store: e.store, Inventory: e.svc, Clock: e.clock, Logger: cfg.Logger}),
		broker:  b,
		usage:   usage.New(usage.Config{Store: e.store, Inventory: e.store, Credentials: e.store, Clock: e.clock}),
		pdp:     pdp,
	}
	cfg.Findings, cfg.Alerts, cfg.Usage, cfg.Policies = e.caps.posture, e.store, e.caps.usage, pdp
	cfg.Broker, cfg.Reviews, cfg.ReviewDecisions = b, e.caps.posture, e.caps.posture
}

// sys is a context acting as the system.
func sys() context.Context {
	return steward.WithPrincipal(context.Background(), steward.SystemPrincipal("test"))
}

// admin is a context acting as an admin operator.
func admin() context.Context {
	return steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})
}

// usageEvents records n usage events of identity id, one a minute up to
// at, with the given outcome.
func (e *env) usageEvents(id string, n int, at time.Time, outcome string) []steward.UsageEvent {
	e.t.Helper()
	var evs []steward.UsageEvent
	for k := range n {
		t := at.Add(-time.Duration(n-1-k) * time.Minute).Truncate(time.Microsecond)
		evs = append(evs, steward.UsageEvent{ID: fmt.Sprintf("use_%s_%04d_%s", t.Format("150405"), k, outcome), Time: t, Kind: steward.UsageAuth,
			IdentityID: id, Action: "s3:GetObject", Resource: "arn:aws:s3:::billing/report.csv", Source: "10.1.2.3", UserAgent: "aws-cli/2",
			Outcome: outcome, PolicyIDs: []string{}, Attributes: map[string]string{}})
	}
	if err := e.store.AppendUsage(context.Background(), evs); err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
	if _, err := e.svc.TransitionIdentity(sys(), e.a.ID, steward.TransitionResume, steward.TransitionRequest{Reason: "cleared"}); err != nil {
		t.Fatal(err)
	}
	key, err := e.caps.broker.Issue(admin(), e.a.ID, broker.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.caps.posture.StartReview(admin(), steward.ReviewRequest{Name: "Q1"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn(steward.RoleAdmin)
	for _, path := range []string{"/identities/" + e.a.ID, "/identities/" + e.a.ID + "?show=usage", "/identities/" + e.a.ID + "/usage",
		"/identities/" + e.a.ID + "/credentials/" + key.ID + "/rotate", "/reviews", "/reviews?all=1", "/reviews/" + c.ID,
		"/reviews/" + c.ID + "/items/" + c.Items[0].ID} {
		b.get(path)
		b.expect(200, `<main id="main"`, `href="/reviews"`)
		selfContained(t, path, b)
	}
	b.get("/identities/" + e.a.ID + "/credentials/" + key.ID + "/rotate")
	b.post("/identities/"+e.a.ID+"/credentials/"+key.ID+"/rotate", url.Values{"reason": {"check"}, "overlap": {"1h"}})
	b.expect(200, `id="new-secret"`)
	selfContained(t, "rotated", b)
}
