package notify_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/golden"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/stdwebhook/webhooktest"
	"github.com/steward-nhi/steward/notify"
)

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func sample() steward.Notification {
	return steward.Notification{Kind: "alert", Severity: "critical", Title: "Revoked credential used", Body: "crd_1 was used from 203.0.113.9\nafter its revocation.",
		IdentityID: "nhi_1", Team: "payments", Environment: "prod", Sensitivity: steward.SensitivityHigh, Time: at,
		Fields: map[string]string{"detector": "revoked_use", "alert_id": "alr_1", "owasp": "NHI2:2025"}}
}

// recorder is a sink that fails the first fail sends.
type recorder struct {
	name string
	mu   sync.Mutex
	got  []steward.Notification
	fail int
	done chan struct{}
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Send(_ context.Context, n steward.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("unavailable")
	}
	r.got = append(r.got, n)
	if r.done != nil {
		r.done <- struct{}{}
	}
	return nil
}

type deadLog struct {
	mu sync.Mutex
	ds []*steward.DeadLetter
	ch chan struct{}
}

func (d *deadLog) AddDeadLetter(_ context.Context, dl *steward.DeadLetter) error {
	d.mu.Lock()
	d.ds = append(d.ds, dl)
	d.mu.Unlock()
	d.ch <- struct{}{}
	return nil
}

func TestRouting(t *testing.T) {
	sinks := []notify.Sink{&recorder{name: "pager"}, &recorder{name: "slack"}, &recorder{name: "mail"}}
	rules := []steward.AlertRule{
		{Name: "critical to the pager", MinSeverity: steward.SeverityCritical, Sinks: []string{"pager"}},
		{Name: "payments to slack", Teams: []string{"payments"}, Sinks: []string{"slack"}},
		{Name: "prod high tier by mail", Environments: []string{"prod"}, Tiers: []steward.Sensitivity{steward.SensitivityHigh, steward.SensitivityCritical}, Kinds: []string{"alert"}, Sinks: []string{"mail"}},
		{Name: "honeytokens", Detectors: []string{"honeytoken"}, Sinks: []string{"pager", "slack"}},
	}
	d, err := notify.New(notify.Config{Sinks: sinks, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		n    steward.Notification
		want []string
	}{
		{"a critical prod alert of payments goes everywhere", sample(), []string{"pager", "slack", "mail"}},
		{"a medium finding of another team goes nowhere", steward.Notification{Kind: "finding", Severity: "medium", Team: "web"}, nil},
		{"a medium alert of payments in dev goes to slack", steward.Notification{Kind: "alert", Severity: "medium", Team: "payments", Environment: "dev"}, []string{"slack"}},
		{"a low-tier prod alert is not mailed", steward.Notification{Kind: "alert", Severity: "high", Environment: "prod", Sensitivity: steward.SensitivityLow}, nil},
		{"a honeytoken alert pages whatever its severity", steward.Notification{Kind: "alert", Severity: "low", Fields: map[string]string{"detector": "honeytoken"}}, []string{"pager", "slack"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := d.Route(tc.n); !slices.Equal(got, tc.want) {
				t.Fatalf("route = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := notify.New(notify.Config{Sinks: sinks, Rules: []steward.AlertRule{{Name: "x", Sinks: []string{"nope"}}}}); err == nil {
		t.Fatal("a rule naming an unknown sink was accepted")
	}
	if d2, _ := notify.New(notify.Config{Sinks: sinks}); !slices.Equal(d2.Route(steward.Notification{}), []string{"pager", "slack", "mail"}) {
		t.Fatal("without rules every sink should receive everything")
	}
}

func TestRetriesThenDeadLetter(t *testing.T) {
	flaky := &recorder{name: "flaky", fail: 2, done: make(chan struct{}, 1)}
	down := &recorder{name: "down", fail: 1 << 30}
	dl := &deadLog{ch: make(chan struct{}, 1)}
	d, err := notify.New(notify.Config{Sinks: []notify.Sink{flaky, down}, DeadLetters: dl, Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	if err := d.Notify(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	<-flaky.done
	<-dl.ch
	if len(dl.ds) != 1 || dl.ds[0].Sink != "down" || dl.ds[0].Attempts != 3 || dl.ds[0].Notification.Title != sample().Title {
		t.Fatalf("dead letters: %+v", dl.ds)
	}
	// The sink signals before the dispatcher counts the send: wait for
	// the count rather than race it.
	st := d.Stats()
	for deadline := time.Now().Add(10 * time.Second); st.Sent != 1 && time.Now().Before(deadline); st = d.Stats() {
		time.Sleep(time.Millisecond)
	}
	if st.Sent != 1 || st.DeadLetters != 1 || st.Failed != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNotifyNeverBlocks(t *testing.T) {
	dl := &deadLog{ch: make(chan struct{}, 10)}
	d, _ := notify.New(notify.Config{Sinks: []notify.Sink{&recorder{name: "slow"}}, DeadLetters: dl, QueueSize: 1})
	// Not running: the queue holds one, the others become dead letters.
	for range 3 {
		_ = d.Notify(context.Background(), sample())
	}
	if len(dl.ds) != 2 || dl.ds[0].Error != "sink queue full" {
		t.Fatalf("dead letters: %+v", dl.ds)
	}
}

func TestWebhookIsSignedAndVerifies(t *testing.T) {
	secret := []byte("s3cret")
	srv := webhooktest.New(t)
	w := &notify.Webhook{SinkName: "hook", URL: srv.URL, Secret: secret, Now: func() time.Time { return at }}
	if err := w.Send(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	body, hdr := srv.Last()
	ts, sig := hdr.Get("webhook-timestamp"), hdr.Get("webhook-signature")
	if ts != strconv.FormatInt(at.Unix(), 10) || !strings.HasPrefix(sig, "v1,") || hdr.Get("webhook-id") == "" {
		t.Fatalf("headers %v", hdr)
	}
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"the right secret verifies", secret, body, at.Add(time.Minute), true},
		{"another secret does not", []byte("other"), body, at, false},
		{"a changed body does not", secret, append(slices.Clone(body), ' '), at, false},
		{"a replay an hour later does not", secret, body, at.Add(time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.Verify(tc.secret, hdr, tc.body, tc.now, 0)
			if (err == nil) != tc.ok {
				t.Fatalf("verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer fail.Close()
	if err := (&notify.Webhook{SinkName: "x", URL: fail.URL, Secret: secret}).Send(context.Background(), sample()); err == nil {
		t.Fatal("a 503 was taken as delivered")
	}
}

func TestWebhookCloudEventsEnvelope(t *testing.T) {
	secret := []byte("s3cret-0123456789abcdef")
	srv := webhooktest.New(t)
	w := &notify.Webhook{SinkName: "hook", URL: srv.URL, Secret: secret, Envelope: notify.EnvelopeCloudEvents, Now: func() time.Time { return at }}
	n := sample()
	if err := w.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	body, hdr := srv.Last()
	if ct := hdr.Get("Content-Type"); ct != "application/cloudevents+json" {
		t.Fatalf("content type %s", ct)
	}
	if err := notify.Verify(secret, hdr, body, at, 0); err != nil {
		t.Fatalf("the envelope is not what was signed: %v", err)
	}
	var ev struct {
		SpecVersion, ID, Source, Type, Time, DataContentType string
		Data                                                 steward.Notification
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.SpecVersion != "1.0" || ev.ID != hdr.Get("webhook-id") || ev.Source == "" || ev.Type != "dev.steward.notification."+n.Kind ||
		ev.Time == "" || ev.Data.Title != n.Title {
		t.Fatalf("event %s", body)
	}
}

func TestSlackPostsText(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	}))
	defer srv.Close()
	if err := (&notify.Slack{SinkName: "slack", URL: srv.URL}).Send(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, `{"text":`) || !strings.Contains(body, "Revoked credential used") {
		t.Fatalf("body %s", body)
	}
}

// TestFormats compares the Slack text, the email message and the syslog
// line with testdata/formats.golden (go test -update rewrites it).
func TestFormats(t *testing.T) {
	n := sample()
	n.Title = "Revoked credential used\r\nBcc: evil@example.com"
	s := &notify.Syslog{Hostname: "steward-1", Now: func() time.Time { return at }}
	line := string(s.Format(n))
	line = line[:strings.Index(line, " steward ")+9] + "PID" + line[strings.Index(line, " alert "):]
	got := "--- slack\n" + notify.SlackText(n) + "\n--- email\n" +
		strings.ReplaceAll(string(notify.EmailMessage("steward@example.com", []string{"sec@example.com"}, n)), "\r\n", "\n") +
		"--- syslog\n" + line + "\n"
	golden.Check(t, filepath.Join("testdata", "formats.golden"), []byte(got))
	if strings.Contains(got, "\nBcc:") {
		t.Fatal("a title injected a header")
	}
}

func TestSyslogTransports(t *testing.T) {
	t.Run("udp sends one datagram", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if err := (&notify.Syslog{Network: "udp", Address: pc.LocalAddr().String()}).Send(context.Background(), sample()); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "<82>1 ") {
			t.Fatalf("got %q %v", buf[:n], err)
		}
	})
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network+" frames by octet count", func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "log.sock")
			}
			ln, err := net.Listen(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			got := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- err.Error()
					return
				}
				defer c.Close()
				b, _ := io.ReadAll(c)
				got <- string(b)
			}()
			if err := (&notify.Syslog{Network: network, Address: ln.Addr().String()}).Send(context.Background(), sample()); err != nil {
				t.Fatal(err)
			}
			msg := <-got
			n, rest, _ := strings.Cut(msg, " ")
			if l, _ := strconv.Atoi(n); l != len(rest) || !strings.HasPrefix(rest, "<82>1 ") {
				t.Fatalf("frame %q", msg)
			}
		})
	}
}

// fakeSMTP is a minimal SMTP server offering STARTTLS.
func fakeSMTP(t *testing.T, starttls bool) (addr string, roots *x509.CertPool, msgs chan string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	msgs = make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(c, tlsCfg, starttls, msgs)
		}
	}()
	return ln.Addr().String(), roots, msgs
}

func serveSMTP(c net.Conn, tlsCfg *tls.Config, starttls bool, msgs chan string) {
	defer c.Close()
	r, w := bufio.NewReader(c), c
	say := func(s string) { io.WriteString(w, s+"\r\n") }
	say("220 localhost ESMTP")
	secure := false
	var data strings.Builder
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(l))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			if starttls && !secure {
				say("250-localhost")
				say("250 STARTTLS")
			} else {
				say("250 localhost")
			}
		case cmd == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, tlsCfg)
			if tc.Handshake() != nil {
				return
			}
			c, r, w, secure = tc, bufio.NewReader(tc), tc, true
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
			say("250 ok")
		case cmd == "DATA":
			say("354 send")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			say("250 queued")
			msgs <- strconv.FormatBool(secure) + "\n" + data.String()
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

func TestEmail(t *testing.T) {
	t.Run("the message is sent after STARTTLS", func(t *testing.T) {
		addr, roots, msgs := fakeSMTP(t, true)
		e := &notify.Email{SinkName: "mail", Addr: addr, From: "steward@example.com", To: []string{"sec@example.com"},
			TLS: &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12}}
		if err := e.Send(context.Background(), sample()); err != nil {
			t.Fatal(err)
		}
		m := <-msgs
		if !strings.HasPrefix(m, "true\n") || !strings.Contains(m, "Subject: [Steward CRITICAL] Revoked credential used") {
			t.Fatalf("message %q", m)
		}
	})
	t.Run("a server without STARTTLS is refused", func(t *testing.T) {
		addr, _, _ := fakeSMTP(t, false)
		e := &notify.Email{SinkName: "mail", Addr: addr, From: "steward@example.com", To: []string{"sec@example.com"}}
		if err := e.Send(context.Background(), sample()); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSendTest(t *testing.T) {
	ok, bad := &recorder{name: "ok"}, &recorder{name: "bad", fail: 1}
	d, _ := notify.New(notify.Config{Sinks: []notify.Sink{ok, bad}})
	res, err := d.SendTest(context.Background(), sample(), nil)
	if err != nil || len(res) != 2 || !res[0].OK || res[1].OK || res[1].Error == "" {
		t.Fatalf("results %+v %v", res, err)
	}
	if _, err := d.SendTest(context.Background(), sample(), []string{"nope"}); err == nil {
		t.Fatal("an unknown sink was accepted")
	}
}
