package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/steward-nhi/steward/internal/roundrobin"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestClusterOfThreeNodes runs three nodes on one PostgreSQL with one
// issuer, behind the round-robin balancer scripts/cluster uses: what one
// node issues, the others accept, and what one node revokes, the others
// refuse.
func TestClusterOfThreeNodes(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	db := sqltest.PostgresURL(t)
	cfg := filepath.Join(t.TempDir(), "steward.yaml")
	if err := os.WriteFile(cfg, []byte("broker:\n  issuer: http://steward.cluster.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey}
	var nodes []*server
	for range 3 {
		nodes = append(nodes, startServer(t, env, "--db", db, "--config", cfg, "--log-level", "warn"))
	}
	a, b, c := nodes[0].url, nodes[1].url, nodes[2].url
	lb, err := roundrobin.New([]string{a, b, c}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if up := lb.Check(context.Background()); up != 3 {
		t.Fatalf("%d of 3 nodes ready", up)
	}
	front := httptest.NewServer(lb)
	defer front.Close()

	// Issue on node A.
	id, issued := newIssuedIdentity(t, a, []string{"deploy"}, "api_key", "client_secret")
	key, client := issued[0], issued[1]
	cc := clientcredentials.Config{ClientID: client.ClientID, ClientSecret: client.Secret, TokenURL: a + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("access token from A: %v", err)
	}

	// Through the balancer, every node answers in turn and accepts the key.
	seen := map[string]int{}
	for range 6 {
		res, err := front.Client().Get(front.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		seen[res.Header.Get(roundrobin.BackendHeader)]++
		if st, body := httpDo(t, "GET", front.URL+"/api/v1/whoami", key.Secret, "", ""); st != 200 || !strings.Contains(string(body), id.ID) {
			t.Fatalf("whoami with the key through the balancer: %d %s", st, body)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("the balancer used %v", seen)
	}
	active := func(node string) bool {
		t.Helper()
		st, body := httpDo(t, "POST", node+"/oauth2/introspect", adminToken, "application/x-www-form-urlencoded", url.Values{"token": {tok.AccessToken}}.Encode())
		if st != 200 {
			t.Fatalf("introspect on %s: %d %s", node, st, body)
		}
		var in struct {
			Active bool   `json:"active"`
			Iss    string `json:"iss"`
		}
		json.Unmarshal(body, &in)
		if in.Active && in.Iss != "http://steward.cluster.test" {
			t.Fatalf("introspection on %s names the issuer %q", node, in.Iss)
		}
		return in.Active
	}
	for _, n := range []string{b, c} {
		if st, body := httpDo(t, "GET", n+"/api/v1/whoami", key.Secret, "", ""); st != 200 {
			t.Fatalf("the key from A on %s: %d %s", n, st, body)
		}
		if !active(n) {
			t.Fatalf("the access token from A is not active on %s", n)
		}
	}

	// Revoke on A; B and C refuse the key and the token soon after.
	if st, body := httpDo(t, "POST", a+"/api/v1/identities/"+id.ID+"/revoke", adminToken, "application/json", `{"reason":"incident"}`); st != 200 {
		t.Fatalf("revoke on A: %d %s", st, body)
	}
	revoked := time.Now()
	// Node A answered the revocation only once nothing cached there could
	// let the identity in: its refusal is immediate, not eventual.
	if st, body := httpDo(t, "GET", a+"/api/v1/whoami", key.Secret, "", ""); st != 401 {
		t.Fatalf("node A accepts the key right after it answered the revocation: %d %s", st, body)
	}
	if active(a) {
		t.Fatal("node A reports the access token active right after it answered the revocation")
	}
	// B and C hear of it through LISTEN/NOTIFY (100 ms target; the
	// assertion leaves room for a loaded CI machine).
	for _, n := range []struct{ name, url string }{{"B", b}, {"C", c}} {
		var keyAfter, tokAfter time.Duration
		for keyAfter == 0 || tokAfter == 0 {
			if keyAfter == 0 {
				if st, _ := httpDo(t, "GET", n.url+"/api/v1/whoami", key.Secret, "", ""); st == 401 {
					keyAfter = time.Since(revoked)
				}
			}
			if tokAfter == 0 && !active(n.url) {
				tokAfter = time.Since(revoked)
			}
			if time.Since(revoked) > 5*time.Second {
				t.Fatalf("node %s still accepts what A revoked %s ago (key refused after %s, token after %s)", n.name, time.Since(revoked).Round(time.Millisecond), keyAfter, tokAfter)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("node %s refused the API key %s and reported the token inactive %s after the revocation on A",
			n.name, keyAfter.Round(time.Millisecond), tokAfter.Round(time.Millisecond))
	}
}
