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

// chromiumPath returns Debian's chromium, or skips the test when there is
// no browser on this machine.
func chromiumPath(t *testing.T) string {
	if raceEnabled && os.Getenv("STEWARD_BROWSER_TESTS_UNDER_RACE") == "" {
		t.Skip("browser tests run in scripts/test's non-race pass (set STEWARD_BROWSER_TESTS_UNDER_RACE=1 to force)")
	}
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium binary on PATH: install Debian's chromium (apt-get install -y chromium) to run the browser tests")
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
	req, _ := http.NewRequest("POST", base+"/api/v1/tokens", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 201 || out.Token == "" {
		t.Fatalf("mint %s token: status %d, %v", role, res.StatusCode, err)
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
		do(t, ctx, "open a revoke page", chromedp.Navigate(strings.SplitN(loc, "?", 2)[0]+"/revoke"), chromedp.WaitVisible(css(".error")))
		if msg := get(t, ctx, "message", chromedp.Text(css(".error"))); !strings.Contains(msg, "may not") {
			t.Fatalf("the auditor's revoke page says %q", msg)
		}
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
