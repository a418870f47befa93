package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
)

// TestCustodyRotationEndToEnd follows the contract against a real
// PostgreSQL: a rotator, a password in custody, reads only by the identity
// itself, a rotation with proof, and a lease whose revocation drops the role.
func TestCustodyRotationEndToEnd(t *testing.T) {
	g := newPGTarget(t)
	suffix := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))[:12]
	adminRole, appRole := "e2e_admin_"+suffix, "e2e_app_"+suffix
	g.role(t, adminRole, "adm-pw", "SUPERUSER")
	g.role(t, appRole, "first-pw", "")
	login := g.login

	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey}, "--data-dir", t.TempDir())
	api := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		status, raw := httpDo(t, method, s.url+path, token, "application/json", body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return status, m
	}
	adminURL := g.url(adminRole, "adm-pw")
	if st, m := api("POST", "/api/v1/rotators", adminToken, fmt.Sprintf(`{"name":"pg","kind":"postgres","config":{"url":%q}}`, adminURL)); st != 201 {
		t.Fatalf("create rotator: %d %v", st, m)
	}
	if st, raw := httpDo(t, "GET", s.url+"/api/v1/rotators/pg", adminToken, "", ""); st != 200 || strings.Contains(string(raw), "adm-pw") {
		t.Fatalf("get rotator: %d %s", st, raw)
	}
	var ident steward.Identity
	decode(t, s.mustCLI(t, "identity", "create", "--name", "app-db", "--kind", "service_account", "--unowned-reason", "e2e database account", "-o", "json"), &ident)
	key := strings.TrimSpace(mustOut(t)(s.credCLI(t, "credential", "issue", ident.ID)))

	st, raw := httpDo(t, "POST", s.url+"/api/v1/identities/"+ident.ID+"/credentials", adminToken, "application/json",
		fmt.Sprintf(`{"type":"password","external_ref":%q,"secret":"first-pw","rotator":"pg"}`, appRole))
	if st != 201 || strings.Contains(string(raw), "first-pw") {
		t.Fatalf("register: %d %s", st, raw)
	}
	var cred struct{ ID, Fingerprint string }
	_ = json.Unmarshal(raw, &cred)

	if st, m := api("GET", "/api/v1/credentials/"+cred.ID+"/secret", key, ""); st != 200 || m["secret"] != "first-pw" {
		t.Fatalf("the identity reads its secret: %d %v", st, m)
	}
	_, tok := api("POST", "/api/v1/tokens", adminToken, `{"role":"auditor"}`)
	if st, m := api("GET", "/api/v1/credentials/"+cred.ID+"/secret", tok["token"].(string), ""); st != 403 {
		t.Fatalf("auditor: %d %v", st, m)
	}
	if st, raw := httpDo(t, "GET", s.url+"/api/v1/identities/"+ident.ID+"/credentials", adminToken, "", ""); st != 200 || strings.Contains(string(raw), "first-pw") {
		t.Fatalf("list: %d %s", st, raw)
	}

	st, rot := api("POST", "/api/v1/credentials/"+cred.ID+"/rotate", adminToken, `{"rotator":"pg","overlap":"0s"}`)
	if st != 201 || rot["status"] != "succeeded" || !strings.Contains(fmt.Sprint(rot["proof"]), "refused") {
		t.Fatalf("rotate: %d %v", st, rot)
	}
	_, sec := api("GET", "/api/v1/credentials/"+cred.ID+"/secret", key, "")
	newPW, _ := sec["secret"].(string)
	if newPW == "" || newPW == "first-pw" {
		t.Fatalf("secret after rotation: %v", sec)
	}
	if err := login(appRole, newPW); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if err := login(appRole, "first-pw"); err == nil {
		t.Fatal("old password still works")
	}
	_, evs := api("GET", "/api/v1/events?identity_id="+ident.ID+"&limit=100", adminToken, "")
	body, _ := json.Marshal(evs)
	for _, want := range []string{steward.ActionCredentialRotate, steward.ActionRevocationProven, cred.Fingerprint, fmt.Sprint(rot["new_fingerprint"])} {
		if !strings.Contains(string(body), want) {
			t.Errorf("events lack %q", want)
		}
	}
	// The metrics count the persisted steps, the last one succeeded.
	if code, body := httpDo(t, "GET", s.url+"/metrics", adminToken, "", ""); code != 200 ||
		!strings.Contains(string(body), `steward_rotation_steps_total{status="succeeded",step="finish"} 1`) {
		t.Errorf("metrics: %d, no finished rotation in:\n%s", code, body)
	}
	hist := s.mustCLI(t, "rotation", "history", cred.ID, "-o", "json")
	if !strings.Contains(hist, fmt.Sprint(rot["id"])) {
		t.Errorf("rotation history: %s", hist)
	}

	var grant struct{ ID, Username, Password string }
	decode(t, s.mustCLI(t, "lease", "create", "--rotator", "pg", "--identity", ident.ID, "--ttl", "10m", "-o", "json",
		"--statement", `CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`), &grant)
	if err := login(grant.Username, grant.Password); err != nil {
		t.Fatalf("lease login: %v", err)
	}
	if st, m := api("POST", "/api/v1/leases/"+grant.ID+"/revoke", adminToken, ""); st != 200 || m["revoked_where"] != "provider" {
		t.Fatalf("revoke lease: %d %v", st, m)
	}
	if err := login(grant.Username, grant.Password); err == nil {
		t.Fatal("revoked lease still logs in")
	}

	// The evidence pack lists the rotation as performed and verified, and
	// the old password and the lease's role as proven revoked, each with
	// its audit seqs.
	dir := filepath.Join(t.TempDir(), "pack")
	s.mustCLI(t, "report", "evidence", "--from", "2020-01-01", "--dir", dir)
	verified, err := os.ReadFile(filepath.Join(dir, "rotations_verified.csv"))
	if err != nil || !strings.Contains(string(verified), fmt.Sprint(rot["id"])) || !strings.Contains(string(verified), cred.Fingerprint) ||
		!strings.Contains(string(verified), ",true,") {
		t.Errorf("rotations_verified.csv (%v):\n%s", err, verified)
	}
	proven, err := os.ReadFile(filepath.Join(dir, "revocations_proven.csv"))
	if err != nil || !strings.Contains(string(proven), cred.ID) || !strings.Contains(string(proven), grant.ID) || !strings.Contains(string(proven), ",provider,") {
		t.Errorf("revocations_proven.csv (%v):\n%s", err, proven)
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	for _, f := range []string{"rotations_verified.csv", "revocations_proven.csv"} {
		if !strings.Contains(string(manifest), f) {
			t.Errorf("the manifest does not list %s", f)
		}
	}
}
