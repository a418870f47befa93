package main

import (
	"bufio"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// crashImportRows is the size of the credential report the import
// scenario sends: large enough that the import takes a few seconds.
const crashImportRows = 50000

// crashKills are the delays after which the campaign sends SIGKILL.
var crashKills = []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 1500 * time.Millisecond}

// crashResult is one row of the campaign's table.
type crashResult struct {
	engine, scenario string
	kill             time.Duration
	acked, present   int
	note             string
}

// crashTable renders the results as the table bench/README.md records.
func crashTable(rs []crashResult) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "engine\tscenario\tkill after\tacknowledged\tpresent\tnote")
	for _, r := range rs {
		kill := r.kill.String()
		switch {
		case r.kill == 0:
			kill = "after the answer"
		case r.kill < 0:
			kill = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", r.engine, r.scenario, kill, r.acked, r.present, r.note)
	}
	w.Flush()
	return b.String()
}

// crashRun is one engine's setup for a scenario: the binary, its
// environment and the database flags (a fresh database per run).
type crashRun struct {
	bin    string
	env    []string
	db     []string
	config string
	report string
}

func (c crashRun) start(t *testing.T) *proc {
	t.Helper()
	return startProc(t, c.bin, c.env, append(slices.Clone(c.db), "--config", c.config)...)
}

// kill9 sends SIGKILL and reaps the process.
func kill9(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// term stops the process with SIGTERM and waits for it.
func term(t *testing.T, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		// A goroutine dump (SIGQUIT) says where the shutdown hangs.
		p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		t.Fatalf("server did not stop on SIGTERM:\n%s", p.logs.String())
	}
}

// verifyLocal runs `steward audit verify` on the database directly, with
// the server stopped: the chain and the checkpoints must verify.
func (c crashRun) verifyLocal(t *testing.T) {
	t.Helper()
	cmd := exec.Command(c.bin, append([]string{"audit", "verify"}, c.db...)...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "intact") {
		t.Fatalf("steward audit verify %s: %v\n%s", strings.Join(c.db, " "), err, out)
	}
}

// walSize is the size of the SQLite write-ahead log (0 on PostgreSQL):
// a large one after a kill shows the import was inside its transaction.
func (c crashRun) walSize() int64 {
	if len(c.db) != 2 || c.db[0] != "--data-dir" {
		return 0
	}
	fi, err := os.Stat(filepath.Join(c.db[1], "steward.db-wal"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// writeCredentialReport writes an AWS IAM credential report of n users,
// each with one active access key.
func writeCredentialReport(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credential-report.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	credentialReport(w, "svc", n)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// credentialReport writes an AWS IAM credential report of n users named
// prefix-NNNNNN, each with one active access key.
func credentialReport(w io.Writer, prefix string, n int) {
	fmt.Fprintln(w, "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,"+
		"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"+
		"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,"+
		"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated")
	for i := range n {
		fmt.Fprintf(w, "%s-%06d,arn:aws:iam::123456789012:user/crash/%s-%06d,2021-07-19T14:03:12+00:00,false,N/A,N/A,N/A,false,"+
			"true,2024-01-10T11:22:33+00:00,2024-06-01T10:45:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n", prefix, i, prefix, i)
	}
}

// listAll pages through a list endpoint of the API.
func listAll[T any](t *testing.T, p *proc, path string) []T {
	t.Helper()
	var all []T
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for cursor := ""; ; {
		var pg steward.Page[T]
		if code, err := p.api("GET", path+sep+"limit=1000&cursor="+url.QueryEscape(cursor), nil, &pg); err != nil || code != 200 {
			t.Fatalf("GET %s: %d %v", path, code, err)
		}
		all = append(all, pg.Items...)
		if pg.NextCursor == "" {
			return all
		}
		cursor = pg.NextCursor
	}
}

// churnAcks holds what the server acknowledged to the churn clients.
type churnAcks struct {
	mu      sync.Mutex
	created []string
	revoked []string
	failed  atomic.Int64
	wait    func()
}

// churn runs clients that create an identity and revoke it, until stop
// closes or, when exitOnError, the server goes away.
func churn(p *proc, clients int, stop <-chan struct{}, exitOnError bool) *churnAcks {
	a := &churnAcks{}
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var id steward.Identity
				code, err := p.api("POST", "/api/v1/identities", map[string]string{"name": fmt.Sprintf("churn-%d-%d", w, i), "kind": "bot", "unowned_reason": "crash campaign"}, &id)
				if err != nil && exitOnError {
					return
				}
				if err != nil || code != 201 {
					a.failed.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				a.mu.Lock()
				a.created = append(a.created, id.ID)
				a.mu.Unlock()
				code, err = p.api("POST", "/api/v1/identities/"+id.ID+"/revoke", map[string]string{"reason": "incident"}, nil)
				if err != nil && exitOnError {
					return
				}
				if err != nil || code != 200 {
					a.failed.Add(1)
					continue
				}
				a.mu.Lock()
				a.revoked = append(a.revoked, id.ID)
				a.mu.Unlock()
			}
		})
	}
	a.wait = wg.Wait
	return a
}

// check counts the acknowledged writes present after a restart: every
// created identity exists, every revoked one is revoked.
func (a *churnAcks) check(t *testing.T, p *proc) (acked, present int) {
	t.Helper()
	status := map[string]steward.Status{}
	for _, i := range listAll[*steward.Identity](t, p, "/api/v1/identities") {
		status[i.ID] = i.Status
	}
	for _, id := range a.created {
		if _, ok := status[id]; ok {
			present++
		} else {
			t.Errorf("acknowledged identity %s is missing", id)
		}
	}
	for _, id := range a.revoked {
		if status[id] == steward.StatusRevoked {
			present++
		} else {
			t.Errorf("acknowledged revocation of %s is lost (status %q)", id, status[id])
		}
	}
	return len(a.created) + len(a.revoked), present
}

// crashImport kills the server while it imports a 50k-row credential
// report: after the restart the import is all there or not at all.
func crashImport(t *testing.T, c crashRun, kill time.Duration) crashResult {
	p := c.start(t)
	type ack struct {
		code int
		took time.Duration
		body string
	}
	done := make(chan ack, 1)
	go func() {
		f, err := os.Open(c.report)
		if err != nil {
			done <- ack{}
			return
		}
		defer f.Close()
		req, _ := http.NewRequest("POST", p.url+"/api/v1/import/aws-credential-report", f)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "text/csv")
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- ack{}
			return
		}
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2000))
		res.Body.Close()
		done <- ack{code: res.StatusCode, took: time.Since(start), body: string(msg)}
	}()
	var a ack
	if kill > 0 {
		time.Sleep(kill)
		kill9(t, p)
		a = <-done
	} else {
		// Kill right after the answer: the acknowledged import stays.
		a = <-done
		kill9(t, p)
	}

	wal := c.walSize()
	p = c.start(t)
	var st steward.InventoryStats
	if code, err := p.api("GET", "/api/v1/stats", nil, &st); err != nil || code != 200 {
		t.Fatalf("stats after restart: %d %v", code, err)
	}
	n := st.ByProvider["aws"]
	r := crashResult{scenario: "50k-row import", kill: kill, note: fmt.Sprintf("%d of %d identities after restart", n, crashImportRows)}
	if n != 0 && n != crashImportRows {
		t.Errorf("the import is partly there: %d of %d identities", n, crashImportRows)
	}
	if wal > 0 {
		r.note += fmt.Sprintf("; WAL %.1f MB at the kill", float64(wal)/1e6)
	}
	if a.code == 200 {
		r.acked = 1
		r.note += fmt.Sprintf("; import answered 200 in %s", a.took.Round(time.Millisecond))
		if n == crashImportRows {
			r.present = 1
		} else {
			t.Errorf("an acknowledged import is lost: %d identities", n)
		}
	} else if a.code != 0 {
		t.Errorf("the import answered %d before the kill: %s", a.code, a.body)
	}
	term(t, p)
	c.verifyLocal(t)
	return r
}

// crashChurn kills the server under 16 clients creating and revoking
// identities.
func crashChurn(t *testing.T, c crashRun, kill time.Duration) crashResult {
	p := c.start(t)
	stop := make(chan struct{})
	a := churn(p, 16, stop, true)
	time.Sleep(kill)
	kill9(t, p)
	close(stop)
	a.wait()

	p = c.start(t)
	acked, present := a.check(t, p)
	term(t, p)
	c.verifyLocal(t)
	return crashResult{scenario: "16 clients create+revoke", kill: kill, acked: acked, present: present,
		note: fmt.Sprintf("%d created, %d revoked", len(a.created), len(a.revoked))}
}

// crashCheckpoint kills the server while it signs checkpoints: one client
// asks for a checkpoint again and again while four write (and the server
// signs one every 50 entries on its own).
func crashCheckpoint(t *testing.T, c crashRun, kill time.Duration) crashResult {
	p := c.start(t)
	stop := make(chan struct{})
	owners := make(chan []string, 1)
	go func() { owners <- writeLoad([]*proc{p}, 4, stop) }()
	var cps []steward.Checkpoint
	cpDone := make(chan struct{})
	go func() {
		defer close(cpDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var cp steward.Checkpoint
			code, err := p.api("POST", "/api/v1/audit/checkpoints", nil, &cp)
			if err != nil {
				return
			}
			if code == 201 {
				cps = append(cps, cp)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(kill)
	kill9(t, p)
	close(stop)
	acked := <-owners
	<-cpDone

	p = c.start(t)
	present := 0
	have := map[string]bool{}
	for _, o := range listAll[*steward.Owner](t, p, "/api/v1/owners") {
		have[o.ID] = true
	}
	for _, id := range acked {
		if have[id] {
			present++
		} else {
			t.Errorf("acknowledged owner %s is missing", id)
		}
	}
	var list struct {
		Items []steward.Checkpoint `json:"items"`
	}
	if code, err := p.api("GET", "/api/v1/audit/checkpoints?limit=1000", nil, &list); err != nil || code != 200 {
		t.Fatalf("checkpoints after restart: %d %v", code, err)
	}
	signed := map[string]bool{}
	for _, cp := range list.Items {
		signed[fmt.Sprintf("%d/%s", cp.TreeSize, cp.RootHash)] = true
	}
	for _, cp := range cps {
		if signed[fmt.Sprintf("%d/%s", cp.TreeSize, cp.RootHash)] {
			present++
		} else if len(list.Items) < 1000 {
			t.Errorf("acknowledged checkpoint of tree size %d is missing", cp.TreeSize)
		}
	}
	var rep steward.VerifyReport
	if code, err := p.api("GET", "/api/v1/audit/verify", nil, &rep); err != nil || code != 200 || !rep.OK {
		t.Fatalf("verify after restart: %d %v %+v", code, err, rep)
	}
	// The server signs a new checkpoint over the recovered chain.
	var cp steward.Checkpoint
	if code, err := p.api("POST", "/api/v1/audit/checkpoints", nil, &cp); err != nil || code != 201 {
		t.Fatalf("checkpoint after restart: %d %v\n%s", code, err, p.logs.String())
	}
	term(t, p)
	c.verifyLocal(t)
	return crashResult{scenario: "checkpoints under writes", kill: kill, acked: len(acked) + len(cps), present: present,
		note: fmt.Sprintf("%d owners, %d checkpoints acknowledged; %d signed after restart", len(acked), len(cps), len(list.Items))}
}

func TestCrashCampaign(t *testing.T) {
	bin := buildSteward(t)
	report := writeCredentialReport(t, crashImportRows)
	// The checkpoint scenario has the server sign one every 50 entries;
	// the others keep the default.
	plain := filepath.Join(t.TempDir(), "steward.yaml")
	frequent := filepath.Join(t.TempDir(), "steward.yaml")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(frequent, []byte("audit:\n  checkpoint_every: 50\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"STEWARD_ADMIN_TOKEN=" + adminToken, "STEWARD_MASTER_KEY=" + testMasterKey}
	scenarios := []struct {
		name  string
		run   func(*testing.T, crashRun, time.Duration) crashResult
		conf  string
		kills []time.Duration // 0: right after the answer
	}{
		{"import", crashImport, plain, append(slices.Clone(crashKills), 0)},
		{"churn", crashChurn, plain, crashKills},
		{"checkpoint", crashCheckpoint, frequent, crashKills},
	}
	var results []crashResult
	engs := engines(t)
	for _, engine := range []string{"sqlite", "postgres"} {
		dbArgs, ok := engs[engine]
		if !ok {
			continue
		}
		t.Run(engine, func(t *testing.T) {
			for _, sc := range scenarios {
				for _, kill := range sc.kills {
					when := kill.String()
					if kill == 0 {
						when = "the answer"
					}
					t.Run(fmt.Sprintf("%s killed after %s", sc.name, when), func(t *testing.T) {
						r := sc.run(t, crashRun{bin: bin, env: env, db: dbArgs(t), config: sc.conf, report: report}, kill)
						r.engine = engine
						results = append(results, r)
					})
				}
			}
		})
	}
	t.Logf("crash campaign:\n%s", crashTable(results))
}

// TestCrashPostgresBackendsTerminated cuts the node's database connections
// three times while 16 clients write: the node recovers without a restart
// and every acknowledged write is there.
func TestCrashPostgresBackendsTerminated(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	bin := buildSteward(t)
	b := make([]byte, 4)
	rand.Read(b)
	app := "steward_crash_" + hex.EncodeToString(b)
	db := sqltest.PostgresURL(t) + "&application_name=" + app
	config := filepath.Join(t.TempDir(), "steward.yaml")
	os.WriteFile(config, nil, 0o600)
	c := crashRun{bin: bin, env: []string{"STEWARD_ADMIN_TOKEN=" + adminToken, "STEWARD_MASTER_KEY=" + testMasterKey}, db: []string{"--db", db}, config: config}
	p := c.start(t)

	admin, err := sql.Open("pgx", os.Getenv(sqltest.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// Only this node's connections: other tests share the server.
	terminate := func() int {
		var n int
		err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, app).Scan(&n)
		if err != nil {
			t.Fatalf("terminate: %v", err)
		}
		return n
	}

	stop := make(chan struct{})
	a := churn(p, 16, stop, false)
	var cut []int
	for range 3 {
		time.Sleep(700 * time.Millisecond)
		cut = append(cut, terminate())
	}
	time.Sleep(700 * time.Millisecond)
	close(stop)
	a.wait()
	if slices.Max(cut) == 0 {
		t.Fatal("no backend of the node was found to terminate")
	}

	// Later requests succeed, without a restart.
	start := time.Now()
	for {
		var id steward.Identity
		code, err := p.api("POST", "/api/v1/identities", map[string]string{"name": "after", "kind": "bot", "unowned_reason": "crash campaign"}, &id)
		if err == nil && code == 201 {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the node did not recover: %d %v\n%s", code, err, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	recovered := time.Since(start)
	if code, err := p.api("GET", "/readyz", nil, nil); err != nil || code != 200 {
		t.Fatalf("readyz after the cuts: %d %v", code, err)
	}
	acked, present := a.check(t, p)
	var rep steward.VerifyReport
	if code, err := p.api("GET", "/api/v1/audit/verify", nil, &rep); err != nil || code != 200 || !rep.OK {
		t.Fatalf("verify: %d %v %+v", code, err, rep)
	}
	term(t, p)
	c.verifyLocal(t)
	r := crashResult{engine: "postgres", scenario: "backends terminated ×3 under 16 clients", kill: -1, acked: acked, present: present,
		note: fmt.Sprintf("%v backends cut; %d requests failed; next write ok after %s", cut, a.failed.Load(), recovered.Round(time.Millisecond))}
	t.Logf("backend termination:\n%s", crashTable([]crashResult{r}))
}
