package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// AlertStore is a store that also keeps alerts.
type AlertStore interface {
	steward.Store
	steward.AlertStore
}

// RunAlerts runs the alerts capability's part of the suite.
func RunAlerts[S AlertStore](t *testing.T, open func(t testing.TB) S) {
	run(t, func(t testing.TB) AlertStore { return open(t) }, []test[AlertStore]{
		{"alerts round-trip and a second save updates occurrences, not the status", testAlertRoundTrip},
		{"alerts are listed newest first with filters and cursors", testAlertList},
		{"live alerts are the open and acknowledged ones seen since a time", testLiveAlerts},
		{"an alert update commits with its event or not at all", testAlertUpdate},
		{"baselines round-trip and a save replaces them", testBaselines},
		{"dead letters are listed newest first", testDeadLetters},
	})
}

func newAlert(detector, identityID string, at time.Time, mod func(a *steward.Alert)) *steward.Alert {
	a := &steward.Alert{ID: ids.New("alr_", at), Key: detector + ":" + identityID, Detector: detector, Title: detector + " on " + identityID,
		Severity: steward.SeverityHigh, Status: steward.AlertOpen, IdentityID: identityID, Team: "payments", Environment: "prod",
		Sensitivity: steward.SensitivityHigh, Evidence: map[string]any{"new": "10.9.8.0/24", "known": []any{"10.0.0.0/24"}},
		OWASP: "NHI2:2025", CSF: []string{"DE.CM-09", "DE.AE-02"}, FirstSeen: at, LastSeen: at, Count: 1, UpdatedAt: at}
	if mod != nil {
		mod(a)
	}
	return a
}

func testAlertRoundTrip(t *testing.T, s AlertStore) {
	ctx := context.Background()
	a := newAlert("new_network", "nhi_1", base, func(a *steward.Alert) { a.CredentialID, a.OwnerID = "crd_1", "own_1" })
	if err := s.SaveAlerts(ctx, []*steward.Alert{a}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", a) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
	}
	if _, err := s.UpdateAlert(ctx, a.ID, func(_ steward.Tx, a *steward.Alert) error { a.Status = steward.AlertAcknowledged; return nil }); err != nil {
		t.Fatal(err)
	}
	// The detectors save occurrences; they never undo a person's status.
	a.Count, a.LastSeen, a.Response = 7, base.Add(time.Minute), "suspended identity"
	if err := s.SaveAlerts(ctx, []*steward.Alert{a}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetAlert(ctx, a.ID)
	if got.Count != 7 || !got.LastSeen.Equal(a.LastSeen) || got.Response != a.Response || got.Status != steward.AlertAcknowledged {
		t.Fatalf("after a second save: %+v", got)
	}
	_, err = s.GetAlert(ctx, "alr_missing")
	wantCode(t, err, steward.ENOTFOUND)
}

func testAlertList(t *testing.T, s AlertStore) {
	ctx := context.Background()
	var all []*steward.Alert
	for n := range 5 {
		at := base.Add(time.Duration(n) * time.Second)
		all = append(all, newAlert("new_network", "nhi_a", at, nil))
	}
	all = append(all, newAlert("honeytoken", "nhi_b", base.Add(10*time.Second), func(a *steward.Alert) {
		a.Severity, a.Status, a.OwnerID = steward.SeverityCritical, steward.AlertResolved, "own_b"
	}))
	if err := s.SaveAlerts(ctx, all); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    steward.AlertFilter
		want int
	}{
		{"no filter lists all", steward.AlertFilter{}, 6},
		{"by identity", steward.AlertFilter{IdentityID: "nhi_a"}, 5},
		{"by detector", steward.AlertFilter{Detector: "honeytoken"}, 1},
		{"by severity", steward.AlertFilter{Severity: steward.SeverityCritical}, 1},
		{"by status", steward.AlertFilter{Status: steward.AlertOpen}, 5},
		{"by owner", steward.AlertFilter{OwnerID: "own_b"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.ListAlerts(ctx, tc.f)
			if err != nil || len(p.Items) != tc.want {
				t.Fatalf("got %d items, %v; want %d", len(p.Items), err, tc.want)
			}
		})
	}
	p, err := s.ListAlerts(ctx, steward.AlertFilter{})
	if err != nil || p.Items[0].Detector != "honeytoken" {
		t.Fatalf("newest first: %v %v", p.Items[0].Detector, err)
	}
	seen, _ := allPages(t, func(cursor string) (*steward.Page[*steward.Alert], error) {
		return s.ListAlerts(ctx, steward.AlertFilter{IdentityID: "nhi_a", Limit: 2, Cursor: cursor})
	})
	if len(seen) != 5 || seen[0].ID != all[4].ID || seen[4].ID != all[0].ID {
		t.Fatalf("pages: %v", seen)
	}
	_, err = s.ListAlerts(ctx, steward.AlertFilter{Status: "bogus"})
	wantCode(t, err, steward.EINVALID)
	_, err = s.ListAlerts(ctx, steward.AlertFilter{Cursor: "bogus"})
	wantCode(t, err, steward.EINVALID)
}

func testLiveAlerts(t *testing.T, s AlertStore) {
	ctx := context.Background()
	old := newAlert("rate_spike", "nhi_a", base.Add(-time.Hour), nil)
	open := newAlert("new_network", "nhi_a", base, nil)
	acked := newAlert("new_action", "nhi_a", base, func(a *steward.Alert) { a.Status = steward.AlertAcknowledged })
	done := newAlert("off_hours", "nhi_a", base, func(a *steward.Alert) { a.Status = steward.AlertFalsePositive })
	if err := s.SaveAlerts(ctx, []*steward.Alert{old, open, acked, done}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LiveAlerts(ctx, base.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range got {
		keys = append(keys, a.Detector)
	}
	if !sameSet(keys, []string{"new_network", "new_action"}, false) {
		t.Fatalf("live: %v", keys)
	}
}

func testAlertUpdate(t *testing.T, s AlertStore) {
	ctx := context.Background()
	a := newAlert("new_network", "nhi_a", base, nil)
	if err := s.SaveAlerts(ctx, []*steward.Alert{a}); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateAlert(ctx, a.ID, func(tx steward.Tx, a *steward.Alert) error {
		a.Status = steward.AlertResolved
		if err := tx.AppendEvent(ctx, &steward.Event{ID: ids.New(ids.Event, base), Time: base, Actor: "test", Action: steward.ActionAlertResolve,
			SubjectType: steward.SubjectAlert, SubjectID: a.ID}); err != nil {
			return err
		}
		return steward.Errorf(steward.ECONFLICT, "changed my mind")
	})
	wantCode(t, err, steward.ECONFLICT)
	if got, _ := s.GetAlert(ctx, a.ID); got.Status != steward.AlertOpen {
		t.Fatalf("a failed update changed the alert: %s", got.Status)
	}
	got, err := s.UpdateAlert(ctx, a.ID, func(tx steward.Tx, a *steward.Alert) error {
		a.Status, a.ActedBy, a.ActedAt = steward.AlertAcknowledged, "token:1", tptr(base.Add(time.Minute))
		return tx.AppendEvent(ctx, &steward.Event{ID: ids.New(ids.Event, base), Time: base, Actor: "token:1", Action: steward.ActionAlertAcknowledge,
			SubjectType: steward.SubjectAlert, SubjectID: a.ID})
	})
	if err != nil || got.Status != steward.AlertAcknowledged {
		t.Fatalf("update: %v %+v", err, got)
	}
	evs, err := s.ListEvents(ctx, steward.EventFilter{Action: steward.ActionAlertAcknowledge})
	if err != nil || len(evs.Items) != 1 || evs.Items[0].SubjectID != a.ID {
		t.Fatalf("events: %v %+v", err, evs)
	}
	_, err = s.UpdateAlert(ctx, "alr_missing", func(steward.Tx, *steward.Alert) error { return nil })
	wantCode(t, err, steward.ENOTFOUND)
}

func testBaselines(t *testing.T, s AlertStore) {
	ctx := context.Background()
	in := []steward.Baseline{
		{IdentityID: "nhi_a", Data: []byte(`{"n":1}`), UpdatedAt: base},
		{IdentityID: "nhi_b", Data: []byte(`{"n":2}`), UpdatedAt: base},
	}
	if err := s.SaveBaselines(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBaselines(ctx, []steward.Baseline{{IdentityID: "nhi_a", Data: []byte(`{"n":3}`), UpdatedAt: base.Add(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	if err := s.LoadBaselines(ctx, func(b steward.Baseline) error { got[b.IdentityID] = string(b.Data); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["nhi_a"] != `{"n":3}` || got["nhi_b"] != `{"n":2}` {
		t.Fatalf("baselines: %v", got)
	}
}

func testDeadLetters(t *testing.T, s AlertStore) {
	ctx := context.Background()
	for n := range 3 {
		d := &steward.DeadLetter{ID: ids.New("dlq_", base), Sink: "hook", Error: "503 Service Unavailable", Attempts: 5, CreatedAt: base.Add(time.Duration(n) * time.Second),
			Notification: steward.Notification{Kind: "alert", Severity: "critical", Title: fmt.Sprint("n", n), Time: base, Fields: map[string]string{"detector": "honeytoken"}}}
		if err := s.AddDeadLetter(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListDeadLetters(ctx, 2)
	if err != nil || len(got) != 2 || got[0].Notification.Title != "n2" || got[0].Notification.Fields["detector"] != "honeytoken" || got[0].Attempts != 5 {
		t.Fatalf("dead letters: %v %+v", err, got)
	}
}
