package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// eventually polls cond every 100 ms until it holds or timeout passes, and
// then fails with what cond last said.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scheduledServer is a `steward serve` with rotation.schedule on (every
// second, no jitter to speak of) and an identity whose password is in
// custody under a rotator of the given admin password.
type scheduledServer struct {
	*server
	g     *pgTarget
	ident steward.Identity
	key   string // the identity's own API key, to read its secret
	cred  struct{ ID, Fingerprint string }
	role  string
}

// startScheduled starts the server (dry run or not), creates rotator "pg"
// on admin role adminRole with adminPW, and an identity last rotated long
// ago, so it is due; it waits for posture's rotation.overdue before the
// password is registered, so the finding is seen open before the schedule
// can rotate.
func startScheduled(t *testing.T, g *pgTarget, dryRun bool, adminRole, adminPW, appRole string) *scheduledServer {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "steward.yaml")
	yaml := fmt.Sprintf("rotation:\n  schedule:\n    enabled: true\n    dry_run: %v\n    interval: 1s\n    jitter: 1ms\n    backoff_base: 1h\nposture:\n  poll: 500ms\n", dryRun)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &scheduledServer{server: startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey},
		"--data-dir", t.TempDir(), "--config", cfg), g: g, role: appRole}
	if st, m := s.api(t, "POST", "/api/v1/rotators", adminToken, fmt.Sprintf(`{"name":"pg","kind":"postgres","config":{"url":%q}}`, g.url(adminRole, adminPW))); st != 201 {
		t.Fatalf("create rotator: %d %v", st, m)
	}
	st, body := httpDo(t, "POST", s.url+"/api/v1/identities", adminToken, "application/json",
		`{"name":"app-db","kind":"service_account","unowned_reason":"scheduled rotation test","last_rotated_at":"2020-01-01T00:00:00Z"}`)
	if st != 201 || json.Unmarshal(body, &s.ident) != nil {
		t.Fatalf("create identity: %d %s", st, body)
	}
	s.key = strings.TrimSpace(mustOut(t)(s.credCLI(t, "credential", "issue", s.ident.ID)))
	eventually(t, 20*time.Second, "rotation.overdue opens", func() (bool, string) {
		f := s.finding(t, "rotation.overdue")
		return f != nil && f.Status == steward.FindingOpen, fmt.Sprintf("%+v", f)
	})
	st, body = httpDo(t, "POST", s.url+"/api/v1/identities/"+s.ident.ID+"/credentials", adminToken, "application/json",
		fmt.Sprintf(`{"type":"password","external_ref":%q,"secret":"first-pw","rotator":"pg"}`, appRole))
	if st != 201 {
		t.Fatalf("register: %d %s", st, body)
	}
	_ = json.Unmarshal(body, &s.cred)
	return s
}

func (s *scheduledServer) api(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	status, raw := httpDo(t, method, s.url+path, token, "application/json", body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return status, m
}

// finding returns the identity's finding of check (nil when none).
func (s *scheduledServer) finding(t *testing.T, check string) *steward.Finding {
	t.Helper()
	_, raw := httpDo(t, "GET", s.url+"/api/v1/findings?identity_id="+s.ident.ID+"&check="+check, adminToken, "", "")
	var page struct{ Items []*steward.Finding }
	if json.Unmarshal(raw, &page) != nil || len(page.Items) == 0 {
		return nil
	}
	return page.Items[0]
}

// rotations returns the credential's rotations, newest first.
func (s *scheduledServer) rotations(t *testing.T) []*steward.Rotation {
	t.Helper()
	_, raw := httpDo(t, "GET", s.url+"/api/v1/credentials/"+s.cred.ID+"/rotations", adminToken, "", "")
	var h struct{ Items []*steward.Rotation }
	_ = json.Unmarshal(raw, &h)
	return h.Items
}

// firstRotation waits for the credential's first rotation to finish (to
// start, for a dry run, which finishes at once) and returns it.
func (s *scheduledServer) firstRotation(t *testing.T, what string) *steward.Rotation {
	t.Helper()
	var ro *steward.Rotation
	eventually(t, 30*time.Second, what, func() (bool, string) {
		rs := s.rotations(t)
		if len(rs) > 0 && rs[len(rs)-1].Status != steward.RotationRunning {
			ro = rs[len(rs)-1]
			return true, ""
		}
		return false, fmt.Sprintf("%+v", rs)
	})
	return ro
}

// secret is the current secret, read by the identity itself.
func (s *scheduledServer) secret(t *testing.T) string {
	t.Helper()
	_, m := s.api(t, "GET", "/api/v1/credentials/"+s.cred.ID+"/secret", s.key, "")
	v, _ := m["secret"].(string)
	return v
}

// TestScheduledRotationEndToEnd runs a real `steward serve` with
// rotation.schedule on against a real PostgreSQL: a due password is
// rotated on its own (new fingerprint, old password refused, the overdue
// finding resolved); a rotator with a wrong admin password fails, raises
// the rotation_failed alert and the rotation.failed finding, the old
// password still in force; dry-run mode reports and changes nothing.
func TestScheduledRotationEndToEnd(t *testing.T) {
	g := newPGTarget(t)
	g.role(t, "sched_admin", "adm-pw", "SUPERUSER")

	t.Run("a due password is rotated on its own and the overdue finding resolves", func(t *testing.T) {
		g.role(t, "sched_app_ok", "first-pw", "")
		s := startScheduled(t, g, false, "sched_admin", "adm-pw", "sched_app_ok")
		ro := s.firstRotation(t, "the schedule rotates the password")
		if ro.Status != steward.RotationSucceeded || ro.DryRun || ro.Actor != "system:rotation-schedule" || !strings.Contains(ro.Proof, "refused") {
			t.Fatalf("scheduled rotation: %+v\n%s", ro, s.logs.String())
		}
		pw := s.secret(t)
		if pw == "" || pw == "first-pw" || steward.Fingerprint([]byte(pw)) != ro.NewFingerprint {
			t.Fatalf("the identity reads %q after rotation %+v", pw, ro)
		}
		if err := g.login(s.role, pw); err != nil {
			t.Fatalf("the new password: %v", err)
		}
		if err := g.login(s.role, "first-pw"); err == nil {
			t.Fatal("PostgreSQL still accepts the old password")
		}
		_, evs := s.api(t, "GET", "/api/v1/events?identity_id="+s.ident.ID+"&limit=100", adminToken, "")
		body, _ := json.Marshal(evs)
		for _, want := range []string{steward.ActionCredentialRotate, steward.ActionRevocationProven, s.cred.Fingerprint, ro.NewFingerprint, "scheduled: due at"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the identity's events lack %q", want)
			}
		}
		eventually(t, 20*time.Second, "rotation.overdue resolves", func() (bool, string) {
			f := s.finding(t, "rotation.overdue")
			return f != nil && f.Status == steward.FindingResolved, fmt.Sprintf("%+v", f)
		})
		if f := s.finding(t, "rotation.failed"); f != nil {
			t.Errorf("a successful rotation has a rotation.failed finding: %+v", f)
		}
	})

	t.Run("a wrong admin password fails, raises the alert and the rotation.failed finding", func(t *testing.T) {
		g.role(t, "sched_app_bad", "first-pw", "")
		s := startScheduled(t, g, false, "sched_admin", "not-the-password", "sched_app_bad")
		ro := s.firstRotation(t, "the scheduled rotation fails")
		if ro.Status != steward.RotationFailed || !strings.Contains(ro.Error, "password authentication failed") {
			t.Fatalf("rotation: %+v", ro)
		}
		if pw := s.secret(t); pw != "first-pw" || g.login(s.role, "first-pw") != nil {
			t.Fatalf("the old password is not in force: custody %q, login %v", pw, g.login(s.role, "first-pw"))
		}
		eventually(t, 20*time.Second, "the rotation_failed alert", func() (bool, string) {
			_, raw := httpDo(t, "GET", s.url+"/api/v1/alerts?detector=rotation_failed&identity_id="+s.ident.ID, adminToken, "", "")
			var page struct{ Items []*steward.Alert }
			_ = json.Unmarshal(raw, &page)
			return len(page.Items) == 1 && page.Items[0].CredentialID == s.cred.ID, string(raw)
		})
		var f *steward.Finding
		eventually(t, 20*time.Second, "rotation.failed opens", func() (bool, string) {
			f = s.finding(t, "rotation.failed")
			return f != nil && f.Status == steward.FindingOpen, fmt.Sprintf("%+v", f)
		})
		if f.CredentialID != s.cred.ID || f.Evidence["failed_step"] != steward.StepSet || f.Evidence["rotation"] != ro.ID ||
			!strings.Contains(fmt.Sprint(f.Evidence["error"]), "password authentication failed") || f.Evidence["old_secret_in_force"] != true {
			t.Errorf("rotation.failed: %+v", f)
		}
		if f := s.finding(t, "rotation.overdue"); f == nil || f.Status != steward.FindingOpen {
			t.Errorf("rotation.overdue after a failure: %+v", f)
		}
	})

	t.Run("dry-run mode reports without rotating", func(t *testing.T) {
		g.role(t, "sched_app_dry", "first-pw", "")
		s := startScheduled(t, g, true, "sched_admin", "adm-pw", "sched_app_dry")
		ro := s.firstRotation(t, "the schedule's dry run")
		if !ro.DryRun || ro.Status != steward.RotationSucceeded || !strings.Contains(ro.TestResult, "nothing changed") {
			t.Fatalf("dry run: %+v", ro)
		}
		time.Sleep(2 * time.Second) // two more schedule intervals
		if rs := s.rotations(t); len(rs) != 1 {
			t.Errorf("dry-run mode checks once a day; rotations: %+v", rs)
		}
		if pw := s.secret(t); pw != "first-pw" || g.login(s.role, "first-pw") != nil {
			t.Fatalf("a dry run changed the password: custody %q, login %v", pw, g.login(s.role, "first-pw"))
		}
		if f := s.finding(t, "rotation.overdue"); f == nil || f.Status != steward.FindingOpen {
			t.Errorf("rotation.overdue after a dry run: %+v", f)
		}
	})
}
