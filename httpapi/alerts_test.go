package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/alerts"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestAlertsRoutes drives the alerts API over a real engine: a usage event
// with outcome revoked, recorded through the engine (the recorder every
// usage event goes through), is listed for the identity and acted on.
func TestAlertsRoutes(t *testing.T) {
	st := sqltest.SQLite(t)
	eng, err := alerts.New(alerts.Config{Store: st, Inventory: st, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	e := newEnv(t, func(testing.TB) steward.Store { return st }, func(d *httpapi.Deps) { d.Alerts = eng })

	eng.Record(context.Background(), steward.UsageEvent{Kind: steward.UsageAuth, IdentityID: e.identA.ID, CredentialID: "crd_1", Outcome: "revoked", Source: "203.0.113.7"})
	if err := eng.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Items      []steward.Alert `json:"items"`
		NextCursor string          `json:"next_cursor"`
	}
	r := e.call("GET", "/api/v1/alerts?identity_id="+e.identA.ID, "operator", nil)
	r.json(t, &page)
	if r.status != 200 || len(page.Items) != 1 || page.Items[0].Detector != alerts.DetRevokedUse || page.Items[0].Status != steward.AlertOpen {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	id := page.Items[0].ID

	tests := []struct {
		name, method, path, role string
		body                     any
		status                   int
		field                    string
	}{
		{"the owner of the identity sees its alert", "GET", "/api/v1/alerts/" + id, "owner", nil, 200, ""},
		{"an auditor reads", "GET", "/api/v1/alerts?detector=revoked_use&severity=critical&status=open", "auditor", nil, 200, ""},
		{"a bad severity names the field", "GET", "/api/v1/alerts?severity=urgent", "admin", nil, 400, "severity"},
		{"a bad status names the field", "GET", "/api/v1/alerts?status=closed", "admin", nil, 400, "status"},
		{"an unknown parameter is refused", "GET", "/api/v1/alerts?colour=red", "admin", nil, 400, "colour"},
		{"a bad cursor names the field", "GET", "/api/v1/alerts?cursor=xyz", "admin", nil, 400, "cursor"},
		{"an auditor may not acknowledge", "POST", "/api/v1/alerts/" + id + "/ack", "auditor", nil, 403, ""},
		{"an unknown alert", "POST", "/api/v1/alerts/alr_nope/ack", "admin", nil, 404, ""},
		{"an operator acknowledges with a note", "POST", "/api/v1/alerts/" + id + "/ack", "operator", map[string]string{"note": "looking"}, 200, ""},
		{"a second acknowledgement conflicts", "POST", "/api/v1/alerts/" + id + "/ack", "operator", nil, 409, ""},
		{"an unknown body field is named", "POST", "/api/v1/alerts/" + id + "/resolve", "operator", map[string]string{"nope": "x"}, 400, "nope"},
		{"the owner resolves its own alert", "POST", "/api/v1/alerts/" + id + "/resolve", "owner", nil, 200, ""},
		{"a resolved alert cannot be a false positive", "POST", "/api/v1/alerts/" + id + "/false-positive", "admin", nil, 409, ""},
		{"the owner role may not read dead letters", "GET", "/api/v1/alerts/dead-letters", "owner", nil, 403, ""},
		{"an auditor reads dead letters", "GET", "/api/v1/alerts/dead-letters?limit=10", "auditor", nil, 200, ""},
		{"a too large limit", "GET", "/api/v1/alerts/dead-letters?limit=5000", "admin", nil, 400, "limit"},
		{"an operator may not send test notifications", "POST", "/api/v1/alerts/test-notification", "operator", nil, 403, ""},
		{"an admin sends a test notification", "POST", "/api/v1/alerts/test-notification", "admin", map[string][]string{"sinks": {}}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path, tc.role, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.field != "" {
				if p := r.problem(t); p.Field != tc.field {
					t.Fatalf("field %q, want %q", p.Field, tc.field)
				}
			}
		})
	}
	evs, _ := st.ListEvents(context.Background(), steward.EventFilter{IdentityID: e.identA.ID, Action: steward.ActionAlertResolve})
	if len(evs.Items) != 1 {
		t.Fatalf("resolve events: %d", len(evs.Items))
	}
	// Without the capability the routes answer 501.
	other := newEnv(t, sqltest.OpenSQLite, func(d *httpapi.Deps) {})
	if r := other.call("GET", "/api/v1/alerts", "admin", nil); r.status != http.StatusNotImplemented {
		t.Fatalf("without the capability: %d", r.status)
	}
}
