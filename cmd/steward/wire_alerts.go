package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/alerts"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/stdwebhook"
	"github.com/steward-nhi/steward/notify"
	"github.com/steward-nhi/steward/sqlstore"
)

// alertsConfig is the alerts section of steward.yaml. Secrets (webhook
// signing keys, Slack URLs, SMTP passwords) come from environment
// variables or files named here, never from the file itself.
//
//	alerts:
//	  learning_period: 7d        # per identity, before the learning detectors speak
//	  min_events: 100            # … and at least this many events
//	  window: 1h                 # group one detector's hits on one identity
//	  disabled_detectors: [off_hours]
//	  limits: {auth_failures: 10, auth_failure_window: 1m, spike_z: 6, silence_after: 1h}
//	  sinks:
//	    - {name: hook, type: webhook, url: https://soc.example/steward, secret_env: STEWARD_ALERT_HOOK_SECRET}
//	    - {name: chat, type: slack, url_env: STEWARD_SLACK_WEBHOOK_URL}
//	    - {name: mail, type: email, address: smtp.example:587, from: steward@example.com, to: [sec@example.com],
//	       username: steward, password_env: STEWARD_SMTP_PASSWORD}
//	    - {name: siem, type: syslog, network: tcp, address: siem.example:601}
//	  rules:
//	    - {name: page on critical, min_severity: critical, sinks: [hook, chat]}
//	    - {name: decoys, detectors: [honeytoken], sinks: [hook], response: suspend}
//	    - {name: prod payments, teams: [payments], environments: [prod], tiers: [critical, high], sinks: [mail]}
//	  retry: {attempts: 5, backoff: 500ms, max_backoff: 30s}
type alertsConfig struct {
	// Disabled turns anomaly detection and notifications off.
	Disabled          bool                `yaml:"disabled"`
	LearningPeriod    steward.Duration    `yaml:"learning_period"`
	MinEvents         int64               `yaml:"min_events"`
	Window            steward.Duration    `yaml:"window"`
	QueueSize         int                 `yaml:"queue_size"`
	DisabledDetectors []string            `yaml:"disabled_detectors"`
	Limits            alertLimitsConfig   `yaml:"limits"`
	Sinks             []alertSinkConfig   `yaml:"sinks"`
	Rules             []steward.AlertRule `yaml:"rules"`
	Retry             struct {
		Attempts   int              `yaml:"attempts"`
		Backoff    steward.Duration `yaml:"backoff"`
		MaxBackoff steward.Duration `yaml:"max_backoff"`
	} `yaml:"retry"`
}

type alertLimitsConfig struct {
	AuthFailures      int              `yaml:"auth_failures"`
	AuthFailureWindow steward.Duration `yaml:"auth_failure_window"`
	SpikeZ            float64          `yaml:"spike_z"`
	SpikeMin          float64          `yaml:"spike_min"`
	SilenceAfter      steward.Duration `yaml:"silence_after"`
	SilenceExpected   float64          `yaml:"silence_expected"`
}

type alertSinkConfig struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // webhook, slack, email, syslog
	// webhook, slack
	URL        string `yaml:"url"`
	URLEnv     string `yaml:"url_env"`
	SecretEnv  string `yaml:"secret_env"`
	SecretFile string `yaml:"secret_file"`
	// Envelope (webhook): "" posts the notification, "cloudevents" a
	// CloudEvents 1.0 structured-mode event.
	Envelope string `yaml:"envelope"`
	// email, syslog
	Address string `yaml:"address"`
	// email
	From           string   `yaml:"from"`
	To             []string `yaml:"to"`
	Username       string   `yaml:"username"`
	PasswordEnv    string   `yaml:"password_env"`
	AllowPlaintext bool     `yaml:"allow_plaintext"`
	// syslog
	Network  string `yaml:"network"`
	Facility int    `yaml:"facility"`
}

func newAlertSink(c alertSinkConfig, getenv func(string) string) (notify.Sink, error) {
	if c.Name == "" {
		return nil, fmt.Errorf("name is required")
	}
	url := c.URL
	if c.URLEnv != "" {
		url = getenv(c.URLEnv)
	}
	client := &http.Client{Timeout: 15 * time.Second}
	switch c.Type {
	case "webhook":
		if err := checkHTTPURL(url); err != nil {
			return nil, err
		}
		secret, err := signingSecret(c.SecretEnv, c.SecretFile, getenv)
		if err != nil {
			return nil, err
		}
		if len(secret) < 16 {
			return nil, fmt.Errorf("a webhook sink needs a signing secret of at least 16 bytes: secret_env or secret_file")
		}
		if c.Envelope != notify.EnvelopeNone && c.Envelope != notify.EnvelopeCloudEvents {
			return nil, fmt.Errorf("envelope %q is not cloudevents (or empty)", c.Envelope)
		}
		return &notify.Webhook{SinkName: c.Name, URL: url, Secret: secret, Client: client, Envelope: c.Envelope}, nil
	case "slack":
		if checkHTTPURL(url) != nil {
			return nil, fmt.Errorf("a slack sink needs its incoming-webhook URL (url_env names the variable holding it)")
		}
		return &notify.Slack{SinkName: c.Name, URL: url, Client: client}, nil
	case "email":
		if c.Address == "" || c.From == "" || len(c.To) == 0 {
			return nil, fmt.Errorf("an email sink needs address (host:port), from and to")
		}
		pw := ""
		if c.PasswordEnv != "" {
			pw = getenv(c.PasswordEnv)
		}
		return &notify.Email{SinkName: c.Name, Addr: c.Address, From: c.From, To: c.To, Username: c.Username, Password: pw,
			AllowPlaintext: c.AllowPlaintext}, nil
	case "syslog":
		if err := checkSyslog(c.Network, c.Address); err != nil {
			return nil, err
		}
		return &notify.Syslog{SinkName: c.Name, Network: c.Network, Address: c.Address, Facility: c.Facility}, nil
	}
	return nil, fmt.Errorf("type %q is not webhook, slack, email or syslog", c.Type)
}

// newNotifier builds the dispatcher that delivers alerts and owners'
// notifications to the configured sinks.
func newNotifier(c alertsConfig, getenv func(string) string, store *sqlstore.Store, m *httpapi.Metrics, log *slog.Logger) (*notify.Dispatcher, error) {
	var sinks []notify.Sink
	for i, sc := range c.Sinks {
		s, err := newAlertSink(sc, getenv)
		if err != nil {
			return nil, fmt.Errorf("config alerts.sinks[%d]: %w", i, err)
		}
		sinks = append(sinks, s)
	}
	disp, err := notify.New(notify.Config{Sinks: sinks, Rules: sinkRules(c.Rules), DeadLetters: store, Attempts: c.Retry.Attempts,
		Backoff: time.Duration(c.Retry.Backoff), MaxBackoff: time.Duration(c.Retry.MaxBackoff), Logger: log.With("component", "notify")})
	if err != nil {
		return nil, fmt.Errorf("config alerts: %w", err)
	}
	if err := disp.Register(m.Registry()); err != nil {
		return nil, fmt.Errorf("alerts metrics: %w", err)
	}
	return disp, nil
}

// newAlerts builds the anomaly detectors around next (the usage log): they
// see every usage event, then pass it on.
func newAlerts(ctx context.Context, c alertsConfig, store *sqlstore.Store, next steward.UsagePipeline, disp *notify.Dispatcher,
	responder alerts.Responder, m *httpapi.Metrics, log *slog.Logger) (*alerts.Engine, error) {
	l := c.Limits
	eng, err := alerts.New(alerts.Config{Store: store, Inventory: store, Next: next, Notifier: disp, Tester: disp,
		Rules: c.Rules, Responder: responder, LearningPeriod: time.Duration(c.LearningPeriod), MinEvents: c.MinEvents,
		Window: time.Duration(c.Window), QueueSize: c.QueueSize, Disabled: c.DisabledDetectors, Registry: m.Registry(), Logger: log.With("component", "alerts"),
		Limits: alerts.Limits{AuthFailures: l.AuthFailures, AuthFailureWindow: time.Duration(l.AuthFailureWindow), SpikeZ: l.SpikeZ, SpikeMin: l.SpikeMin,
			SilenceAfter: time.Duration(l.SilenceAfter), SilenceExpected: l.SilenceExpected}})
	if err != nil {
		return nil, fmt.Errorf("config alerts: %w", err)
	}
	if err := eng.Load(ctx); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	log.Info("alerts", "sinks", disp.Sinks(), "rules", len(c.Rules), "learning_period", time.Duration(c.LearningPeriod).String())
	return eng, nil
}

// sinkRules are the rules that route to sinks (a response-only rule
// routes nothing).
func sinkRules(rules []steward.AlertRule) []steward.AlertRule {
	var out []steward.AlertRule
	for _, r := range rules {
		if len(r.Sinks) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// signingSecret reads a sink's signing secret from the environment
// variable or the file its configuration names.
// signingSecret reads a webhook signing secret and returns its HMAC key:
// a Standard Webhooks "whsec_<base64>" secret is decoded, any other is
// used as it is (its whsec_ form for a receiver is "whsec_" + base64 of
// it).
func signingSecret(env, file string, getenv func(string) string) ([]byte, error) {
	var raw string
	switch {
	case env != "":
		raw = getenv(env)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("secret_file: %w", err)
		}
		raw = string(bytes.TrimSpace(b))
	default:
		return nil, nil
	}
	return stdwebhook.ParseSecret(raw)
}
