// Package redistest starts a real redis-server for tests: on a free port,
// in t.TempDir(), with a config file, an aclfile and an admin user; the
// default user is off. A missing binary fails the test unless
// STEWARD_SKIP_REDIS=1 (install it with apt-get install -y redis-server).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AdminPassword is the admin user's password.
const AdminPassword = "admin-pw-1"

// Server is a running redis-server.
type Server struct {
	Addr string
	// URL is redis://admin:AdminPassword@Addr, what a rotator is given.
	URL string
	Dir string
}

// Start starts a server, stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if os.Getenv("STEWARD_SKIP_REDIS") == "1" {
		t.Skip("STEWARD_SKIP_REDIS=1")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed (apt-get install -y redis-server; STEWARD_SKIP_REDIS=1 skips these tests)")
	}
	var last error
	for range 3 {
		s, err := try(t, bin)
		if err == nil {
			return s
		}
		last = err
	}
	t.Fatalf("redis-server did not start: %v", last)
	return nil
}

func try(t testing.TB, bin string) (*Server, error) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	acl := filepath.Join(dir, "users.acl")
	users := "user default off nopass ~* &* +@all\nuser admin on >" + AdminPassword + " ~* &* +@all\n"
	if err := os.WriteFile(acl, []byte(users), 0o600); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "redis.conf")
	text := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\naclfile %s\nsave \"\"\nappendonly no\ndaemonize no\nlogfile %s\n",
		port, dir, acl, filepath.Join(dir, "redis.log"))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, conf)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			return nil, fmt.Errorf("redis-server exited: %s", log)
		default:
		}
		if ping(addr) == nil {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("redis-server on %s did not answer PING", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(stop)
	return &Server{Addr: addr, URL: "redis://admin:" + AdminPassword + "@" + addr, Dir: dir}, nil
}

// ping logs in as admin and sends PING.
func ping(addr string) error {
	_, err := session(addr, "admin", AdminPassword, []string{"PING"})
	return err
}

// Login logs in as user with password on a new connection: nil when the
// server accepts it.
func (s *Server) Login(user, password string) error {
	_, err := session(s.Addr, user, password, nil)
	return err
}

// Admin runs one command as the admin and returns the first line of the
// reply (an error reply is returned as it is, "-ERR …").
func (s *Server) Admin(t testing.TB, args ...string) string {
	t.Helper()
	out, err := session(s.Addr, "admin", AdminPassword, args)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out
}

// session logs in and sends one command (when cmd is set), returning the
// first line of its reply.
func session(addr, user, password string, cmd []string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	send := func(args ...string) {
		fmt.Fprintf(c, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(c, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	send("AUTH", user, password)
	r := bufio.NewReader(c)
	l, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(l, "+OK") {
		return "", fmt.Errorf("AUTH %s: %s", user, strings.TrimSpace(l))
	}
	if cmd == nil {
		return "", nil
	}
	send(cmd...)
	l, err = r.ReadString('\n')
	return strings.TrimSpace(l), err
}
