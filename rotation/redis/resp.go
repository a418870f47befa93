package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// ServerError is an error reply of the server ("-WRONGPASS …").
type ServerError struct{ Msg string }

func (e *ServerError) Error() string { return "redis: " + e.Msg }

// Prefix is the error's first word ("WRONGPASS", "ERR", "NOPERM").
func (e *ServerError) Prefix() string {
	for n := range len(e.Msg) {
		if e.Msg[n] == ' ' {
			return e.Msg[:n]
		}
	}
	return e.Msg
}

// conn is one RESP2 connection: commands are arrays of bulk strings,
// replies are read into string, int64, nil, []any or *ServerError.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

// maxBulk bounds one bulk reply (ACL GETUSER answers are small).
const maxBulk = 1 << 20

func dial(ctx context.Context, addr string, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}, nil
}

func (c *conn) Close() error { return c.nc.Close() }

// do sends one command and reads its reply; an error reply comes back as
// a *ServerError, any other error means the connection is unusable.
func (c *conn) do(ctx context.Context, args ...string) (any, error) {
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.nc.SetDeadline(deadline)
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return c.read(0)
}

func (c *conn) line() (string, error) {
	s, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(s) < 3 || s[len(s)-2] != '\r' {
		return "", errors.New("redis: malformed reply line")
	}
	return s[:len(s)-2], nil
}

func (c *conn) read(depth int) (any, error) {
	if depth > 8 {
		return nil, errors.New("redis: reply nested too deep")
	}
	l, err := c.line()
	if err != nil {
		return nil, err
	}
	body := l[1:]
	switch l[0] {
	case '+':
		return body, nil
	case '-':
		return nil, &ServerError{Msg: body}
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n > maxBulk {
			return nil, fmt.Errorf("redis: bad bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n > 1<<16 {
			return nil, fmt.Errorf("redis: bad array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, 0, n)
		var first error
		for range n {
			v, err := c.read(depth + 1)
			var se *ServerError
			if errors.As(err, &se) {
				if first == nil {
					first = err
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if first != nil {
			return nil, first
		}
		return out, nil
	}
	return nil, fmt.Errorf("redis: unknown reply type %q", l[0])
}
