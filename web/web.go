// Package web serves Steward's web console: server-rendered pages
// (html/template, with htmx vendored and embedded for partial updates),
// charts drawn on the server as SVG, and no external assets. Every page acts
// as the signed-in operator through the services, so the services' role
// checks apply: auditors read everything and change nothing, owners see and
// act on their own identities only.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/failures"
)

//go:embed assets templates
var files embed.FS

// Config configures the console.
type Config struct {
	Identities steward.IdentityService
	Owners     steward.OwnerService
	// Authenticate resolves an operator token to its principal (sign-in).
	Authenticate func(ctx context.Context, token string) (*steward.Principal, error)
	// Stats returns the inventory counts (the dashboard).
	Stats     func(ctx context.Context) (*steward.InventoryStats, error)
	Sessions  steward.WebSessionStore
	Dashboard steward.DashboardStore
	Policy    steward.Policy
	Logger    *slog.Logger
	// SessionLifetime is how long a sign-in lasts (default 8 h).
	SessionLifetime time.Duration
	// Now returns the current time (tests); default time.Now.
	Now func() time.Time
	// Pages are extra pages of capabilities beyond the core, linked from
	// the navigation.
	Pages []Page
	// Capabilities beyond the core, each optional: the sections and pages
	// they feed are left out while they are nil.
	//
	// Findings adds an identity's findings to its page and timeline.
	Findings FindingsReader
	// Alerts adds an identity's alerts to its timeline.
	Alerts AlertsReader
	// Usage adds an identity's recent usage to its timeline and serves
	// its usage page.
	Usage UsageReader
	// Policies lists the authorization policies that name an identity.
	Policies PoliciesReader
	// Broker lets operators rotate the credentials Steward issued.
	Broker CredentialBroker
	// Federation lists an identity's federation bindings on its page.
	Federation FederationReader
	// Rotations shows each identity's secrets in custody, their rotations
	// and proofs, and its leases.
	Rotations RotationReader
	// Reviews serves the access-review pages; ReviewDecisions, when set
	// too, lets owners and operators attest from them.
	Reviews         ReviewsReader
	ReviewDecisions ReviewDecider
	// Version is shown in the footer.
	Version string
}

// Page is an extra console page of a capability beyond the core. Render
// runs for a signed-in operator (the principal is in v.Context()) and
// returns the page's content, which the console wraps in its layout.
type Page struct {
	Path   string // "/audit"
	Title  string // "Audit"
	Render func(r *http.Request, v *View) (template.HTML, error)
}

// Console is the web console's handler set.
type Console struct {
	cfg      Config
	log      *slog.Logger
	pages    map[string]*template.Template
	assetTag string
	logins   *failures.Limiter

	dashMu    sync.Mutex
	dashCache *dashboardData
	dashAt    time.Time
	dashBusy  bool
}

// DefaultSessionLifetime is how long a sign-in lasts unless configured.
const DefaultSessionLifetime = 8 * time.Hour

// New returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Identities == nil || cfg.Owners == nil || cfg.Authenticate == nil || cfg.Sessions == nil || cfg.Dashboard == nil || cfg.Stats == nil {
		return nil, errors.New("web: Identities, Owners, Authenticate, Stats, Sessions and Dashboard are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Policy == nil {
		cfg.Policy = steward.DefaultPolicy()
	}
	c := &Console{cfg: cfg, log: cfg.Logger, logins: failures.New(5, 20, 10_000)}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	h := sha256.New()
	_ = fs.WalkDir(files, "assets", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := files.ReadFile(path)
			h.Write(b)
		}
		return nil
	})
	c.assetTag = hex.EncodeToString(h.Sum(nil))[:12]
	return c, nil
}

// Register adds the console's routes through handle (the API server's
// instrumented Handle).
func (c *Console) Register(handle func(pattern string, h http.Handler)) {
	cop := http.NewCrossOriginProtection()
	reg := func(pattern string, h http.Handler) { handle(pattern, headers(cop.Handler(h))) }
	reg("GET /{$}", c.page("dashboard", c.dashboard))
	reg("GET /login", http.HandlerFunc(c.loginForm))
	reg("POST /login", http.HandlerFunc(c.login))
	reg("POST /logout", c.page("", c.logout))
	reg("GET /identities", c.page("identities", c.inventory))
	reg("GET /identities.csv", c.page("identities", c.inventoryCSV))
	reg("POST /identities/bulk", c.page("identities", c.bulk))
	reg("GET /identities/{id}", c.page("identities", c.identity))
	reg("GET /identities/{id}/{action}", c.page("identities", c.actionForm))
	reg("POST /identities/{id}/{action}", c.page("identities", c.action))
	reg("GET /owners", c.page("owners", c.owners))
	if c.cfg.Usage != nil {
		reg("GET /identities/{id}/usage", c.page("identities", c.usagePage))
	}
	if c.cfg.Broker != nil {
		reg("GET /identities/{id}/credentials/{cred}/rotate", c.page("identities", c.rotateForm))
		reg("POST /identities/{id}/credentials/{cred}/rotate", c.page("identities", c.rotate))
	}
	if c.cfg.Reviews != nil {
		reg("GET /reviews", c.page("reviews", c.reviews))
		reg("GET /reviews/{id}", c.page("reviews", c.review))
		if c.cfg.ReviewDecisions != nil {
			reg("GET /reviews/{id}/items/{item}", c.page("reviews", c.decideForm))
			reg("POST /reviews/{id}/items/{item}", c.page("reviews", c.decide))
		}
	}
	for _, p := range c.cfg.Pages {
		reg("GET "+p.Path, c.page(p.Path, func(w http.ResponseWriter, r *http.Request, v *View) error {
			h, err := p.Render(r, v)
			if err != nil {
				return err
			}
			return c.renderPage(w, r, v, "extra", p.Title, h)
		}))
	}
	reg("GET /assets/{name}", http.HandlerFunc(c.asset))
}

// contentSecurityPolicy allows only the console's own scripts, styles and
// forms: no inline script or style, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// headers sets the console's security headers on every response.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
		hdr.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if hdr.Get("Cache-Control") == "" {
			hdr.Set("Cache-Control", "no-store")
		}
		if r.TLS != nil {
			hdr.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// View is what every page template receives.
type View struct {
	Title   string
	Nav     string
	User    *steward.Principal
	CSRF    string
	Flash   string
	Error   string
	Pages   []Page
	Version string
	Asset   string
	Now     time.Time
	// Reviews links the access-review pages from the navigation.
	Reviews bool
	// Data is the page's own data.
	Data any
	// Status is the HTTP status to answer with (default 200).
	Status int
	ctx    context.Context
}

// CanWrite reports whether the signed-in operator may change inventory.
func (v *View) CanWrite() bool { return v.User != nil && v.User.Can(steward.PermWrite) }

// IsStaff reports whether the operator is not bound to one owner.
func (v *View) IsStaff() bool { return v.User != nil && v.User.Role != steward.RoleOwner }

// Context returns the request context carrying the principal.
func (v *View) Context() context.Context { return v.ctx }

// httpError is an error with an HTTP status and a message safe to show.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// statusOf maps a domain error to an HTTP status.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	switch steward.ErrorCode(err) {
	case steward.EINVALID:
		return http.StatusBadRequest
	case steward.ENOTFOUND:
		return http.StatusNotFound
	case steward.EFORBIDDEN:
		return http.StatusForbidden
	case steward.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case steward.ECONFLICT:
		return http.StatusConflict
	case steward.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// messageOf returns the text to show for an error (never internal details).
func messageOf(err error) string {
	var he *httpError
	if errors.As(err, &he) {
		return he.msg
	}
	return steward.ErrorMessage(err)
}

// page wraps a page handler: it requires a live session (redirecting to the
// sign-in page otherwise), checks the CSRF token of every POST and renders
// an error page when the handler fails.
func (c *Console) page(nav string, fn func(w http.ResponseWriter, r *http.Request, v *View) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := c.session(r)
		if err != nil {
			if steward.ErrorCode(err) != steward.ENOTFOUND {
				c.log.ErrorContext(r.Context(), "web session", "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			if _, err := r.Cookie(sessionCookie); err == nil {
				clearCookie(w, r, sessionCookie)
			}
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			target := "/login"
			if next != "/" {
				target += "?next=" + url.QueryEscape(next)
			}
			if r.Header.Get("HX-Request") == "true" {
				w.Header().Set("HX-Redirect", target)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseForm(); err != nil {
				c.renderError(w, r, &View{Nav: nav}, &httpError{http.StatusBadRequest, "the form could not be read"})
				return
			}
			if !sameToken(r.PostForm.Get("csrf"), sess.CSRF) && !sameToken(r.Header.Get("X-CSRF-Token"), sess.CSRF) {
				c.renderError(w, r, &View{Nav: nav}, &httpError{http.StatusForbidden, "the form has expired or did not come from this console; reload the page and try again"})
				return
			}
		}
		p := sess.Principal()
		ctx := steward.WithPrincipal(r.Context(), p)
		r = r.WithContext(ctx)
		v := &View{Nav: nav, User: p, CSRF: sess.CSRF, Pages: c.cfg.Pages, Version: c.cfg.Version, Asset: c.assetTag, Now: c.cfg.Now().UTC(),
			Reviews: c.cfg.Reviews != nil, ctx: ctx}
		v.Flash = flashText(r.URL.Query().Get("msg"))
		if err := fn(w, r, v); err != nil {
			if statusOf(err) >= 500 {
				c.log.ErrorContext(ctx, "web page", "path", r.URL.Path, "err", err)
			}
			c.renderError(w, r, v, err)
		}
	})
}

// renderPage renders the page tmpl, titled title, with data; a handler ends
// with it.
func (c *Console) renderPage(w http.ResponseWriter, r *http.Request, v *View, tmpl, title string, data any) error {
	v.Title, v.Data = title, data
	c.render(w, r, tmpl, v)
	return nil
}

// showFormError shows a form again with what was wrong with it (422 for
// invalid input), or returns err when the fault is the server's.
func (c *Console) showFormError(w http.ResponseWriter, r *http.Request, v *View, tmpl, title string, data any, err error) error {
	status := statusOf(err)
	if status >= 500 {
		return err
	}
	if status == http.StatusBadRequest {
		status = http.StatusUnprocessableEntity
	}
	v.Status, v.Error = status, messageOf(err)
	return c.renderPage(w, r, v, tmpl, title, data)
}

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, v *View, err error) {
	v.Status = statusOf(err)
	v.Title = http.StatusText(v.Status)
	v.Error = messageOf(err)
	if v.Asset == "" {
		v.Asset = c.assetTag
	}
	c.render(w, r, "error", v)
}

// render executes a page template into the response.
func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, v *View) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.ErrorContext(r.Context(), "web render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if v.Status != 0 {
		w.WriteHeader(v.Status)
	}
	_, _ = w.Write([]byte(b.String()))
}

// flashText maps the ?msg= code of a redirect to a fixed message, so no
// arbitrary text is reflected into the page.
func flashText(code string) string {
	return map[string]string{
		"suspend":  "The identity was suspended.",
		"resume":   "The identity was resumed.",
		"activate": "The identity was activated.",
		"revoke":   "The identity was revoked; its credentials were revoked with it.",
		"reassign": "The identity has a new owner.",
		"extend":   "The identity's expiry was changed.",
		"signedin": "Signed in.",
		"decided":  "Your decision was recorded and carried out.",
	}[code]
}

func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	b, err := files.ReadFile("assets/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	typ := "application/octet-stream"
	for ext, t := range ct {
		if strings.HasSuffix(name, ext) {
			typ = t
		}
	}
	w.Header().Set("Content-Type", typ)
	if r.URL.Query().Get("v") == c.assetTag {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+c.assetTag+`"`)
	if r.Header.Get("If-None-Match") == `"`+c.assetTag+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}
