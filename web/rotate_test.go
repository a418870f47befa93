package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var secretRE = regexp.MustCompile(`<code id="new-secret">([^<]+)</code>`)

func TestRotateCredential(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	ctx := context.Background()
	issue := func(id, typ string) *broker.Issued {
		t.Helper()
		out, err := e.caps.broker.Issue(admin(), id, broker.IssueRequest{Type: typ, Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	key := issue(e.deployer.ID, steward.CredentialTypeAPIKey)
	client := issue(e.deployer.ID, steward.CredentialTypeClientSecret)
	bobKey := issue(e.bot.ID, steward.CredentialTypeAPIKey)
	if err := e.store.Update(ctx, func(tx steward.Tx) error {
		return tx.CreateCredential(ctx, &steward.Credential{ID: "crd_imported", IdentityID: e.deployer.ID, Type: "access_key", Hint: "AKIA…XYZ",
			Status: steward.CredentialActive, CreatedAt: e.clock.Now(), Scopes: []string{}, Metadata: map[string]string{}})
	}); err != nil {
		t.Fatal(err)
	}
	page := "/identities/" + e.deployer.ID
	form := func(cred string) string { return page + "/credentials/" + cred + "/rotate" }

	t.Run("who may rotate what", func(t *testing.T) {
		e.checkVisits(t, []visit{
			{"an admin sees rotate on the credentials Steward issued", steward.RoleAdmin, page, 200,
				[]string{`id="rotate-` + key.ID + `"`, `id="rotate-` + client.ID + `"`, "AKIA…XYZ"}, []string{`id="rotate-crd_imported"`}},
			{"an auditor sees the credentials but no rotate button", steward.RoleAuditor, page, 200, []string{key.Fingerprint[:12]}, []string{`id="rotate-`}},
			{"an auditor may not open the confirmation", steward.RoleAuditor, form(key.ID), http.StatusForbidden, []string{"may not"}, nil},
			{"an owner rotates its own", steward.RoleOwner, page, 200, []string{`id="rotate-` + key.ID + `"`}, nil},
			{"an owner may not rotate another's", steward.RoleOwner, "/identities/" + e.bot.ID + "/credentials/" + bobKey.ID + "/rotate", http.StatusForbidden, nil, nil},
			{"a credential of another identity is not found", steward.RoleAdmin, "/identities/" + e.bot.ID + "/credentials/" + key.ID + "/rotate", http.StatusNotFound, nil, nil},
			{"a credential Steward did not issue cannot be rotated here", steward.RoleAdmin, form("crd_imported"), http.StatusConflict, []string{"at its provider"}, nil},
		})
	})

	t.Run("an auditor's forged post changes nothing", func(t *testing.T) {
		b := e.browserFor(t)
		b.signIn(steward.RoleAuditor)
		b.get(page)
		b.post(form(key.ID), url.Values{"reason": {"x"}, "overlap": {"24h"}})
		b.expect(http.StatusForbidden)
	})

	op := e.browserFor(t)
	op.signIn(steward.RoleOperator)
	t.Run("the confirmation says what will happen", func(t *testing.T) {
		b := op.with(t)
		b.get(form(key.ID))
		exp := key.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		b.expect(200, "What will happen", "Rotate the api_key", `name="reason"`, `name="overlap"`, `value="24h" selected`, "stays valid", exp,
			"shown once", `id="confirm"`)
		b.lacks("public_jwk")
	})
	t.Run("the form is refused without a reason, an allowed overlap or its CSRF token", func(t *testing.T) {
		b := op.with(t)
		b.post(form(key.ID), url.Values{"reason": {""}, "overlap": {"24h"}})
		b.expect(http.StatusUnprocessableEntity, "give a reason")
		b.post(form(key.ID), url.Values{"reason": {"scheduled"}, "overlap": {"9999h"}})
		b.expect(http.StatusUnprocessableEntity, "overlap")
		b.post(form(key.ID), url.Values{"reason": {"scheduled"}, "overlap": {"24h"}, "csrf": {"forged"}})
		b.expect(http.StatusForbidden)
		if c, _ := e.caps.broker.Get(admin(), key.ID); c.OverlapUntil != nil || c.Status != steward.CredentialActive {
			t.Fatalf("a refused form changed the credential: %+v", c)
		}
	})

	var secret string
	t.Run("rotating shows the new secret once, uncached", func(t *testing.T) {
		b := op.with(t)
		b.get(form(key.ID))
		b.post(form(key.ID), url.Values{"reason": {"scheduled rotation"}, "overlap": {"24h"}})
		b.expect(http.StatusOK, "shown only this once", "stays valid until", e.clock.Now().Add(24*time.Hour).UTC().Format("2006-01-02 15:04 UTC"))
		m := secretRE.FindStringSubmatch(b.body)
		if m == nil || !broker.IsStewardToken(m[1]) {
			t.Fatalf("no new secret on the page:\n%s", b.body)
		}
		secret = m[1]
		if n := strings.Count(b.body, secret); n != 1 {
			t.Errorf("the secret appears %d times on the page", n)
		}
		if cc := b.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		if ck := b.header.Values("Set-Cookie"); len(ck) != 0 {
			t.Errorf("the secret page sets cookies: %q", ck)
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Error("the new secret was logged")
		}
		p, err := e.caps.broker.Authenticate(ctx, secret)
		if err != nil || p.IdentityID != e.deployer.ID {
			t.Fatalf("the new secret does not authenticate: %+v %v", p, err)
		}
		old, _ := e.caps.broker.Get(admin(), key.ID)
		if old.OverlapUntil == nil || !old.OverlapUntil.Equal(e.clock.Now().Add(24*time.Hour)) {
			t.Fatalf("old credential after the rotation: %+v", old)
		}
		ev, _ := e.svc.ListEvents(sys(), steward.EventFilter{IdentityID: e.deployer.ID, Action: steward.ActionCredentialRotate})
		if len(ev.Items) != 1 || ev.Items[0].Reason != "scheduled rotation" || ev.Items[0].Actor != "token:"+tokenID(t, e, steward.RoleOperator) {
			t.Fatalf("rotation events %+v", ev.Items)
		}
	})
	t.Run("the identity page shows the overlap and offers no second rotation", func(t *testing.T) {
		b := op.with(t)
		b.get(page)
		b.expect(200, "replaced", `data-credential="`+key.ID+`"`)
		b.lacks(`id="rotate-`+key.ID+`"`, secret)
		b.get(form(key.ID))
		b.expect(http.StatusConflict)
	})
	t.Run("no overlap revokes the old credential at once", func(t *testing.T) {
		b := op.with(t)
		b.get(form(client.ID))
		b.expect(200, "Client ID", client.ClientID)
		b.post(form(client.ID), url.Values{"reason": {"leaked in a log"}, "overlap": {"0"}})
		b.expect(200, "was revoked", client.ClientID)
		old, _ := e.caps.broker.Get(admin(), client.ID)
		if old.Status != steward.CredentialRevoked {
			t.Fatalf("old client secret is %s", old.Status)
		}
	})
	t.Run("an expired credential cannot be rotated", func(t *testing.T) {
		ttl := steward.Duration(time.Hour)
		short, err := e.caps.broker.Issue(admin(), e.deployer.ID, broker.IssueRequest{TTL: &ttl})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Hour)
		b := e.browserFor(t) // the session ended with the hour
		b.signIn(steward.RoleOperator)
		b.get(page)
		b.expect(http.StatusOK, `data-credential="`+short.ID+`"`)
		b.lacks(`id="rotate-` + short.ID + `"`)
		b.get(form(short.ID))
		b.expect(http.StatusConflict, "is expired")
	})
}

// tokenID returns the id of the env's token of a role.
func tokenID(t *testing.T, e *env, r steward.Role) string {
	t.Helper()
	p, err := e.svc.Authenticate(context.Background(), e.tokens[r])
	if err != nil {
		t.Fatal(err)
	}
	return p.TokenID
}
