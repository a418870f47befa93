package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"sort"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Email sends each notification as a plain-text message over SMTP,
// upgrading the connection with STARTTLS. Without STARTTLS the message is
// refused unless AllowPlaintext is set (a relay on localhost).
type Email struct {
	SinkName string
	Addr     string // host:port, usually :587
	From     string
	To       []string
	Username string
	Password string
	// TLS overrides the STARTTLS configuration (tests: a private CA).
	TLS            *tls.Config
	AllowPlaintext bool
}

// Name is the sink's name.
func (e *Email) Name() string { return e.SinkName }

// Send delivers n.
func (e *Email) Send(ctx context.Context, n steward.Notification) error {
	host, _, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", e.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("steward"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := e.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	} else if !e.AllowPlaintext {
		return errors.New("the SMTP server does not offer STARTTLS; refusing to send in clear text")
	}
	if e.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(e.From); err != nil {
		return err
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(EmailMessage(e.From, e.To, n)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// headerSafe removes line breaks so a value cannot add headers.
func headerSafe(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

// EmailMessage renders n as an RFC 5322 message with CRLF line ends.
func EmailMessage(from string, to []string, n steward.Notification) []byte {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	line("From: %s", headerSafe(from))
	line("To: %s", headerSafe(strings.Join(to, ", ")))
	line("Subject: %s", headerSafe(fmt.Sprintf("[Steward %s] %s", strings.ToUpper(n.Severity), n.Title)))
	line("Date: %s", n.Time.UTC().Format(time.RFC1123Z))
	line("MIME-Version: 1.0")
	line("Content-Type: text/plain; charset=utf-8")
	line("Content-Transfer-Encoding: 8bit")
	line("")
	body := n.Body
	if body == "" {
		body = n.Title
	}
	for l := range strings.SplitSeq(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(l, ".") {
			l = "." + l
		}
		line("%s", l)
	}
	line("")
	facts := map[string]string{"kind": n.Kind, "severity": n.Severity, "identity": n.IdentityID, "owner": n.OwnerID, "team": n.Team,
		"environment": n.Environment, "tier": string(n.Sensitivity)}
	for k, v := range n.Fields {
		facts[k] = v
	}
	keys := make([]string, 0, len(facts))
	for k, v := range facts {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		line("%s: %s", k, headerSafe(facts[k]))
	}
	return []byte(b.String())
}
