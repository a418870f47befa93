package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/stdwebhook"
)

// Sink receives chain entries in order. Deliver returns nil only once the
// batch is acknowledged (written, sent, accepted); the runner then records
// the last seq so that a restart resumes after it (at-least-once).
type Sink interface {
	Deliver(ctx context.Context, evs []*steward.Event) error
	Close() error
}

// SinkRunner feeds one sink from the chain in the database. It reads on its
// own, so a slow or failing sink never blocks a write and never loses an
// entry: the chain is the source of truth and the cursor says where to go on.
type SinkRunner struct {
	Name  string
	Store steward.AuditStore
	Sink  Sink
	Batch int
	Poll  time.Duration
	// Backoff after a failed delivery doubles from MinBackoff to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	Log                    *slog.Logger
}

// Run delivers entries until ctx ends.
func (r *SinkRunner) Run(ctx context.Context) {
	if r.Batch <= 0 {
		r.Batch = 500
	}
	if r.Poll <= 0 {
		r.Poll = time.Second
	}
	if r.MinBackoff <= 0 {
		r.MinBackoff = 500 * time.Millisecond
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = time.Minute
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	defer r.Sink.Close()
	for ctx.Err() == nil {
		cursor, err := r.Store.SinkCursor(ctx, "sink:"+r.Name)
		if err == nil {
			err = r.Store.ScanEvents(ctx, cursor, 0, r.Batch, func(evs []*steward.Event) error {
				if err := r.deliver(ctx, evs); err != nil {
					return err
				}
				return r.Store.SetSinkCursor(ctx, "sink:"+r.Name, evs[len(evs)-1].Seq)
			})
		}
		if err != nil && ctx.Err() == nil {
			r.Log.WarnContext(ctx, "audit sink", "sink", r.Name, "err", err)
		}
		sleep(ctx, r.Poll)
	}
}

func (r *SinkRunner) deliver(ctx context.Context, evs []*steward.Event) error {
	wait := r.MinBackoff
	for {
		err := r.Sink.Deliver(ctx, evs)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.Log.WarnContext(ctx, "audit sink delivery failed; retrying", "sink", r.Name, "first_seq", evs[0].Seq, "retry_in", wait.String(), "err", err)
		sleep(ctx, wait)
		wait = min(2*wait, r.MaxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// FileSink appends entries as JSONL to a file and rotates it at MaxBytes,
// keeping MaxFiles old files (path.1 is the newest).
type FileSink struct {
	Path     string
	MaxBytes int64
	MaxFiles int

	mu   sync.Mutex
	f    *os.File
	size int64
}

func (s *FileSink) open() error {
	if s.f != nil {
		return nil
	}
	f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.f, s.size = f, fi.Size()
	return nil
}

func (s *FileSink) rotate() error {
	if err := s.f.Close(); err != nil {
		return err
	}
	s.f = nil
	keep := max(s.MaxFiles, 1)
	os.Remove(fmt.Sprintf("%s.%d", s.Path, keep))
	for i := keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", s.Path, i), fmt.Sprintf("%s.%d", s.Path, i+1))
	}
	if err := os.Rename(s.Path, s.Path+".1"); err != nil {
		return err
	}
	return s.open()
}

// Deliver appends the entries and syncs the file.
func (s *FileSink) Deliver(ctx context.Context, evs []*steward.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, e := range evs {
		if err := WriteJSONL(&buf, e); err != nil {
			return err
		}
		if s.MaxBytes > 0 && s.size+int64(buf.Len()) >= s.MaxBytes && s.size > 0 {
			if err := s.rotate(); err != nil {
				return err
			}
		}
		n, err := s.f.Write(buf.Bytes())
		s.size += int64(n)
		if err != nil {
			return err
		}
		buf.Reset()
	}
	return s.f.Sync()
}

// Close closes the file.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// SyslogSink sends each entry as an RFC 5424 message over tcp (octet
// counting, RFC 6587), udp or a unix socket.
type SyslogSink struct {
	Network  string // tcp, udp, unix
	Address  string
	Hostname string
	AppName  string
	Timeout  time.Duration

	conn net.Conn
}

// FormatSyslog returns an entry as an RFC 5424 message (facility 13, log
// audit; severity 6, informational), the entry's JSON as MSG.
func FormatSyslog(e *steward.Event, hostname, appName string, pid int) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s %s %d %s [steward@32473 seq=\"%d\" actor=\"%s\" entry_hash=\"%s\"] ",
		13*8+6, e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), header(hostname, 255), header(appName, 48), pid,
		header(e.Action, 32), e.Seq, sdEscape(e.Actor), sdEscape(e.EntryHash))
	b.Write(body)
	return b.Bytes(), nil
}

// header makes a header field: printable ASCII without spaces, or "-".
func header(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r > 32 && r < 127 && b.Len() < max {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

func (s *SyslogSink) dial() error {
	if s.conn != nil {
		return nil
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	network := s.Network
	if network == "unix" {
		c, err := net.DialTimeout("unixgram", s.Address, timeout)
		if err == nil {
			s.conn = c
			return nil
		}
	}
	c, err := net.DialTimeout(network, s.Address, timeout)
	if err != nil {
		return err
	}
	s.conn = c
	return nil
}

// Deliver sends the entries; an error drops the connection for a redial.
func (s *SyslogSink) Deliver(ctx context.Context, evs []*steward.Event) error {
	if err := s.dial(); err != nil {
		return err
	}
	host := s.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	app := s.AppName
	if app == "" {
		app = "steward"
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	s.conn.SetWriteDeadline(deadline)
	for _, e := range evs {
		msg, err := FormatSyslog(e, host, app, os.Getpid())
		if err != nil {
			return err
		}
		if s.Network == "tcp" {
			msg = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
		}
		if _, err := s.conn.Write(msg); err != nil {
			s.conn.Close()
			s.conn = nil
			return err
		}
	}
	return nil
}

// Close closes the connection.
func (s *SyslogSink) Close() error {
	if s.conn == nil {
		return nil
	}
	return s.conn.Close()
}

// WebhookPayload is the JSON body a webhook sink posts.
type WebhookPayload struct {
	FirstSeq int64            `json:"first_seq"`
	LastSeq  int64            `json:"last_seq"`
	Entries  []*steward.Event `json:"entries"`
}

// WebhookBody returns the body for a batch and its Standard Webhooks
// message id, "aud_<first seq>-<last seq>": the same on every retry, so a
// receiver drops a batch it already has.
func WebhookBody(evs []*steward.Event) (body []byte, id string, err error) {
	body, err = json.Marshal(WebhookPayload{FirstSeq: evs[0].Seq, LastSeq: evs[len(evs)-1].Seq, Entries: evs})
	if err != nil {
		return nil, "", err
	}
	return body, fmt.Sprintf("aud_%d-%d", evs[0].Seq, evs[len(evs)-1].Seq), nil
}

// CheckWebhookSignature verifies a received webhook's Standard Webhooks
// headers (webhook-id, webhook-timestamp within five minutes of now,
// webhook-signature) against its body, in constant time.
func CheckWebhookSignature(secret []byte, h http.Header, body []byte, now time.Time) bool {
	return stdwebhook.Verify(secret, h, body, now, 0) == nil
}
