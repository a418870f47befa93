package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

const (
	keyA = "1111111111111111111111111111111111111111111111111111111111111111"
	keyB = "2222222222222222222222222222222222222222222222222222222222222222"
)

// runDoctor runs `steward doctor -o json` and returns its checks by name.
func runDoctor(t *testing.T, env map[string]string, args ...string) (map[string]checkResult, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"doctor", "-o", "json"}, args...), func(k string) string { return env[k] },
		strings.NewReader(""), &out, &errb)
	var rs []checkResult
	if jerr := json.Unmarshal(out.Bytes(), &rs); jerr != nil {
		t.Fatalf("doctor output is not JSON (%v): %s %s", jerr, out.String(), errb.String())
	}
	m := map[string]checkResult{}
	for _, r := range rs {
		m[r.Check] = r
	}
	return m, err
}

// seededDataDir is a data directory a server has run in with master key A.
func seededDataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": keyA}, "--data-dir", dir)
	s.stop(t)
	return dir
}

// TestBadInputGivesOneLineFromServeAndDoctor: each mistake an operator
// makes is named, with its fix, in one line by serve (which refuses to
// start) and by doctor (a failed check, exit 1).
func TestBadInputGivesOneLineFromServeAndDoctor(t *testing.T) {
	type input struct {
		args []string
		env  map[string]string
	}
	unknownKey := filepath.Join(t.TempDir(), "steward.yaml")
	if err := os.WriteFile(unknownKey, []byte("addr: 127.0.0.1:0\nlog_levle: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	closedPort := freeAddr(t)
	cases := []struct {
		name  string
		setup func(t *testing.T) input
		check string   // the doctor check that fails
		want  []string // said by both
		never []string // said by neither
	}{
		{"a master key file that does not exist", func(t *testing.T) input {
			return input{[]string{"--data-dir", filepath.Join(t.TempDir(), "d")}, map[string]string{"STEWARD_MASTER_KEY_FILE": "/nonexistent/master.key"}}
		}, "master_key", []string{"/nonexistent/master.key", "STEWARD_MASTER_KEY_FILE", "restore it"}, nil},
		{"a master key that is not the one the stored keys were sealed with", func(t *testing.T) input {
			return input{[]string{"--data-dir", seededDataDir(t)}, map[string]string{"STEWARD_MASTER_KEY": keyB}}
		}, "master_key", []string{"not the one the stored keys were sealed with", "STEWARD_MASTER_KEY"}, []string{keyB}},
		{"a database nobody listens on, with a password in the URL", func(t *testing.T) input {
			return input{[]string{"--db", "postgres://steward:hunter2pw@" + closedPort + "/steward?sslmode=disable"}, nil}
		}, "database", []string{"cannot reach the database at " + closedPort, "STEWARD_DB"}, []string{"hunter2pw"}},
		{"an address another program listens on", func(t *testing.T) input {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			return input{[]string{"--addr", ln.Addr().String(), "--data-dir", filepath.Join(t.TempDir(), "d")}, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken}}
		}, "listen", []string{"is already in use", "--addr / STEWARD_ADDR"}, nil},
		{"a data directory where a file is", func(t *testing.T) input {
			file := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return input{[]string{"--data-dir", filepath.Join(file, "data")}, nil}
		}, "data_dir", []string{"is not a directory", "--data-dir / STEWARD_DATA_DIR"}, nil},
		{"a config file with an unknown key", func(t *testing.T) input {
			return input{[]string{"--config", unknownKey}, nil}
		}, "config", []string{`line 2: unknown key "log_levle"`, "correct its spelling"}, nil},
		{"a config file that does not exist", func(t *testing.T) input {
			return input{[]string{"--config", "/nonexistent/steward.yaml"}, nil}
		}, "config", []string{"/nonexistent/steward.yaml cannot be read", "--config"}, nil},
	}
	if os.Getenv(sqltest.PostgresEnv) != "" {
		cases = append(cases, struct {
			name  string
			setup func(t *testing.T) input
			check string
			want  []string
			never []string
		}{"a database user the server refuses", func(t *testing.T) input {
			u, err := url.Parse(os.Getenv(sqltest.PostgresEnv))
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword("no_such_steward_user", "wrongpw123")
			return input{[]string{"--db", u.String()}, nil}
		}, "database", []string{`refused the credentials of user "no_such_steward_user"`, "--db / STEWARD_DB"}, []string{"wrongpw123"}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.setup(t)
			env := func(k string) string { return in.env[k] }
			var logs bytes.Buffer
			args := append([]string{"serve"}, in.args...)
			if !strings.Contains(strings.Join(in.args, " "), "--addr") {
				args = append(args, "--addr", freeAddr(t))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, args, env, strings.NewReader(""), &logs, &logs)
			if err == nil {
				t.Fatal("serve started")
			}
			var out bytes.Buffer
			exitCode(err, &out)
			line := out.String()
			if strings.Count(line, "\n") != 1 {
				t.Errorf("serve said more than one line: %q", line)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("serve: %q does not say %q", line, w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(line+logs.String(), n) {
					t.Errorf("serve printed %q", n)
				}
			}

			checks, err := runDoctor(t, in.env, in.args...)
			var ec exitCoder
			if !errors.As(err, &ec) || ec.ExitCode() != 1 {
				t.Errorf("doctor exit: %v", err)
			}
			c := checks[tc.check]
			said := c.Detail + ": " + c.Advice
			if c.Status != checkFail {
				t.Fatalf("doctor %s = %+v, want fail", tc.check, c)
			}
			for _, w := range tc.want {
				if !strings.Contains(said, w) {
					t.Errorf("doctor: %q does not say %q", said, w)
				}
			}
			for _, n := range tc.never {
				for _, r := range checks {
					if strings.Contains(r.Detail+r.Advice, n) {
						t.Errorf("doctor printed %q", n)
					}
				}
			}
		})
	}
}

// TestExplainNamesTheCauseAndTheFix covers the causes a test cannot
// provoke on this machine (a wrong password on a trust-only server, a
// directory root can always write).
func TestExplainNamesTheCauseAndTheFix(t *testing.T) {
	cfg := Config{DB: "postgres://app:s3cretpw@db.example:5432/steward", DataDir: "/var/lib/steward", Addr: "0.0.0.0:80"}
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"a wrong password", &pgconn.PgError{Code: "28P01", Message: `password authentication failed for user "app"`},
			[]string{`refused the credentials of user "app"`, "fix the user or password in --db / STEWARD_DB"}},
		{"a missing database", &pgconn.PgError{Code: "3D000", Message: `database "steward" does not exist`},
			[]string{"no such database", "CREATE DATABASE"}},
		{"a data directory without write permission", &startError{"data_dir", &fs.PathError{Op: "open", Path: "/var/lib/steward/x", Err: syscall.EACCES}},
			[]string{"data directory /var/lib/steward is not writable by user", "chown/chmod"}},
		{"a read-only file system", &startError{"data_dir", &fs.PathError{Op: "open", Path: "/var/lib/steward/x", Err: syscall.EROFS}},
			[]string{"is not writable", "--data-dir"}},
		{"a privileged port", &startError{"listen", &net.OpError{Op: "listen", Err: os.NewSyscallError("bind", syscall.EACCES)}},
			[]string{"not allowed to listen on 0.0.0.0:80", "CAP_NET_BIND_SERVICE"}},
		{"an unreadable master key file", &startError{"master_key", &fs.PathError{Op: "open", Path: "/k", Err: syscall.EACCES}},
			[]string{"master key cannot be used", "STEWARD_MASTER_KEY_FILE name a file this user can read"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := explain(tc.err, cfg).Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not say %q", got, w)
				}
			}
			if strings.Contains(got, "s3cretpw") || strings.Contains(got, "\n") {
				t.Errorf("%q shows the password or is not one line", got)
			}
			if !errors.Is(explain(tc.err, cfg), tc.err) {
				t.Error("the cause is lost")
			}
		})
	}
}

// TestDoctorPassesOnAHealthyServer: beside a running server, every check
// passes, the port is recognised as Steward's and the chain head is shown.
func TestDoctorPassesOnAHealthyServer(t *testing.T) {
	for name, engine := range engines(t) {
		t.Run(name, func(t *testing.T) {
			args := engine(t)
			env := map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": keyA}
			s := startServer(t, env, args...)
			addr := strings.TrimPrefix(s.url, "http://")
			s.mustCLI(t, "owner", "create", "--name", "Dana", "--email", "dana@example.com")
			checks, err := runDoctor(t, env, append(args, "--addr", addr)...)
			if err != nil {
				t.Fatalf("doctor: %v %+v", err, checks)
			}
			for _, c := range []string{"config", "database", "migrations", "clock", "master_key", "tls", "listen", "audit_chain"} {
				if checks[c].Status != checkPass {
					t.Errorf("%s: %+v", c, checks[c])
				}
			}
			if !strings.Contains(checks["listen"].Detail, "served by a running Steward") {
				t.Errorf("listen: %+v", checks["listen"])
			}
			if !strings.Contains(checks["master_key"].Detail, "opens the 2 stored key(s)") {
				t.Errorf("master_key: %+v", checks["master_key"])
			}
			if !strings.Contains(checks["audit_chain"].Detail, "head seq") {
				t.Errorf("audit_chain: %+v", checks["audit_chain"])
			}
		})
	}
}

// TestDoctorClockAndCertificate covers the thresholds: the clock against
// the database's (PostgreSQL) and the certificate's expiry.
func TestDoctorClockAndCertificate(t *testing.T) {
	dir := t.TempDir()
	cert := func(name string, notBefore, notAfter time.Time) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: notBefore, NotAfter: notAfter}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalECPrivateKey(key)
		c, k := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		os.WriteFile(c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
		return c, k
	}
	now := time.Now()
	for _, tc := range []struct {
		name       string
		from, till time.Time
		want       string
		says       string
	}{
		{"a certificate valid for a year", now.Add(-time.Hour), now.Add(365 * 24 * time.Hour), checkPass, "in 36"},
		{"a certificate expiring in ten days", now.Add(-time.Hour), now.Add(10 * 24 * time.Hour), checkWarn, "renew"},
		{"an expired certificate", now.Add(-48 * time.Hour), now.Add(-time.Hour), checkFail, "expired"},
		{"a certificate not valid yet", now.Add(time.Hour), now.Add(48 * time.Hour), checkFail, "not valid before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, k := cert(strings.ReplaceAll(tc.name, " ", "-"), tc.from, tc.till)
			var got []checkResult
			doctor{now: time.Now}.tls(Config{TLSCert: c, TLSKey: k}, func(n, s, d, a string) { got = append(got, checkResult{n, s, d, a}) })
			if len(got) != 1 || got[0].Status != tc.want || !strings.Contains(got[0].Detail+got[0].Advice, tc.says) {
				t.Fatalf("%+v, want %s saying %q", got, tc.want, tc.says)
			}
		})
	}

	if os.Getenv(sqltest.PostgresEnv) == "" {
		return
	}
	dsn := sqltest.PostgresURL(t)
	for _, tc := range []struct {
		name   string
		offset time.Duration
		want   string
	}{
		{"a host clock in step with the database", 0, checkPass},
		{"a host clock five seconds ahead", 5 * time.Second, checkWarn},
		{"a host clock two minutes behind", -2 * time.Minute, checkFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := doctor{g: &globals{getenv: func(string) string { return "" }}, now: func() time.Time { return time.Now().Add(tc.offset) }}
			cfg := defaultConfig()
			cfg.DB = dsn
			cfg.Addr = freeAddr(t)
			var clock checkResult
			for _, r := range d.run(context.Background(), func() (Config, error) { return cfg, nil }) {
				if r.Check == "clock" {
					clock = r
				}
			}
			if clock.Status != tc.want {
				t.Fatalf("clock = %+v, want %s", clock, tc.want)
			}
		})
	}
}
