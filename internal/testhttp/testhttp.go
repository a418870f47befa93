// Package testhttp sends the HTTP requests of tests: one place that sets the
// bearer token, the content type and extra headers, reads the whole answer
// and fails the test on a transport error.
package testhttp

import (
	"io"
	"net/http"
	"testing"
)

// Response is a status, its headers and the whole body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends method url with body (nil for none) through c (the default
// client when nil). token, when set, is sent as a bearer token, contentType
// when set as the Content-Type, and hdr as name, value pairs.
func Do(t testing.TB, c *http.Client, method, url, token, contentType string, body io.Reader, hdr ...string) Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read the answer to %s %s: %v", method, url, err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}
