package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestRotationSurvivesSIGKILLBetweenSteps: a real `steward serve` on
// PostgreSQL dies (SIGKILL, through STEWARD_TEST_HALT_ROTATION_AFTER)
// right after each step of a PostgreSQL role's rotation. While it is down
// and after each restart, the secret custody holds logs in to PostgreSQL;
// a restarted node resumes the rotation to its end, after which the new
// secret works and the old one is refused.
func TestRotationSurvivesSIGKILLBetweenSteps(t *testing.T) {
	g := newPGTarget(t)
	bin := buildSteward(t)
	login := g.login
	adminRole := "crash_admin"
	for _, step := range []string{steward.StepCreate, steward.StepSet, steward.StepTest} {
		t.Run("killed after "+step, func(t *testing.T) {
			appRole := "crash_app_" + step
			g.role(t, adminRole, "adm-pw", "SUPERUSER")
			g.role(t, appRole, "first-pw", "")
			// Each subtest has a store of its own.
			db := sqltest.PostgresURL(t)
			// The resumption job runs at start: a node of another name
			// cannot take the rotation while the killed node's job lease
			// (30 s) lasts; the killed node's own name resumes at once.
			cfg := func(node string) string {
				p := filepath.Join(t.TempDir(), "steward.yaml")
				os.WriteFile(p, []byte("rotation:\n  node: "+node+"\n  resume_interval: 1s\n"), 0o600)
				return p
			}
			env := []string{"STEWARD_ADMIN_TOKEN=" + adminToken, "STEWARD_MASTER_KEY=" + testMasterKey}
			p := startProc(t, bin, append(env, haltRotationEnv+"="+step), "--db", db, "--config", cfg("crash-node"))

			adminURL := g.url(adminRole, "adm-pw")
			if code, err := p.api("POST", "/api/v1/rotators", map[string]any{"name": "pg", "kind": "postgres", "config": map[string]string{"url": adminURL}}, nil); code != 201 {
				t.Fatalf("create rotator: %d %v", code, err)
			}
			var ident steward.Identity
			if code, err := p.api("POST", "/api/v1/identities", map[string]any{"name": "app-db", "kind": "service_account", "unowned_reason": "crash test"}, &ident); code != 201 {
				t.Fatalf("identity: %d %v", code, err)
			}
			var key struct{ Secret string }
			if code, err := p.api("POST", "/api/v1/identities/"+ident.ID+"/credentials", map[string]any{}, &key); code != 201 {
				t.Fatalf("key: %d %v", code, err)
			}
			var cred struct{ ID string }
			if code, err := p.api("POST", "/api/v1/identities/"+ident.ID+"/credentials",
				map[string]any{"type": "password", "external_ref": appRole, "secret": "first-pw", "rotator": "pg"}, &cred); code != 201 {
				t.Fatalf("register: %d %v", code, err)
			}
			if err := login(appRole, "first-pw"); err != nil {
				t.Fatalf("before the rotation: %v", err)
			}
			current := func(p *proc) string {
				t.Helper()
				code, raw := httpDo(t, "GET", p.url+"/api/v1/credentials/"+cred.ID+"/secret", key.Secret, "", "")
				var m struct{ Secret string }
				if json.Unmarshal(raw, &m); code != 200 || m.Secret == "" {
					t.Fatalf("read secret: %d %s", code, raw)
				}
				return m.Secret
			}
			// The rotation request dies with the server.
			_, _ = p.api("POST", "/api/v1/credentials/"+cred.ID+"/rotate", map[string]any{"rotator": "pg", "overlap": "0s"}, nil)
			if err := p.cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("the server did not die after step %s: %v\n%s", step, err, p.logs.String())
			}

			// Another node, which may not resume yet: custody holds a secret
			// that works.
			p = startProc(t, bin, env, "--db", db, "--config", cfg("other-node"))
			var hist struct{ Items []*steward.Rotation }
			if _, err := p.api("GET", "/api/v1/credentials/"+cred.ID+"/rotations", nil, &hist); err != nil || len(hist.Items) != 1 ||
				hist.Items[0].Status != steward.RotationRunning || hist.Items[0].Step != step {
				t.Fatalf("after the kill: %v %+v", err, hist.Items)
			}
			if cur := current(p); login(appRole, cur) != nil {
				t.Fatalf("killed after %s: the secret in custody (first-pw: %v) does not log in: %v; first-pw logs in: %v; rotation %+v", step, cur == "first-pw", login(appRole, cur), login(appRole, "first-pw"), hist.Items[0])
			}
			p.cmd.Process.Kill()
			p.cmd.Wait()

			// Restarted with resumption: the rotation reaches its end.
			p = startProc(t, bin, env, "--db", db, "--config", cfg("crash-node"))
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := p.api("GET", "/api/v1/credentials/"+cred.ID+"/rotations", nil, &hist); err == nil && len(hist.Items) == 1 && hist.Items[0].Status != steward.RotationRunning {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the rotation was not resumed: %+v\n%s", hist.Items, p.logs.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			ro := hist.Items[0]
			now := current(p)
			if err := login(appRole, now); err != nil {
				t.Fatalf("after resuming (%s): the secret in custody does not log in: %v", ro.Status, err)
			}
			switch ro.Status {
			case steward.RotationSucceeded:
				if now == "first-pw" || login(appRole, "first-pw") == nil || !strings.Contains(ro.Proof, "refused") {
					t.Fatalf("succeeded, but the old password is not refused: %+v", ro)
				}
			case steward.RotationRolledBack, steward.RotationFailed:
				if now != "first-pw" {
					t.Fatalf("%s, but custody holds a new secret: %+v", ro.Status, ro)
				}
			}
			t.Logf("killed after %s: %s, %d attempts", step, ro.Status, ro.Attempts)
		})
	}
}
