package stdwebhook_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/stdwebhook"
)

// The example of the Standard Webhooks specification: secret, message id,
// timestamp and payload, and the signature the spec gives for them.
const (
	specSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID      = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS      = 1614265330
	specBody    = `{"test": 2432232314}`
	specSigned  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	fixedSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

func TestSignMatchesTheSpecificationExample(t *testing.T) {
	key, err := stdwebhook.ParseSecret(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := stdwebhook.Sign(key, specID, time.Unix(specTS, 0), []byte(specBody)); got != specSigned {
		t.Fatalf("signature %s, want %s", got, specSigned)
	}
}

func TestParseSecret(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []byte
		err      bool
	}{
		{"a whsec_ secret is base64", "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123")), []byte("0123456789abcdef0123"), false},
		{"a raw secret is its bytes", "plain-secret-0123456789", []byte("plain-secret-0123456789"), false},
		{"a whsec_ secret that is not base64", "whsec_!!!", nil, true},
		{"an empty whsec_ secret", "whsec_", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stdwebhook.ParseSecret(tt.in)
			if (err != nil) != tt.err || string(got) != string(tt.want) {
				t.Fatalf("ParseSecret(%q) = %q, %v", tt.in, got, err)
			}
		})
	}
	if got := stdwebhook.FormatSecret([]byte("abc")); got != "whsec_YWJj" {
		t.Fatalf("FormatSecret = %s", got)
	}
}

func TestVerify(t *testing.T) {
	key, _ := stdwebhook.ParseSecret(fixedSecret)
	at := time.Unix(specTS, 0)
	h := http.Header{}
	stdwebhook.SetHeaders(h, key, specID, at, []byte(specBody))
	if h.Get("webhook-id") != specID || h.Get("webhook-timestamp") != strconv.Itoa(specTS) || h.Get("webhook-signature") != specSigned {
		t.Fatalf("headers %v", h)
	}
	other := func(mod func(http.Header)) http.Header { c := h.Clone(); mod(c); return c }
	for _, tt := range []struct {
		name string
		key  []byte
		h    http.Header
		body string
		now  time.Time
		ok   bool
	}{
		{"the signed message verifies", key, h, specBody, at.Add(time.Minute), true},
		{"one of several signatures verifies", key, other(func(c http.Header) { c.Set("webhook-signature", "v1,AAAA "+specSigned) }), specBody, at, true},
		{"another key does not", []byte("another-key-0123456789"), h, specBody, at, false},
		{"a changed body does not", key, h, specBody + " ", at, false},
		{"another message id does not", key, other(func(c http.Header) { c.Set("webhook-id", "msg_other") }), specBody, at, false},
		{"a replay an hour later does not", key, h, specBody, at.Add(time.Hour), false},
		{"a timestamp from the future does not", key, h, specBody, at.Add(-time.Hour), false},
		{"a missing id does not", key, other(func(c http.Header) { c.Del("webhook-id") }), specBody, at, false},
		{"an unknown scheme does not", key, other(func(c http.Header) { c.Set("webhook-signature", "v1a,"+strings.TrimPrefix(specSigned, "v1,")) }), specBody, at, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := stdwebhook.Verify(tt.key, tt.h, []byte(tt.body), tt.now, 0)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, stdwebhook.ErrBadSignature)) {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
