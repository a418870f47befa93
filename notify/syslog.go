package notify

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Syslog sends each notification as one RFC 5424 message: over udp one
// datagram, over tcp or a unix stream socket with octet-counting framing
// (RFC 6587), over a unix datagram socket one datagram.
type Syslog struct {
	SinkName string
	Network  string // tcp, udp, unix
	Address  string
	// Facility (default 10, authpriv).
	Facility int
	Hostname string
	// Now is the clock of the timestamps (tests).
	Now func() time.Time
}

// Name is the sink's name.
func (s *Syslog) Name() string { return s.SinkName }

// Send delivers n.
func (s *Syslog) Send(ctx context.Context, n steward.Notification) error {
	msg := s.Format(n)
	var d net.Dialer
	var conn net.Conn
	var err error
	framed := false
	switch s.Network {
	case "udp":
		conn, err = d.DialContext(ctx, "udp", s.Address)
	case "tcp":
		conn, err = d.DialContext(ctx, "tcp", s.Address)
		framed = true
	case "unix":
		if conn, err = d.DialContext(ctx, "unixgram", s.Address); err != nil {
			conn, err = d.DialContext(ctx, "unix", s.Address)
			framed = true
		}
	default:
		return fmt.Errorf("syslog network %q is not tcp, udp or unix", s.Network)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if framed {
		msg = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
	}
	_, err = conn.Write(msg)
	return err
}

// syslog severities (RFC 5424 §6.2.1).
func syslogSeverity(s string) int {
	switch steward.Severity(s) {
	case steward.SeverityCritical:
		return 2
	case steward.SeverityHigh:
		return 3
	case steward.SeverityMedium:
		return 4
	case steward.SeverityLow:
		return 5
	}
	return 6
}

// Format renders n as an RFC 5424 message with structured data under the
// documentation enterprise number 32473.
func (s *Syslog) Format(n steward.Notification) []byte {
	fac := s.Facility
	if fac <= 0 || fac > 23 {
		fac = 10
	}
	host := s.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	sd := map[string]string{"kind": n.Kind, "severity": n.Severity, "identity": n.IdentityID, "team": n.Team, "environment": n.Environment}
	for k, v := range n.Fields {
		sd[k] = v
	}
	keys := make([]string, 0, len(sd))
	for k, v := range sd {
		if v != "" && sdName(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s steward %d %s [steward@32473", fac*8+syslogSeverity(n.Severity), now().UTC().Format("2006-01-02T15:04:05.000000Z"),
		nilValue(headerField(host, 255)), os.Getpid(), nilValue(headerField(n.Kind, 32)))
	for _, k := range keys {
		fmt.Fprintf(&b, ` %s="%s"`, k, sdEscape(sd[k]))
	}
	b.WriteString("] ")
	b.WriteString(headerSafe(n.Title))
	if n.Body != "" {
		b.WriteString(": ")
		b.WriteString(headerSafe(n.Body))
	}
	return []byte(b.String())
}

// headerField keeps printable US-ASCII without spaces, at most max.
func headerField(s string, max int) string {
	out := strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return -1
		}
		return r
	}, s)
	if len(out) > max {
		out = out[:max]
	}
	return out
}

func nilValue(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sdName accepts parameter names RFC 5424 allows (no '=', ' ', ']', '"').
func sdName(k string) bool {
	return len(k) > 0 && len(k) <= 32 && headerField(k, 32) == k && !strings.ContainsAny(k, `= ]"`)
}

func sdEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`, "\n", " ").Replace(v)
}
