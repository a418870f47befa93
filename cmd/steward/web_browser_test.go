package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath returns Debian's chromium. Without one the test fails: a
// browser test that skips itself passes silently, so it skips only when
// STEWARD_SKIP_BROWSER_TESTS=1 says so (scripts/test sets it for the race
// pass and runs the browser tests in a pass of their own).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("STEWARD_SKIP_BROWSER_TESTS") == "1" {
		t.Skip("STEWARD_SKIP_BROWSER_TESTS=1")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium binary on PATH: install Debian's chromium (apt-get install -y chromium), or set STEWARD_SKIP_BROWSER_TESTS=1 to skip the browser tests")
	return ""
}

// newBrowser starts a headless chromium with a fresh profile and returns
// a context to drive it with chromedp.
func newBrowser(t *testing.T, bin string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute) // generous: CI runs it under -race beside other packages
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps or fails the test.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one browser action that returns a value, or fails the test.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// shot saves a full-page PNG under dir and checks that it is not empty.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	buf := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if len(buf) < 10_000 || !bytes.HasPrefix(buf, []byte("\x89PNG")) {
		t.Errorf("screenshot %s: %d bytes, not a rendered page", name, len(buf))
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(buf))
}

// mintToken creates an operator token through the API.
func mintToken(t *testing.T, base, role string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": "browser test " + role, "role": role})
	code, raw := httpDo(t, "POST", base+"/api/v1/tokens", adminToken, "application/json", string(body))
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || code != 201 || out.Token == "" {
		t.Fatalf("mint %s token: status %d, %v", role, code, err)
	}
	return out.Token
}

// shotsDir keeps the screenshots: STEWARD_SCREENSHOTS names a directory to
// keep them in (CI artifacts); otherwise they go to the test's temp dir.
func shotsDir(t *testing.T) string {
	if d := os.Getenv("STEWARD_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func TestWebConsoleInBrowser(t *testing.T) {
	bin := chromiumPath(t)
	srv := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken}, "--demo", "--data-dir", filepath.Join(t.TempDir(), "data"))
	shots := shotsDir(t)
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	act := seedActivity(t, srv)

	t.Run("an admin signs in, filters, revokes an identity and signs out", func(t *testing.T) {
		ctx := newBrowser(t, bin)
		do(t, ctx, "open / signed out", chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible(id("token")))
		if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "/login") {
			t.Fatalf("GET / signed out went to %s, want the sign-in page", loc)
		}
		shot(t, ctx, shots, "01-login")

		do(t, ctx, "sign in", chromedp.SendKeys(id("token"), adminToken), chromedp.Submit(id("token")), chromedp.WaitVisible(css(".tiles")))
		if n := get(t, ctx, "tiles", chromedp.Evaluate[int](`document.querySelectorAll('.tiles .tile').length`)); n < 8 {
			t.Fatalf("the dashboard shows %d tiles", n)
		}
		if n := get(t, ctx, "charts", chromedp.Evaluate[int](`document.querySelectorAll('svg.chart').length`)); n < 3 {
			t.Errorf("the dashboard shows %d charts, want the credential age and weekly trends", n)
		}
		shot(t, ctx, shots, "02-dashboard")

		do(t, ctx, "filter the inventory",
			chromedp.Click(css(`nav a[href="/identities"]`)),
			chromedp.WaitVisible(id("inventory")),
			chromedp.SetValue(id("f-kind"), "api_key"),
			chromedp.SetValue(id("f-status"), "active"),
			chromedp.Click(css("#filters button[type=submit]")),
		)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`location.search.includes("kind=api_key") && location.search.includes("status=active") && !!document.querySelector("#inventory tbody tr td a")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("the filter did not apply: %v", err)
		}
		rows := get(t, ctx, "rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#inventory tbody tr')).map(r => r.textContent)`))
		if len(rows) == 0 {
			t.Fatal("the filtered inventory is empty")
		}
		for _, r := range rows {
			if !strings.Contains(r, "api_key") || !strings.Contains(r, "active") {
				t.Fatalf("the filtered inventory shows a row that is not an active api_key: %q", r)
			}
		}
		shot(t, ctx, shots, "03-inventory")

		name := get(t, ctx, "first name", chromedp.Text(css("#inventory tbody tr td a")))
		do(t, ctx, "open an identity", chromedp.Click(css("#inventory tbody tr td a")), chromedp.WaitVisible(id("timeline")))
		if st := get(t, ctx, "status", chromedp.Text(id("status"))); st != "active" {
			t.Fatalf("identity %s is %q, want active", name, st)
		}
		before := get(t, ctx, "timeline", chromedp.Evaluate[int](`document.querySelectorAll('ol.timeline > li').length`))
		shot(t, ctx, shots, "04-identity")

		do(t, ctx, "ask to revoke", chromedp.Click(id("act-revoke")), chromedp.WaitVisible(id("confirm")))
		shot(t, ctx, shots, "05-revoke-confirm")
		do(t, ctx, "revoke with a reason",
			chromedp.SetValue(id("reason"), "incident"),
			chromedp.SendKeys(id("note"), "key found in a public repository"),
			chromedp.Click(id("confirm")),
			chromedp.WaitVisible(css(".flash")))
		st := get(t, ctx, "status", chromedp.Text(id("status")))
		// The revocation and the credentials revoked with it are the newest entries.
		newest := get(t, ctx, "newest events", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('ol.timeline > li')).slice(0, 4).map(li => li.dataset.action)`))
		reason := get(t, ctx, "revocation reason", chromedp.Text(css(`ol.timeline > li[data-action="identity.revoke"] .tl-reason`)))
		after := get(t, ctx, "timeline", chromedp.Evaluate[int](`document.querySelectorAll('ol.timeline > li').length`))
		if st != "revoked" || !slices.Contains(newest, "identity.revoke") || !strings.Contains(reason, "incident: key found in a public repository") || after <= before {
			t.Fatalf("after revoking: status %q, newest events %q, reason %q, %d events (was %d)", st, newest, reason, after, before)
		}
		if n := get(t, ctx, "actions", chromedp.Evaluate[int](`document.querySelectorAll('.actions a').length`)); n != 0 {
			t.Errorf("a revoked identity still offers %d actions", n)
		}
		shot(t, ctx, shots, "06-revoked")

		// The pages of the capabilities wired on this server.
		for _, pg := range []struct{ path, want, name string }{{"/findings", "table.data", "07-findings"}, {"/audit", "#verify", "08-audit"}} {
			if n := get(t, ctx, "nav "+pg.path, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="`+pg.path+`"]').length`)); n == 0 {
				continue
			}
			do(t, ctx, "open "+pg.path, chromedp.Click(css(`nav a[href="`+pg.path+`"]`)), chromedp.WaitVisible(css(pg.want)))
			if pg.path == "/audit" {
				// The verify button is a plain link; load it as a page.
				do(t, ctx, "verify the chain", chromedp.Navigate(srv.url+"/audit?verify=1"), chromedp.WaitVisible(id("verify-result")))
				if msg := get(t, ctx, "verify", chromedp.Text(id("verify-result"))); !strings.Contains(msg, "intact") {
					t.Errorf("audit verification says %q", msg)
				}
			}
			shot(t, ctx, shots, pg.name)
		}

		do(t, ctx, "sign out", chromedp.Click(id("signout")), chromedp.WaitVisible(id("token")),
			chromedp.Navigate(srv.url+"/identities"), chromedp.WaitVisible(id("token")))
		if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "/login") {
			t.Fatalf("after signing out /identities went to %s", loc)
		}
	})

	t.Run("an admin reads an identity's usage and alerts, rotates its key and opens the reviews", func(t *testing.T) {
		ctx := newBrowser(t, bin)
		do(t, ctx, "sign in", chromedp.Navigate(srv.url+"/login"), chromedp.WaitVisible(id("token")),
			chromedp.SendKeys(id("token"), adminToken), chromedp.Submit(id("token")), chromedp.WaitVisible(css(".tiles")))
		do(t, ctx, "open the identity", chromedp.Navigate(srv.url+"/identities/"+act.identity), chromedp.WaitVisible(id("timeline")))
		kinds := get(t, ctx, "timeline kinds", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('ol.timeline > li')).map(li => li.dataset.kind)`))
		if !slices.Contains(kinds, "usage") || !slices.Contains(kinds, "alert") || !slices.Contains(kinds, "change") {
			t.Fatalf("the timeline shows %q, want changes, usage and alerts", kinds)
		}
		alert := get(t, ctx, "alert entry", chromedp.Text(css(`ol.timeline > li[data-kind="alert"] strong`)))
		if !strings.Contains(alert, "revoked") {
			t.Errorf("the alert entry reads %q", alert)
		}
		shot(t, ctx, shots, "11-identity-timeline")

		do(t, ctx, "ask to rotate", chromedp.Click(id("rotate-"+act.key)), chromedp.WaitVisible(id("confirm")))
		effects := get(t, ctx, "effects", chromedp.Text(css("ul.effects")))
		if !strings.Contains(effects, "stays valid") || !strings.Contains(effects, "shown once") {
			t.Errorf("the rotation's confirmation says %q", effects)
		}
		shot(t, ctx, shots, "12-rotate-confirm")
		do(t, ctx, "rotate with a reason", chromedp.SendKeys(id("reason"), "browser test rotation"), chromedp.Click(id("confirm")),
			chromedp.WaitVisible(id("new-secret")))
		secret := get(t, ctx, "new secret", chromedp.Text(id("new-secret")))
		if !strings.HasPrefix(secret, "stw_") {
			t.Fatalf("the new secret is %q", secret)
		}
		if n := get(t, ctx, "occurrences", chromedp.Evaluate[int](`document.documentElement.outerHTML.split(`+jsString(secret)+`).length - 1`)); n != 1 {
			t.Errorf("the secret appears %d times on the page", n)
		}
		shot(t, ctx, shots, "13-rotated")
		if st, body := httpDo(t, "GET", srv.url+"/api/v1/whoami", secret, "", ""); st != 200 {
			t.Fatalf("the new secret does not authenticate: %d %s", st, body)
		}
		if strings.Contains(srv.logs.String(), secret) {
			t.Error("the new secret was logged")
		}
		do(t, ctx, "back to the identity", chromedp.Click(id("done")), chromedp.WaitVisible(id("timeline")))
		if n := get(t, ctx, "secret gone", chromedp.Evaluate[bool](`document.documentElement.outerHTML.includes(`+jsString(secret)+`)`)); n {
			t.Error("the identity page shows the secret again")
		}
		if n := get(t, ctx, "rotate buttons", chromedp.Evaluate[int](`document.querySelectorAll('#rotate-`+act.key+`').length`)); n != 0 {
			t.Error("the replaced key still offers rotation")
		}

		do(t, ctx, "open the reviews", chromedp.Click(css(`nav a[href="/reviews"]`)), chromedp.WaitVisible(id("reviews")))
		if n := get(t, ctx, "campaigns", chromedp.Evaluate[int](`document.querySelectorAll('#reviews tbody tr a').length`)); n == 0 {
			t.Fatal("the reviews page lists no campaign")
		}
		shot(t, ctx, shots, "14-reviews")
		do(t, ctx, "open the campaign", chromedp.Click(css(`#reviews tbody tr a`)), chromedp.WaitVisible(id("review-items")))
		if n := get(t, ctx, "items", chromedp.Evaluate[int](`document.querySelectorAll('#review-items tbody tr[id^=item-]').length`)); n == 0 {
			t.Fatal("the campaign lists no item")
		}
		shot(t, ctx, shots, "15-review")
	})

	t.Run("an auditor sees everything but no action", func(t *testing.T) {
		token := mintToken(t, srv.url, "auditor")
		ctx := newBrowser(t, bin)
		do(t, ctx, "sign in as auditor",
			chromedp.Navigate(srv.url+"/login"),
			chromedp.WaitVisible(id("token")),
			chromedp.SendKeys(id("token"), token),
			chromedp.Submit(id("token")),
			chromedp.WaitVisible(css(".tiles")))
		if role := get(t, ctx, "role", chromedp.Evaluate[string](`document.querySelector(".role").textContent`)); role != "auditor" {
			t.Fatalf("signed in as %q", role)
		}
		do(t, ctx, "open the inventory", chromedp.Navigate(srv.url+"/identities?status=active"), chromedp.WaitVisible(id("inventory")))
		if n := get(t, ctx, "bulk", chromedp.Evaluate[int](`document.querySelectorAll('#bulk button, #bulk input[type=checkbox]').length`)); n != 0 {
			t.Errorf("the auditor sees %d bulk controls", n)
		}
		shot(t, ctx, shots, "09-auditor-inventory")
		do(t, ctx, "open an identity", chromedp.Click(css("#inventory tbody tr td a")), chromedp.WaitVisible(id("timeline")))
		if n := get(t, ctx, "actions", chromedp.Evaluate[int](`document.querySelectorAll('.actions, [id^=act-]').length`)); n != 0 {
			t.Errorf("the auditor sees %d action buttons", n)
		}
		shot(t, ctx, shots, "10-auditor-identity")
		loc := get(t, ctx, "location", chromedp.Location())
		do(t, ctx, "open the identity with Steward-issued keys", chromedp.Navigate(srv.url+"/identities/"+act.identity), chromedp.WaitVisible(id("timeline")))
		creds := get(t, ctx, "credentials", chromedp.Evaluate[int](`document.querySelectorAll('tr[data-credential]').length`))
		rotate := get(t, ctx, "rotate buttons", chromedp.Evaluate[int](`document.querySelectorAll('[id^=rotate-]').length`))
		if creds < 2 || rotate != 0 {
			t.Errorf("the auditor sees %d credentials and %d rotate buttons, want them all and none", creds, rotate)
		}
		// The revoked key says where its revocation took effect.
		if where := get(t, ctx, "revoked where", chromedp.Evaluate[string](`(document.querySelector('.revoked-where')||{}).textContent||''`)); !strings.Contains(where, "revoked at: steward") {
			t.Errorf("the revoked key's row says %q, want where it was revoked", where)
		}
		do(t, ctx, "open a revoke page", chromedp.Navigate(strings.SplitN(loc, "?", 2)[0]+"/revoke"), chromedp.WaitVisible(css(".error")))
		if msg := get(t, ctx, "message", chromedp.Text(css(".error"))); !strings.Contains(msg, "may not") {
			t.Fatalf("the auditor's revoke page says %q", msg)
		}
	})

	t.Run("the dashboard shows the federated share of authentications, with tables for the chart", func(t *testing.T) {
		ctx := newBrowser(t, bin)
		do(t, ctx, "sign in", chromedp.Navigate(srv.url+"/login"), chromedp.WaitVisible(id("token")),
			chromedp.SendKeys(id("token"), adminToken), chromedp.Submit(id("token")), chromedp.WaitVisible(css(".tiles")))
		// The dashboard is recomputed in the background at most every
		// 10 s: the seeded key's authentication shows within a refresh.
		for deadline := time.Now().Add(30 * time.Second); ; {
			if n := get(t, ctx, "panel", chromedp.Evaluate[int](`document.querySelectorAll('#auth-share').length`)); n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no authentication panel on the dashboard after 30 s")
			}
			time.Sleep(time.Second)
			do(t, ctx, "reload the dashboard", chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible(css(".tiles")))
		}
		label := get(t, ctx, "chart", chromedp.Evaluate[string](`(document.querySelector('#auth-share svg.chart[role=img]')||{getAttribute:()=>''}).getAttribute('aria-label')`))
		if !strings.Contains(label, "federated or exchanged tokens") {
			t.Errorf("the chart's label is %q", label)
		}
		rows := get(t, ctx, "rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#auth-share > .grid2 table tbody tr')).map(r => r.textContent.replace(/\s+/g, ' ').trim())`))
		if len(rows) == 0 || !strings.HasSuffix(rows[0], "%") {
			t.Fatalf("the environments table has rows %q", rows)
		}
		if vis := get(t, ctx, "weekly table", chromedp.Evaluate[bool](`!!document.querySelector('#auth-share details table').checkVisibility()`)); vis {
			t.Error("the weekly table is open before it is asked for")
		}
		do(t, ctx, "open the weekly table", chromedp.Click(css("#auth-share summary")), chromedp.WaitVisible(css("#auth-share details table")))
		if n := get(t, ctx, "weeks", chromedp.Evaluate[int](`document.querySelectorAll('#auth-share details tbody tr').length`)); n != 26 {
			t.Errorf("the weekly table has %d weeks, want 26", n)
		}
		shot(t, ctx, shots, "16-auth-share")
	})
}

func TestWebConsoleConfig(t *testing.T) {
	t.Run("the console is served by default and GET / asks to sign in", func(t *testing.T) {
		srv := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken}, "--data-dir", filepath.Join(t.TempDir(), "data"))
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Get(srv.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" || res.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("GET /: %d %q %v", res.StatusCode, res.Header.Get("Location"), res.Header)
		}
	})
	t.Run("web.enabled false turns it off", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "steward.yaml")
		if err := os.WriteFile(cfg, []byte("web:\n  enabled: false\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		srv := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken}, "--config", cfg, "--data-dir", filepath.Join(t.TempDir(), "data"))
		res, err := http.Get(srv.url + "/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("GET /login with the console off: %d", res.StatusCode)
		}
	})
	t.Run("a bad session lifetime is refused", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "steward.yaml")
		if err := os.WriteFile(cfg, []byte("web:\n  session_lifetime: 1s\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		err := run(context.Background(), []string{"serve", "--config", cfg, "--addr", freeAddr(t), "--data-dir", filepath.Join(t.TempDir(), "data")},
			func(string) string { return "" }, strings.NewReader(""), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "web.session_lifetime") {
			t.Fatalf("serve with session_lifetime 1s: %v", err)
		}
	})
}

// activity is what seedActivity made.
type activity struct {
	identity string // an identity with usage, an alert and two Steward-issued keys
	key      string // its active key
}

// seedActivity gives one identity a history through the API: two keys, a
// use of each (the second after its revocation, which raises an alert),
// and an access review. It waits until the usage and the alert are
// recorded.
func seedActivity(t *testing.T, srv *server) activity {
	t.Helper()
	var ident struct {
		ID string `json:"id"`
	}
	decode(t, srv.mustCLI(t, "identity", "create", "--name", "web-timeline-demo", "--kind", "workload", "--unowned-reason", "test fixture", "--scope", "deploy", "-o", "json"), &ident)
	var keys [2]struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	for n := range keys {
		decode(t, mustOut(t)(srv.credCLI(t, "credential", "issue", ident.ID, "--scope", "deploy", "--ttl", "720h", "-o", "json")), &keys[n])
	}
	if st, body := httpDo(t, "GET", srv.url+"/api/v1/whoami", keys[0].Secret, "", ""); st != 200 {
		t.Fatalf("whoami: %d %s", st, body)
	}
	mustOut(t)(srv.credCLI(t, "credential", "revoke", keys[1].ID))
	if st, _ := httpDo(t, "GET", srv.url+"/api/v1/whoami", keys[1].Secret, "", ""); st != 401 {
		t.Fatalf("whoami with a revoked key: %d", st)
	}
	if st, body := httpDo(t, "POST", srv.url+"/api/v1/reviews", adminToken, "application/json", `{"name":"Browser test review","scope":{"kind":"workload"}}`); st != 201 {
		t.Fatalf("start a review: %d %s", st, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, usage := httpDo(t, "GET", srv.url+"/api/v1/identities/"+ident.ID+"/usage", adminToken, "", "")
		_, alerts := httpDo(t, "GET", srv.url+"/api/v1/alerts?identity_id="+ident.ID, adminToken, "", "")
		if bytes.Contains(usage, []byte(`"outcome":"revoked"`)) && bytes.Contains(alerts, []byte(`"revoked_use"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no usage or alert recorded:\n%s\n%s", usage, alerts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return activity{identity: ident.ID, key: keys[0].ID}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
