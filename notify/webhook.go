package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/internal/stdwebhook"
)

// ErrBadSignature is returned by Verify for a wrong or stale signature.
var ErrBadSignature = stdwebhook.ErrBadSignature

// Verify checks a received webhook's Standard Webhooks headers against
// body, refusing timestamps more than tolerance (default 5 minutes) from
// now.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	return stdwebhook.Verify(secret, h, body, now, tolerance)
}

// Envelopes a webhook body can take.
const (
	// EnvelopeNone posts the notification itself.
	EnvelopeNone = ""
	// EnvelopeCloudEvents posts a CloudEvents 1.0 structured-mode event
	// (application/cloudevents+json) whose data is the notification.
	EnvelopeCloudEvents = "cloudevents"
)

// Webhook posts each notification as JSON, signed (see the package
// documentation). Any 2xx acknowledges it.
type Webhook struct {
	SinkName string
	URL      string
	// Secret is the HMAC key (stdwebhook.ParseSecret of the configured
	// secret).
	Secret []byte
	Client *http.Client
	// Envelope is EnvelopeNone or EnvelopeCloudEvents.
	Envelope string
	// Now is the clock of the timestamps (tests).
	Now func() time.Time
}

// CloudEvent is a CloudEvents 1.0 event in structured JSON mode.
type CloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject,omitempty"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	Data            any    `json:"data"`
}

// NotificationEvent wraps a notification as a CloudEvent of type
// dev.steward.notification.<kind>.
func NotificationEvent(id string, n steward.Notification) CloudEvent {
	kind := n.Kind
	if kind == "" {
		kind = "notification"
	}
	return CloudEvent{SpecVersion: "1.0", ID: id, Source: "steward", Type: "dev.steward.notification." + kind,
		Subject: n.IdentityID, Time: n.Time.UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Data: n}
}

// Name is the sink's name.
func (w *Webhook) Name() string { return w.SinkName }

// Send posts n.
func (w *Webhook) Send(ctx context.Context, n steward.Notification) error {
	id := deliveryID(n)
	var body []byte
	var err error
	contentType := "application/json"
	if w.Envelope == EnvelopeCloudEvents {
		body, err = json.Marshal(NotificationEvent(id, n))
		contentType = "application/cloudevents+json"
	} else {
		body, err = json.Marshal(n)
	}
	if err != nil {
		return err
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "steward-notify")
	stdwebhook.SetHeaders(req.Header, w.Secret, id, ts, body)
	return post(w.client(), req)
}

func (w *Webhook) client() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	return defaultClient
}

var defaultClient = &http.Client{Timeout: 15 * time.Second}

// deliveryID is stable across retries of one notification.
func deliveryID(n steward.Notification) string {
	if id := n.Fields["delivery_id"]; id != "" {
		return id
	}
	if id := n.Fields["alert_id"]; id != "" {
		return id + "-" + strconv.FormatInt(n.Time.UnixMicro(), 36)
	}
	return ids.New("ntf_", n.Time)
}

func post(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", req.URL.Host, resp.Status)
	}
	return nil
}

// Slack posts to a Slack-compatible incoming webhook ({"text": …}); the
// URL is the secret.
type Slack struct {
	SinkName string
	URL      string
	Client   *http.Client
}

// Name is the sink's name.
func (s *Slack) Name() string { return s.SinkName }

// Send posts n as text.
func (s *Slack) Send(ctx context.Context, n steward.Notification) error {
	body, err := json.Marshal(map[string]string{"text": SlackText(n)})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c := s.Client
	if c == nil {
		c = defaultClient
	}
	return post(c, req)
}

// SlackText renders n in Slack's mrkdwn.
func SlackText(n steward.Notification) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s *[%s] %s*", severityEmoji(n.Severity), strings.ToUpper(n.Severity), slackEscape(headerSafe(n.Title)))
	if n.Body != "" {
		fmt.Fprintf(&b, "\n%s", slackEscape(n.Body))
	}
	var facts []string
	for _, kv := range [][2]string{{"identity", n.IdentityID}, {"team", n.Team}, {"environment", n.Environment}, {"tier", string(n.Sensitivity)},
		{"detector", n.Fields["detector"]}, {"owasp", n.Fields["owasp"]}, {"alert", n.Fields["alert_id"]}} {
		if kv[1] != "" {
			facts = append(facts, fmt.Sprintf("%s: `%s`", kv[0], slackEscape(kv[1])))
		}
	}
	if len(facts) > 0 {
		fmt.Fprintf(&b, "\n%s", strings.Join(facts, " · "))
	}
	return b.String()
}

func severityEmoji(s string) string {
	switch steward.Severity(s) {
	case steward.SeverityCritical:
		return ":rotating_light:"
	case steward.SeverityHigh:
		return ":red_circle:"
	case steward.SeverityMedium:
		return ":large_orange_circle:"
	}
	return ":large_blue_circle:"
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
