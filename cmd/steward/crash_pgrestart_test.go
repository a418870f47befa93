package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// ownPostgres is a PostgreSQL server of the test's own, from the
// machine's binaries (as scripts/pg.sh starts one), which the test may
// restart: the server that STEWARD_TEST_POSTGRES_URL names is shared.
type ownPostgres struct {
	bin, dir, url string
	asPostgres    bool // run the binaries as the postgres user (we are root)
}

// startOwnPostgres starts a throwaway PostgreSQL on a free port; it is
// stopped and removed when the test ends.
func startOwnPostgres(t *testing.T) *ownPostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			bins = []string{p}
		}
	}
	if len(bins) == 0 {
		t.Fatalf("%s is set but no PostgreSQL binaries (initdb, pg_ctl) are installed: install postgresql", sqltest.PostgresEnv)
	}
	// Under /tmp, not t.TempDir(): its parents are private to us, and the
	// server runs as postgres when we are root.
	dir, err := os.MkdirTemp("", "steward-pgrestart-")
	if err != nil {
		t.Fatal(err)
	}
	pg := &ownPostgres{bin: filepath.Dir(bins[len(bins)-1]), dir: dir, asPostgres: os.Getuid() == 0}
	if pg.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pg.run(t, "initdb", "-D", filepath.Join(dir, "db"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
	t.Cleanup(func() {
		pg.ctlQuiet("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	pg.run(t, "pg_ctl", "-D", filepath.Join(dir, "db"), "-l", filepath.Join(dir, "log"), "-w", "start",
		"-o", fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", port, dir))
	pg.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return pg
}

func (pg *ownPostgres) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(pg.bin, name)
	if pg.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (pg *ownPostgres) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := pg.command(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "log"))
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, log)
	}
}

func (pg *ownPostgres) ctlQuiet(args ...string) {
	_ = pg.command("pg_ctl", append([]string{"-D", filepath.Join(pg.dir, "db"), "-w"}, args...)...).Run()
}

// restart restarts the server (fast shutdown: every connection is cut)
// and returns how long it was away.
func (pg *ownPostgres) restart(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	// With -l, or the new server would hold our output pipe open.
	pg.run(t, "pg_ctl", "-D", filepath.Join(pg.dir, "db"), "-l", filepath.Join(pg.dir, "log"), "-w", "-m", "fast", "restart")
	return time.Since(start)
}

// TestCrashPostgresRestarted restarts PostgreSQL under load: two nodes
// serve imports, usage ingest and 8 clients creating and revoking
// identities while the server goes down and comes back. Neither node is
// restarted. Every write that was acknowledged is there afterwards, the
// imports are all-or-nothing, both nodes write again, and a credential
// that node A revokes as soon as the database is back (while node B's
// change listener may still be reconnecting) is refused by node B, which
// had it cached: the listener resyncs from the chain when it reconnects.
func TestCrashPostgresRestarted(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	pg := startOwnPostgres(t)
	bin := buildSteward(t)
	config := filepath.Join(t.TempDir(), "steward.yaml")
	if err := os.WriteFile(config, []byte("broker:\n  issuer: http://steward.restart.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := crashRun{bin: bin, env: []string{"STEWARD_ADMIN_TOKEN=" + adminToken, "STEWARD_MASTER_KEY=" + testMasterKey}, db: []string{"--db", pg.url}, config: config}
	a := c.start(t)
	b := c.start(t)

	_, issued := newIssuedIdentity(t, a.url, []string{"x"}, "api_key")
	key := issued[0]
	if st, body := httpDo(t, "GET", b.url+"/api/v1/whoami", key.Secret, "", ""); st != 200 {
		t.Fatalf("node B before the restart: %d %s", st, body)
	}

	const importRows, ingestLines = 200, 20
	stop := make(chan struct{})
	churned := churn(a, 8, stop, false)
	var mu sync.Mutex
	acks := map[string][]string{} // kind → what was acknowledged
	failed := map[string]int{}
	var wg sync.WaitGroup
	// load posts a body named name until stop closes, and notes whether
	// the node acknowledged it.
	load := func(kind, url, ct string, body func(r int) (name, text string)) {
		wg.Go(func() {
			for r := 0; ; r++ {
				select {
				case <-stop:
					return
				default:
				}
				name, text := body(r)
				st := postStatus(url, ct, text)
				mu.Lock()
				if st == 200 {
					acks[kind] = append(acks[kind], name)
				} else {
					failed[kind]++
				}
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	load("import", a.url+"/api/v1/import/aws-credential-report", "text/csv", func(r int) (string, string) {
		var body strings.Builder
		prefix := fmt.Sprintf("imp%03d", r)
		credentialReport(&body, prefix, importRows)
		return prefix, body.String()
	})
	load("ingest", b.url+"/api/v1/usage", "application/x-ndjson", func(r int) (string, string) {
		subject := fmt.Sprintf("restart-batch-%04d", r)
		var body strings.Builder
		for k := range ingestLines {
			fmt.Fprintf(&body, `{"time":"2026-01-02T03:04:%02dZ","subject":%q,"action":"s3:GetObject"}`+"\n", k, subject)
		}
		return subject, body.String()
	})

	time.Sleep(800 * time.Millisecond)
	away := pg.restart(t)
	// Revoke on A as soon as it can write again: B's listener is likely
	// still reconnecting (backoff), so B learns of it by resyncing.
	back := time.Now()
	for {
		st, _ := httpDo(t, "POST", a.url+"/api/v1/credentials/"+key.ID+"/revoke", adminToken, "application/json", `{"reason":"incident"}`)
		if st == 200 {
			break
		}
		if time.Since(back) > 15*time.Second {
			t.Fatalf("node A could not revoke %s after the restart: %d\n%s", time.Since(back), st, a.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	revoked := time.Now()
	if st, _ := httpDo(t, "GET", a.url+"/api/v1/whoami", key.Secret, "", ""); st != 401 {
		t.Fatalf("node A accepts the key it revoked: %d", st)
	}
	for {
		st, _ := httpDo(t, "GET", b.url+"/api/v1/whoami", key.Secret, "", "")
		if st == 401 {
			break
		}
		if time.Since(revoked) > 10*time.Second {
			t.Fatalf("node B still accepts the key %s after node A revoked it past the restart\n%s", time.Since(revoked), b.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	refusedAfter := time.Since(revoked)
	time.Sleep(500 * time.Millisecond) // load goes on past the outage
	close(stop)
	churned.wait()
	wg.Wait()
	imports, ingests := acks["import"], acks["ingest"]

	// Both nodes write again without a restart, and are ready.
	for _, p := range []*proc{a, b} {
		var id steward.Identity
		if code, err := p.api("POST", "/api/v1/identities", map[string]string{"name": "after-" + p.url[len(p.url)-5:], "kind": "bot", "unowned_reason": "crash campaign"}, &id); err != nil || code != 201 {
			t.Fatalf("%s after the restart: %d %v\n%s", p.url, code, err, p.logs.String())
		}
		if code, err := p.api("GET", "/readyz", nil, nil); err != nil || code != 200 {
			t.Fatalf("%s readyz after the restart: %d %v", p.url, code, err)
		}
	}
	if len(imports) == 0 || len(ingests) == 0 || len(churned.created) == 0 {
		t.Fatalf("no load was acknowledged: %d imports, %d ingests, %d identities", len(imports), len(ingests), len(churned.created))
	}

	acked, present := churned.check(t, a)
	// Imports: every acknowledged one whole; none partly there.
	perPrefix := map[string]int{}
	for _, i := range listAll[*steward.Identity](t, a, "/api/v1/identities?provider=aws") {
		prefix, _, _ := strings.Cut(i.Name, "-")
		perPrefix[prefix]++
	}
	for prefix, n := range perPrefix {
		if n != importRows {
			t.Errorf("import %s is partly there: %d of %d identities", prefix, n, importRows)
		}
	}
	acked += len(imports)
	for _, prefix := range imports {
		if perPrefix[prefix] == importRows {
			present++
		} else {
			t.Errorf("acknowledged import %s is missing", prefix)
		}
	}
	acked += len(ingests)
	for _, subject := range ingests {
		var pg steward.Page[*steward.UsageEvent]
		if code, err := b.api("GET", "/api/v1/usage?kind=ingest&limit=100&subject="+subject, nil, &pg); err != nil || code != 200 {
			t.Fatalf("usage of %s: %d %v", subject, code, err)
		}
		if len(pg.Items) == ingestLines {
			present++
		} else {
			t.Errorf("acknowledged ingest %s: %d of %d events", subject, len(pg.Items), ingestLines)
		}
	}
	var rep steward.VerifyReport
	if code, err := a.api("GET", "/api/v1/audit/verify", nil, &rep); err != nil || code != 200 || !rep.OK {
		t.Fatalf("verify after the restart: %d %v %+v", code, err, rep)
	}
	r := crashResult{engine: "postgres", scenario: "PostgreSQL restarted under imports, ingest, 8 create+revoke clients (2 nodes)", kill: -1, acked: acked, present: present,
		note: fmt.Sprintf("away %s; %d identities, %d revocations, %d imports, %d ingests acknowledged; failed during the outage: %v, %d churn; "+
			"key revoked on A %s after the restart, refused by B %s later",
			away.Round(time.Millisecond), len(churned.created), len(churned.revoked), len(imports), len(ingests), failed, churned.failed.Load(),
			revoked.Sub(back).Round(time.Millisecond), refusedAfter.Round(time.Millisecond))}
	t.Logf("PostgreSQL restart:\n%s", crashTable([]crashResult{r}))
}

// postStatus posts body as the admin and returns the status, 0 when the
// request fails (it may run outside the test's goroutine).
func postStatus(u, ct, body string) int {
	req, err := http.NewRequest("POST", u, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", ct)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
