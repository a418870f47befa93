package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/rotation/redis/redistest"
)

// TestRedisRotationEndToEnd drives the Redis rotator through the CLI and
// the API against a real redis-server: a rotator with its admin password
// in custody, a rotation whose old password is refused, and a lease whose
// revocation deletes the ACL user.
func TestRedisRotationEndToEnd(t *testing.T) {
	rs := redistest.Start(t)
	if got := rs.Admin(t, "ACL", "SETUSER", "app", "on", ">first-pw", "~app:*", "+@read"); got != "+OK" {
		t.Fatal(got)
	}
	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey}, "--data-dir", t.TempDir())
	out := s.mustCLI(t, "rotation", "add-rotator", "cache", "--kind", "redis", "--url", rs.URL, "--config", "acl_save=true", "-o", "json")
	if strings.Contains(out, redistest.AdminPassword) || !strings.Contains(out, "redis") {
		t.Fatalf("add-rotator: %s", out)
	}
	var ident steward.Identity
	decode(t, s.mustCLI(t, "identity", "create", "--name", "app-cache", "--kind", "service_account", "--unowned-reason", "e2e cache account", "-o", "json"), &ident)
	st, raw := httpDo(t, "POST", s.url+"/api/v1/identities/"+ident.ID+"/credentials", adminToken, "application/json",
		`{"type":"password","external_ref":"app","secret":"first-pw","rotator":"cache"}`)
	if st != 201 || strings.Contains(string(raw), "first-pw") {
		t.Fatalf("register: %d %s", st, raw)
	}
	var cred struct{ ID string }
	_ = json.Unmarshal(raw, &cred)

	var ro steward.Rotation
	decode(t, s.mustCLI(t, "rotation", "run", cred.ID, "--overlap", "0s", "-o", "json"), &ro)
	if ro.Status != steward.RotationSucceeded || !strings.Contains(ro.Proof, "refused") {
		t.Fatalf("rotation: %+v", ro)
	}
	if err := rs.Login("app", "first-pw"); err == nil {
		t.Fatal("the old password still works")
	}
	st, raw = httpDo(t, "POST", s.url+"/api/v1/leases", adminToken, "application/json",
		fmt.Sprintf(`{"rotator":"cache","identity_id":%q,"ttl":"10m","creation_statements":["ACL SETUSER {{name}} on >{{password}} ~lease:* +get"]}`, ident.ID))
	var grant struct{ ID, Username, Password string }
	if err := json.Unmarshal(raw, &grant); st != 201 || err != nil {
		t.Fatalf("lease: %d %s", st, raw)
	}
	if err := rs.Login(grant.Username, grant.Password); err != nil {
		t.Fatalf("lease login: %v", err)
	}
	if st, raw := httpDo(t, "POST", s.url+"/api/v1/leases/"+grant.ID+"/revoke", adminToken, "application/json", ""); st != 200 || !strings.Contains(string(raw), `"provider"`) {
		t.Fatalf("revoke lease: %d %s", st, raw)
	}
	if err := rs.Login(grant.Username, grant.Password); err == nil {
		t.Fatal("the revoked lease still logs in")
	}
}
