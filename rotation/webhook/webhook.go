// Package webhook rotates secrets that live in systems Steward cannot
// reach itself: for each step of a rotation it calls the owner's rotation
// endpoint with a request signed as Standard Webhooks define it (the same
// signing as the alert webhooks, internal/stdwebhook) and records the
// answer. A refusal, an error status, a timeout or a redirect stops the
// rotation with the old secret still live.
//
// Every request is a JSON POST:
//
//	{"type": "rotation.set",     "account": REF, "secret": NEW, "fingerprint": SHA256(NEW)}
//	{"type": "rotation.test",    "account": REF, "secret": S,   "fingerprint": SHA256(S)}
//	{"type": "rotation.finish",  "account": REF, "old_fingerprint": SHA256(OLD)}
//	{"type": "rotation.restore", "account": REF, "secret": OLD, "fingerprint": SHA256(OLD)}
//
// set makes the new secret live beside the old one; test answers
// {"accepted": true|false} for the secret it was given (Steward tests the
// new secret, and after finish proves the old one refused the same way);
// finish withdraws the old secret; restore (after a failed test) makes the
// old secret the only one. Any 2xx acknowledges set, finish and restore;
// an optional {"answer": "…"} is recorded in the rotation's events.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/internal/stdwebhook"
	"github.com/steward-nhi/steward/rotation"
)

// KindName is the rotator kind.
const KindName = "webhook"

// DefaultTimeout bounds one call of the owner's endpoint.
const DefaultTimeout = 30 * time.Second

// Kind returns the webhook rotator kind.
func Kind() rotation.Kind { return rotation.Kind{Name: KindName, Split: split, Open: open} }

// split keeps the signing secret out of the public configuration.
func split(cfg map[string]string) (map[string]string, string, []byte, error) {
	public := map[string]string{}
	for k, v := range cfg {
		switch k {
		case "url", "secret":
		case "timeout":
			d, err := steward.ParseDuration(v)
			if err != nil || d <= 0 || time.Duration(d) > 5*time.Minute {
				return nil, "", nil, steward.FieldError("config.timeout", "%q must be a duration between 1ms and 5m", v)
			}
			public[k] = v
		default:
			return nil, "", nil, steward.FieldError("config."+k, "is not a setting of a webhook rotator (url, secret, timeout)")
		}
	}
	u, err := checkURL(cfg["url"])
	if err != nil {
		return nil, "", nil, err
	}
	secret := cfg["secret"]
	if secret == "" {
		return nil, "", nil, steward.FieldError("config.secret", "is required: the key the requests are signed with (whsec_… or at least 16 characters)")
	}
	key, err := stdwebhook.ParseSecret(secret)
	if err != nil {
		return nil, "", nil, steward.FieldError("config.secret", "%v", err)
	}
	if len(key) < 16 {
		return nil, "", nil, steward.FieldError("config.secret", "must hold at least 16 bytes of key")
	}
	public["url"] = u.String()
	return public, u.Host, []byte(secret), nil
}

// checkURL requires https, or http to a loopback address.
func checkURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, steward.FieldError("config.url", "is required: the owner's rotation endpoint (https://…)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, steward.FieldError("config.url", "must be an https:// URL")
	}
	if u.User != nil {
		return nil, steward.FieldError("config.url", "must not carry credentials (the requests are signed with config.secret)")
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, steward.FieldError("config.url", "must be https: the requests carry secrets (http only to a loopback address)")
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Provider is one owner's rotation endpoint.
type Provider struct {
	url    string
	key    []byte
	client *http.Client
}

var _ rotation.Retirer = (*Provider)(nil)

func open(_ context.Context, cfg map[string]string, secret []byte) (rotation.Provider, error) {
	timeout := DefaultTimeout
	if t := cfg["timeout"]; t != "" {
		d, err := steward.ParseDuration(t)
		if err != nil {
			return nil, fmt.Errorf("webhook rotator timeout: %w", err)
		}
		timeout = time.Duration(d)
	}
	return New(cfg["url"], string(secret), timeout)
}

// New returns the provider calling endpoint, signing with secret.
func New(endpoint, secret string, timeout time.Duration) (*Provider, error) {
	if _, err := checkURL(endpoint); err != nil {
		return nil, err
	}
	key, err := stdwebhook.ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &http.Client{Timeout: timeout,
		// A redirect would carry the secret elsewhere: it is a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Provider{url: endpoint, key: key, client: c}, nil
}

// Close does nothing: the provider holds no connection of its own.
func (p *Provider) Close() { p.client.CloseIdleConnections() }

// Message is a request body.
type Message struct {
	Type           string `json:"type"`
	Account        string `json:"account"`
	Secret         string `json:"secret,omitempty"`
	Fingerprint    string `json:"fingerprint,omitempty"`
	OldFingerprint string `json:"old_fingerprint,omitempty"`
}

// Answer is what the endpoint may answer.
type Answer struct {
	Accepted *bool  `json:"accepted,omitempty"`
	Answer   string `json:"answer,omitempty"`
}

// call posts one signed message and returns the decoded answer (empty
// when the body is not JSON) and a short description of the reply.
func (p *Provider) call(ctx context.Context, m Message) (Answer, string, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return Answer{}, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return Answer{}, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "steward-rotation")
	stdwebhook.SetHeaders(req.Header, p.key, ids.New("msg_", time.Now()), time.Now(), body)
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return Answer{}, "", fmt.Errorf("%s: the owner's endpoint did not answer within %s", m.Type, p.client.Timeout)
		}
		return Answer{}, "", fmt.Errorf("%s: the owner's endpoint is unreachable: %w", m.Type, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var a Answer
	_ = json.Unmarshal(raw, &a)
	excerpt := strings.TrimSpace(string(raw))
	if len(excerpt) > 300 {
		excerpt = excerpt[:300] + "…"
	}
	if resp.StatusCode/100 != 2 {
		return a, "", fmt.Errorf("%s: the owner's endpoint answered %s: %s", m.Type, resp.Status, excerpt)
	}
	desc := m.Type + ": " + resp.Status
	if a.Answer != "" {
		desc += ": " + a.Answer
	}
	return a, desc, nil
}

// Set asks the endpoint to make secret live (restore, when old is nil).
func (p *Provider) Set(ctx context.Context, ref string, secret, old []byte) (string, error) {
	typ := "rotation.set"
	if old == nil {
		typ = "rotation.restore"
	}
	_, desc, err := p.call(ctx, Message{Type: typ, Account: ref, Secret: string(secret), Fingerprint: steward.Fingerprint(secret)})
	return desc, err
}

// Check asks the endpoint whether secret works.
func (p *Provider) Check(ctx context.Context, ref string, secret []byte) error {
	a, _, err := p.call(ctx, Message{Type: "rotation.test", Account: ref, Secret: string(secret), Fingerprint: steward.Fingerprint(secret)})
	if err != nil {
		return err
	}
	switch {
	case a.Accepted == nil:
		return errors.New(`rotation.test: the owner's endpoint did not say {"accepted": true|false}`)
	case !*a.Accepted:
		msg := a.Answer
		if msg == "" {
			msg = "the owner's endpoint answered accepted: false"
		}
		return fmt.Errorf("%w: %s", rotation.ErrRefused, msg)
	}
	return nil
}

// Retire asks the endpoint to withdraw the old secret.
func (p *Provider) Retire(ctx context.Context, ref string, old []byte) (string, error) {
	_, desc, err := p.call(ctx, Message{Type: "rotation.finish", Account: ref, OldFingerprint: steward.Fingerprint(old)})
	return desc, err
}
