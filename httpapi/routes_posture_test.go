package httpapi_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// lazyPosture lets the test build the engine after newEnv made the
// inventory service.
type lazyPosture struct{ httpapi.PostureAPI }

func newPostureEnv(t *testing.T) (*env, *posture.Engine) {
	lp := &lazyPosture{}
	e := newEnv(t, sqltest.OpenSQLite, func(d *httpapi.Deps) { d.Posture = lp })
	eng := posture.New(posture.Options{Store: e.store.(steward.PostureStore), Inventory: e.svc, SCIMToken: "scim-secret-0123456789", OktaSecret: "okta-secret-0123456789"})
	lp.PostureAPI = eng
	return e, eng
}

type findingPage struct {
	Items []struct {
		ID         string   `json:"id"`
		Check      string   `json:"check"`
		Severity   string   `json:"severity"`
		Status     string   `json:"status"`
		IdentityID string   `json:"identity_id"`
		OWASP      string   `json:"owasp"`
		CSF        []string `json:"csf"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func TestPostureFindingsAPI(t *testing.T) {
	e, _ := newPostureEnv(t)
	admin := e.tokens["admin"]
	if r := e.do("POST", "/api/v1/posture/run", e.tokens["owner"], "", nil); r.status != 403 {
		t.Fatalf("owner runs posture: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/posture/run", admin, "", nil); r.status != 200 {
		t.Fatalf("run: %d %s", r.status, r.body)
	}
	var page findingPage
	r := e.do("GET", "/api/v1/findings?identity_id="+e.identA.ID, admin, "", nil)
	r.json(t, &page)
	if r.status != 200 || len(page.Items) == 0 {
		t.Fatalf("findings of %s: %d %s", e.identA.ID, r.status, r.body)
	}
	for _, f := range page.Items {
		if f.IdentityID != e.identA.ID || !strings.HasPrefix(f.OWASP, "NHI") || len(f.CSF) == 0 || f.ID == "" || f.Status != "open" {
			t.Fatalf("finding %+v", f)
		}
	}
	for _, tc := range []struct {
		name, query string
		status      int
		field       string
	}{
		{"filter by OWASP id", "owasp=NHI7", 200, ""},
		{"filter by CSF id", "csf=PR.AA-01", 200, ""},
		{"filter by owner and team", "owner=" + e.ownerA.ID + "&team=x", 200, ""},
		{"unresolved", "status=unresolved", 200, ""},
		{"bad severity", "severity=urgent", 400, "severity"},
		{"bad OWASP id", "owasp=NHI42", 400, "owasp"},
		{"unknown parameter", "sevrity=high", 400, "sevrity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/findings?"+tc.query, admin, "", nil)
			if r.status != tc.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.field != "" && r.problem(t).Field != tc.field {
				t.Fatalf("field %q", r.problem(t).Field)
			}
		})
	}
	// The owner token sees only its own identities' findings.
	r = e.do("GET", "/api/v1/findings", e.tokens["owner"], "", nil)
	r.json(t, &page)
	for _, f := range page.Items {
		if f.IdentityID == e.identB.ID {
			t.Fatal("owner A sees owner B's findings")
		}
	}
	id := page.Items[0].ID
	if r := e.do("POST", "/api/v1/findings/"+id+"/waive", admin, "application/json", strings.NewReader(`{"reason":"x","until":"2099-01-01T00:00:00Z"}`)); r.status != 400 || r.problem(t).Field != "approver" {
		t.Fatalf("waive without approver: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/findings/"+id+"/acknowledge", e.tokens["owner"], "", nil); r.status != 200 {
		t.Fatalf("owner acknowledges own: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/findings/"+id+"/reopen", admin, "", nil); r.status != 200 {
		t.Fatalf("reopen: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/schedules/expiring?days=30", admin, "", nil); r.status != 200 {
		t.Fatalf("expiring: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/schedules/rotation?days=-1", admin, "", nil); r.status != 400 {
		t.Fatalf("bad days: %d", r.status)
	}
}

func TestPostureReviewAndReassignAPI(t *testing.T) {
	e, _ := newPostureEnv(t)
	admin := e.tokens["admin"]
	r := e.do("POST", "/api/v1/reviews", admin, "application/json", strings.NewReader(`{"name":"Q1","scope":{"owner_id":"`+e.ownerA.ID+`"}}`))
	if r.status != 201 {
		t.Fatalf("start review: %d %s", r.status, r.body)
	}
	var c steward.ReviewCampaign
	r.json(t, &c)
	item := c.Items[0]
	r = e.do("POST", "/api/v1/reviews/"+c.ID+"/items/"+item.ID+"/decide", e.tokens["owner"], "application/json", strings.NewReader(`{"decision":"keep","justification":"needed"}`))
	if r.status != 200 {
		t.Fatalf("decide: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/reviews/"+c.ID, e.tokens["auditor"], "", nil); r.status != 200 {
		t.Fatalf("get review: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/owners/"+e.ownerA.ID+"/reassign", admin, "application/json", strings.NewReader(`{"new_owner_id":"own_nope"}`)); r.status != 400 || r.problem(t).Field != "new_owner_id" {
		t.Fatalf("reassign to unknown owner: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/owners/"+e.ownerA.ID+"/reassign", admin, "application/json", strings.NewReader(`{"new_owner_id":"`+e.ownerB.ID+`","reason":"team change"}`))
	if r.status != 200 || !strings.Contains(string(r.body), e.identA.ID) {
		t.Fatalf("reassign: %d %s", r.status, r.body)
	}
}

func TestSCIMAndOktaOffboarding(t *testing.T) {
	e, _ := newPostureEnv(t)
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`
	if r := e.do("PATCH", "/scim/v2/Users/alice@example.com", "", "application/scim+json", strings.NewReader(patch)); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	if r := e.do("PATCH", "/scim/v2/Users/alice@example.com", e.tokens["admin"], "application/scim+json", strings.NewReader(patch)); r.status != 401 {
		t.Fatalf("an operator token is not the SCIM token: %d", r.status)
	}
	r := e.do("GET", `/scim/v2/Users?filter=userName%20eq%20%22alice@example.com%22`, "scim-secret-0123456789", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), e.ownerA.ID) {
		t.Fatalf("scim list: %d %s", r.status, r.body)
	}
	r = e.do("PATCH", "/scim/v2/Users/"+e.ownerA.ID, "scim-secret-0123456789", "application/scim+json", strings.NewReader(patch))
	if r.status != 200 || !strings.Contains(string(r.body), `"active":false`) {
		t.Fatalf("scim deactivate: %d %s", r.status, r.body)
	}
	var page findingPage
	e.do("GET", "/api/v1/findings?owasp=NHI1&identity_id="+e.identA.ID, e.tokens["admin"], "", nil).json(t, &page)
	if len(page.Items) == 0 || page.Items[0].Check != "owner.departed" {
		t.Fatalf("NHI1 finding after departure: %+v", page.Items)
	}
	if r := e.do("DELETE", "/scim/v2/Users/nobody@example.com", "scim-secret-0123456789", "", nil); r.status != 404 {
		t.Fatalf("unknown user: %d", r.status)
	}
	// Okta: one-time verification, then a deactivation event.
	if r := e.do("GET", "/hooks/okta", "", "", nil, "Authorization", "okta-secret-0123456789", "X-Okta-Verification-Challenge", "abc"); r.status != 200 || !strings.Contains(string(r.body), `"verification":"abc"`) {
		t.Fatalf("okta verify: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/hooks/okta", "", "", nil, "Authorization", "wrong", "X-Okta-Verification-Challenge", "abc"); r.status != 401 {
		t.Fatalf("okta wrong secret: %d", r.status)
	}
	body := `{"data":{"events":[{"eventType":"user.lifecycle.deactivate","target":[{"type":"User","id":"00uzzz","alternateId":"bob@example.com"}]}]}}`
	r = e.do("POST", "/hooks/okta", "", "application/json", strings.NewReader(body), "Authorization", "okta-secret-0123456789")
	if r.status != 200 || !strings.Contains(string(r.body), e.ownerB.ID) {
		t.Fatalf("okta deactivate: %d %s", r.status, r.body)
	}
	o, _ := e.svc.GetOwner(steward.WithPrincipal(t.Context(), steward.SystemPrincipal("t")), e.ownerB.ID)
	if o.Status != steward.OwnerDeparted {
		t.Fatalf("bob is %s", o.Status)
	}
}

func TestEvidenceAPI(t *testing.T) {
	e, _ := newPostureEnv(t)
	if r := e.do("GET", "/api/v1/reports/evidence", e.tokens["owner"], "", nil); r.status != 403 {
		t.Fatalf("owner: %d", r.status)
	}
	r := e.do("GET", "/api/v1/reports/evidence?from=2020-01-01T00:00:00Z", e.tokens["auditor"], "", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip: %d %s", r.status, r.header)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	for _, n := range []string{"index.html", "ownership.csv", "evidence.json", "manifest.json"} {
		if !names[n] {
			t.Fatalf("%s missing from %v", n, names)
		}
	}
	if r := e.do("GET", "/api/v1/reports/evidence?format=json", e.tokens["admin"], "", nil); r.status != 200 || !strings.Contains(string(r.body), "ownership_coverage") {
		t.Fatalf("json: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/reports/evidence?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z", e.tokens["admin"], "", nil); r.status != 400 {
		t.Fatalf("from after to: %d", r.status)
	}
}
