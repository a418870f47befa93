package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Cookie names. The session cookie holds a random id whose digest is the
// session's key in the store; the login cookie carries the sign-in form's
// CSRF token (double submit) before a session exists.
const (
	sessionCookie = "steward_session"
	loginCookie   = "steward_login"
)

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// digest returns the stored form of a session id.
func digest(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// sameToken compares two secrets in constant time; empty never matches.
func sameToken(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// session returns the request's live session, or ENOTFOUND.
func (c *Console) session(r *http.Request) (*steward.WebSession, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || len(ck.Value) < 32 || len(ck.Value) > 128 {
		return nil, steward.Errorf(steward.ENOTFOUND, "no session")
	}
	return c.cfg.Sessions.WebSession(r.Context(), digest(ck.Value), c.cfg.Now())
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds()),
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// safeNext returns next when it is a path on this site, else "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\\") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}

type loginData struct {
	Next string
}

// loginForm shows the sign-in page (or goes home when already signed in).
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := c.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, next, "", http.StatusOK)
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, next, msg string, status int) {
	csrf := randomToken()
	setCookie(w, r, loginCookie, csrf, 30*time.Minute)
	v := &View{Title: "Sign in", CSRF: csrf, Error: msg, Status: status, Asset: c.assetTag, Version: c.cfg.Version,
		Data: loginData{Next: next}}
	c.render(w, r, "login", v)
}

// login exchanges an operator token for a session cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.renderLogin(w, r, "/", "The form could not be read.", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(ck.Value, r.PostForm.Get("csrf")) {
		c.renderLogin(w, r, next, "The sign-in form expired; please try again.", http.StatusForbidden)
		return
	}
	ip := clientIP(r)
	if c.logins.Blocked(ip, time.Now()) {
		c.renderLogin(w, r, next, "Too many sign-in attempts from this address; wait a moment and try again.", http.StatusTooManyRequests)
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	p, err := c.cfg.Authenticate(r.Context(), token)
	if err != nil || p == nil || p.TokenID == "" || p.IsNHI() {
		if err != nil && steward.ErrorCode(err) != steward.EUNAUTHORIZED {
			c.log.ErrorContext(r.Context(), "web sign-in", "err", err)
			c.renderLogin(w, r, next, "Sign-in failed: internal error.", http.StatusInternalServerError)
			return
		}
		c.logins.Fail(ip, time.Now())
		c.log.WarnContext(r.Context(), "web sign-in failed", "remote", ip)
		c.renderLogin(w, r, next, "That token is not valid, or it has expired or been revoked.", http.StatusUnauthorized)
		return
	}
	id := randomToken()
	now := c.cfg.Now().UTC()
	ws := &steward.WebSession{Digest: digest(id), TokenID: p.TokenID, CSRF: randomToken(), CreatedAt: now, ExpiresAt: now.Add(c.cfg.SessionLifetime)}
	if err := c.cfg.Sessions.CreateWebSession(r.Context(), ws); err != nil {
		c.log.ErrorContext(r.Context(), "web sign-in", "err", err)
		c.renderLogin(w, r, next, "Sign-in failed: internal error.", http.StatusInternalServerError)
		return
	}
	c.log.InfoContext(r.Context(), "web sign-in", "actor", p.Actor, "role", string(p.Role), "remote", ip)
	clearCookie(w, r, loginCookie)
	setCookie(w, r, sessionCookie, id, c.cfg.SessionLifetime)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *View) error {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := c.cfg.Sessions.DeleteWebSession(r.Context(), digest(ck.Value)); err != nil {
			return err
		}
	}
	clearCookie(w, r, sessionCookie)
	c.log.InfoContext(r.Context(), "web sign-out", "actor", v.User.Actor)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// clientIP is the TCP peer (proxies' headers are not trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
