// Package console is a signed-in browser of Steward's web console for the
// benchmarks: sign in with a token, then GET pages.
package console

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"time"

	"github.com/steward-nhi/steward/web"
)

// Client keeps the session cookie of one sign-in.
type Client struct {
	base string
	c    *http.Client
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// SignIn signs in to the console at base with token.
func SignIn(base, token string) (*Client, error) {
	jar, _ := cookiejar.New(nil)
	cl := &Client{base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	page, err := cl.Get("/login")
	if err != nil {
		return nil, err
	}
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("the sign-in page has no csrf field")
	}
	res, err := cl.c.PostForm(base+"/login", url.Values{"token": {token}, "csrf": {m[1]}})
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	return cl, nil
}

// Get returns the page at path, or an error for any status but 200.
func (cl *Client) Get(path string) (string, error) {
	res, err := cl.c.Get(cl.base + path)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %d", path, res.StatusCode)
	}
	return string(b), nil
}

// Serve serves the console c on a local server and returns its URL and a
// function that stops it.
func Serve(c *web.Console) (string, func()) {
	mux := http.NewServeMux()
	c.Register(func(p string, h http.Handler) { mux.Handle(p, h) })
	srv := httptest.NewServer(mux)
	return srv.URL, srv.Close
}
