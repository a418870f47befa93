// Package webhooktest is a webhook receiver for tests: it keeps the last
// delivery's body and headers.
package webhooktest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Receiver is an httptest server that records the last delivery.
type Receiver struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	header http.Header
}

// New starts a receiver, closed when the test ends.
func New(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.body, r.header = b, req.Header.Clone()
	}))
	t.Cleanup(r.Close)
	return r
}

// Last returns the last delivery's body and headers.
func (r *Receiver) Last() ([]byte, http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body, r.header
}
