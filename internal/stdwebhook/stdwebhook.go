// Package stdwebhook signs and verifies webhooks as the Standard Webhooks
// specification (standardwebhooks.com) defines them, so any of its
// verifiers (npm standardwebhooks, Svix, …) accepts what Steward sends:
//
//	webhook-id:        the message id, the same on every retry
//	webhook-timestamp: the Unix time of the attempt, in seconds
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
//
// A secret is written "whsec_" + base64(key). A secret configured without
// that prefix is used as the key bytes themselves: its whsec_ form (for a
// receiver) is FormatSecret(key).
package stdwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

const secretPrefix = "whsec_"

// ErrBadSignature is returned by Verify for a wrong, stale or missing
// signature.
var ErrBadSignature = errors.New("webhook signature does not verify")

// ParseSecret returns the HMAC key of a secret: the base64 part of a
// whsec_ secret, or the bytes of any other string.
func ParseSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return []byte(s), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("stdwebhook: a whsec_ secret must be followed by base64 key bytes")
	}
	return key, nil
}

// FormatSecret writes a key as a whsec_ secret.
func FormatSecret(key []byte) string {
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// Sign returns the webhook-signature value of a message.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte("."))
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SetHeaders sets the three headers of a signed message.
func SetHeaders(h http.Header, key []byte, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(key, id, ts, body))
}

// Verify checks a received message: its id and timestamp headers are
// present, the timestamp is within tolerance (default DefaultTolerance)
// of now, and one of the space-separated v1 signatures matches, compared
// in constant time.
func Verify(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing webhook-id, webhook-timestamp or webhook-signature", ErrBadSignature)
	}
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp", ErrBadSignature)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside the tolerance", ErrBadSignature)
	}
	want := []byte(Sign(key, id, ts, body))
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal(want, []byte(sig)) {
			return nil
		}
	}
	return ErrBadSignature
}
