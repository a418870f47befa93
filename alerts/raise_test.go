package alerts_test

import (
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// TestRaiseAlert: an alert raised from outside the detectors is written at
// once, notified, and a repeat within the window is counted into it.
func TestRaiseAlert(t *testing.T) {
	for _, tc := range []struct {
		name     string
		identity bool
	}{{"about an identity", true}, {"about Steward itself", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			eng, stop := e.start(nil)
			defer stop()
			r := steward.RaisedAlert{Detector: "audit_chain", Title: "The audit chain does not verify", Severity: steward.SeverityCritical,
				OWASP: "NHI10:2025", CSF: []string{"DE.CM-09"}, Evidence: map[string]any{"first_bad_seq": 7}}
			if tc.identity {
				r.IdentityID = e.id.ID
			}
			a, err := eng.RaiseAlert(admin, r)
			if err != nil || a == nil || a.Status != steward.AlertOpen || a.Severity != steward.SeverityCritical || a.IdentityID != r.IdentityID {
				t.Fatalf("raise: %+v %v", a, err)
			}
			stored, err := eng.GetAlert(admin, a.ID)
			if err != nil || stored.Detector != "audit_chain" || stored.Evidence["first_bad_seq"] == nil {
				t.Fatalf("not written at once: %+v %v", stored, err)
			}
			again, err := eng.RaiseAlert(admin, r)
			if err != nil || again.ID != a.ID || again.Count != 2 {
				t.Fatalf("a repeat opened another alert: %+v %v", again, err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(e.notes.All()) < 1 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if len(e.notes.All()) != 1 {
				t.Fatalf("%d notifications, want 1", len(e.notes.All()))
			}
			if _, err := eng.RaiseAlert(admin, steward.RaisedAlert{Detector: "x", Title: "t", Severity: "dire"}); steward.ErrorCode(err) != steward.EINVALID {
				t.Fatalf("a bad severity: %v", err)
			}
		})
	}
}
