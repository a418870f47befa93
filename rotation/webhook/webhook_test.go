package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/internal/stdwebhook"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/rotation/webhook"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var admin = steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})

const signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// owner is the owner's system behind its rotation endpoint: it verifies
// every request's signature, keeps the set of live secrets, and can be
// told to refuse a step.
type owner struct {
	*httptest.Server
	mu     sync.Mutex
	live   map[string]bool // secrets that work now
	steps  []string
	refuse string        // the message type answered 500
	reject string        // the message type answered accepted:false
	delay  time.Duration // before every answer
}

func newOwner(t *testing.T, initial string) *owner {
	o := &owner{live: map[string]bool{initial: true}}
	key, _ := stdwebhook.ParseSecret(signing)
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := stdwebhook.Verify(key, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m webhook.Message
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		time.Sleep(o.delay)
		o.mu.Lock()
		defer o.mu.Unlock()
		o.steps = append(o.steps, strings.TrimPrefix(m.Type, "rotation."))
		if m.Type == o.refuse {
			http.Error(w, "cannot do "+m.Type+" now", http.StatusInternalServerError)
			return
		}
		if m.Secret != "" && m.Fingerprint != steward.Fingerprint([]byte(m.Secret)) {
			http.Error(w, "fingerprint mismatch", http.StatusBadRequest)
			return
		}
		switch m.Type {
		case "rotation.set":
			o.live[m.Secret] = true
		case "rotation.restore":
			o.live = map[string]bool{m.Secret: true}
		case "rotation.finish":
			for s := range o.live {
				if steward.Fingerprint([]byte(s)) == m.OldFingerprint {
					delete(o.live, s)
				}
			}
		case "rotation.test":
			ok := o.live[m.Secret] && m.Type != o.reject
			_ = json.NewEncoder(w).Encode(map[string]any{"accepted": ok, "answer": map[bool]string{true: "login ok", false: "login refused"}[ok]})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"answer": m.Type + " done for " + m.Account})
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *owner) works(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.live[s]
}

func (o *owner) log() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.steps, ",")
}

type rig struct {
	cus *custody.Service
	rot *rotation.Service
	id  string
}

func newRig(t *testing.T, o *owner, cfg map[string]string) *rig {
	t.Helper()
	store := sqltest.SQLite(t)
	box, _ := secretbox.New(make([]byte, 32))
	cus, _ := custody.New(custody.Config{Store: store, Box: box})
	rot, err := rotation.New(rotation.Config{Store: store, Custody: cus, Kinds: []rotation.Kind{webhook.Kind()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rot.Close)
	i, err := inventory.New(inventory.Config{Store: store}).CreateIdentity(admin, &steward.Identity{Name: "vendor-key", Kind: steward.KindAPIKey,
		Provider: "vendor:acme", Sensitivity: steward.SensitivityHigh, UnownedReason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = map[string]string{}
	}
	cfg["url"] = o.URL
	if cfg["secret"] == "" {
		cfg["secret"] = signing
	}
	if _, err := rot.CreateRotator(admin, rotation.RotatorRequest{Name: "acme", Kind: "webhook", Config: cfg}); err != nil {
		t.Fatal(err)
	}
	c, err := cus.Register(admin, i.ID, custody.RegisterRequest{Type: "password", ExternalRef: "acme-account-7", Secret: "old-secret-1", Rotator: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{cus: cus, rot: rot, id: c.ID}
}

func (r *rig) current(t *testing.T) string {
	t.Helper()
	s, err := r.cus.CurrentSecret(context.Background(), r.id)
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func TestWebhookRotation(t *testing.T) {
	zero := steward.Duration(0)
	t.Run("each step calls the owner's endpoint, signed, and the old secret is proven refused", func(t *testing.T) {
		o := newOwner(t, "old-secret-1")
		r := newRig(t, o, nil)
		ro, err := r.rot.Rotate(admin, r.id, rotation.RotateRequest{Overlap: &zero})
		if err != nil {
			t.Fatal(err)
		}
		if got := o.log(); got != "set,test,finish,test" {
			t.Fatalf("steps at the endpoint: %s", got)
		}
		if ro.Status != steward.RotationSucceeded || !strings.Contains(ro.Proof, "refused") ||
			!strings.Contains(ro.ProviderAnswer, "rotation.set done for acme-account-7") || !strings.Contains(ro.ProviderAnswer, "rotation.finish") {
			t.Fatalf("rotation: %+v", ro)
		}
		if cur := r.current(t); !o.works(cur) || o.works("old-secret-1") {
			t.Fatalf("custody holds %q; live at the owner: new %v, old %v", cur, o.works(cur), o.works("old-secret-1"))
		}
	})
	for _, tt := range []struct {
		name, refuse, reject string
		status               string
		steps                string
	}{
		{"a refused set stops the rotation", "rotation.set", "", steward.RotationRolledBack, "set,restore"},
		{"a failed test rolls back", "", "rotation.test", steward.RotationRolledBack, "set,test,restore"},
		{"an endpoint that errs on test rolls back", "rotation.test", "", steward.RotationRolledBack, "set,test,restore"},
	} {
		t.Run(tt.name+" with the old secret live", func(t *testing.T) {
			o := newOwner(t, "old-secret-1")
			o.refuse, o.reject = tt.refuse, tt.reject
			r := newRig(t, o, nil)
			ro, err := r.rot.Rotate(admin, r.id, rotation.RotateRequest{})
			if err == nil || ro.Status != tt.status {
				t.Fatalf("rotation: %+v %v", ro, err)
			}
			if got := o.log(); got != tt.steps {
				t.Fatalf("steps at the endpoint: %s, want %s", got, tt.steps)
			}
			if !o.works("old-secret-1") || r.current(t) != "old-secret-1" {
				t.Fatalf("old secret live %v, custody %q", o.works("old-secret-1"), r.current(t))
			}
		})
	}
	t.Run("a refused finish leaves both secrets live and the revocation not proven", func(t *testing.T) {
		o := newOwner(t, "old-secret-1")
		o.refuse = "rotation.finish"
		r := newRig(t, o, nil)
		ro, err := r.rot.Rotate(admin, r.id, rotation.RotateRequest{})
		if err != nil || !strings.HasPrefix(ro.Proof, "NOT PROVEN") || !strings.Contains(ro.ProviderAnswer, "retiring the old secret failed") {
			t.Fatalf("rotation: %+v %v", ro, err)
		}
		if !o.works("old-secret-1") || !o.works(r.current(t)) {
			t.Fatal("a secret stopped working")
		}
	})
	t.Run("a request signed with the wrong key is rejected by the receiver", func(t *testing.T) {
		o := newOwner(t, "old-secret-1")
		r := newRig(t, o, map[string]string{"secret": "whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
		ro, err := r.rot.Rotate(admin, r.id, rotation.RotateRequest{})
		if err == nil || ro.Status == steward.RotationSucceeded || !strings.Contains(ro.Error, "401") {
			t.Fatalf("rotation: %+v %v", ro, err)
		}
		if o.log() != "" || !o.works("old-secret-1") || r.current(t) != "old-secret-1" {
			t.Fatalf("steps %q, old live %v", o.log(), o.works("old-secret-1"))
		}
	})
	t.Run("an endpoint slower than the timeout fails the rotation", func(t *testing.T) {
		o := newOwner(t, "old-secret-1")
		o.delay = 300 * time.Millisecond
		r := newRig(t, o, map[string]string{"timeout": "50ms"})
		ro, err := r.rot.Rotate(admin, r.id, rotation.RotateRequest{})
		if err == nil || ro.Status == steward.RotationSucceeded || !strings.Contains(ro.Error, "did not answer within 50ms") {
			t.Fatalf("rotation: %+v %v", ro, err)
		}
		if r.current(t) != "old-secret-1" {
			t.Fatal("custody lost the old secret")
		}
	})
	t.Run("a redirect is not followed", func(t *testing.T) {
		o := newOwner(t, "old-secret-1")
		redirect := httptest.NewServer(http.RedirectHandler(o.URL, http.StatusTemporaryRedirect))
		t.Cleanup(redirect.Close)
		p, err := webhook.New(redirect.URL, signing, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Set(context.Background(), "a", []byte("s"), []byte("o")); err == nil || !strings.Contains(err.Error(), "307") {
			t.Fatalf("set through a redirect: %v", err)
		}
		if o.log() != "" {
			t.Fatal("the redirect was followed")
		}
	})
}

func TestWebhookConfig(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cfg   map[string]string
		field string
	}{
		{"an https endpoint with a whsec secret is accepted", map[string]string{"url": "https://rotate.example.com/hook", "secret": signing, "timeout": "10s"}, ""},
		{"http to loopback is accepted", map[string]string{"url": "http://127.0.0.1:8080/hook", "secret": "0123456789abcdef"}, ""},
		{"the URL is required", map[string]string{"secret": signing}, "config.url"},
		{"http elsewhere is refused", map[string]string{"url": "http://rotate.example.com/hook", "secret": signing}, "config.url"},
		{"credentials in the URL are refused", map[string]string{"url": "https://u:p@rotate.example.com/", "secret": signing}, "config.url"},
		{"the secret is required", map[string]string{"url": "https://rotate.example.com/"}, "config.secret"},
		{"a short secret is refused", map[string]string{"url": "https://rotate.example.com/", "secret": "short"}, "config.secret"},
		{"a bad timeout is refused", map[string]string{"url": "https://rotate.example.com/", "secret": signing, "timeout": "forever"}, "config.timeout"},
		{"an unknown setting is refused", map[string]string{"url": "https://rotate.example.com/", "secret": signing, "retries": "3"}, "config.retries"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			public, _, secret, err := webhook.Kind().Split(tt.cfg)
			if tt.field != "" {
				if steward.ErrorCode(err) != steward.EINVALID || !strings.Contains(err.Error(), tt.field) {
					t.Fatalf("got %v, want an error naming %s", err, tt.field)
				}
				return
			}
			if err != nil || public["secret"] != "" || string(secret) != tt.cfg["secret"] {
				t.Fatalf("split: %v %q %v", public, secret, err)
			}
		})
	}
}
