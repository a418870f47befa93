package steward

import (
	"context"
	"time"
)

// Notification is a message for people: an alert, a posture finding, an
// owner's digest, an offboarding notice.
type Notification struct {
	Kind        string            `json:"kind"` // alert, finding, digest, offboarding
	Severity    string            `json:"severity"`
	Title       string            `json:"title"`
	Body        string            `json:"body"`
	IdentityID  string            `json:"identity_id,omitempty"`
	OwnerID     string            `json:"owner_id,omitempty"`
	Team        string            `json:"team,omitempty"`
	Environment string            `json:"environment,omitempty"`
	Sensitivity Sensitivity       `json:"sensitivity,omitempty"`
	Time        time.Time         `json:"time"`
	Fields      map[string]string `json:"fields,omitempty"`
}

// Notifier delivers notifications (webhook, Slack, email, syslog…). Notify
// must not block on slow sinks: it queues and returns.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// DiscardNotifier drops every notification.
type DiscardNotifier struct{}

// Notify drops n.
func (DiscardNotifier) Notify(context.Context, Notification) error { return nil }
