package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// buildSteward compiles the real binary into a temporary directory.
func buildSteward(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "steward")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *lockedBuffer
}

// startProc starts `steward serve` as a subprocess and waits for /healthz.
func startProc(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	p := &proc{url: "http://" + addr, logs: &lockedBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(p.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("server did not start:\n%s", p.logs.String())
	return nil
}

func (p *proc) api(method, path string, body any, out any) (int, error) {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		return res.StatusCode, json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode, nil
}

// writeLoad creates owners from several goroutines until stop closes and
// returns the ids the server acknowledged with 201.
func writeLoad(ps []*proc, workers int, stop <-chan struct{}) []string {
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			p := ps[w%len(ps)]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var o steward.Owner
				code, err := p.api("POST", "/api/v1/owners", map[string]string{"name": fmt.Sprintf("w%d-%d", w, i), "email": fmt.Sprintf("w%d-%d@example.com", w, i)}, &o)
				if err != nil {
					return // the server is gone
				}
				if code == 201 {
					mu.Lock()
					acked = append(acked, o.ID)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return acked
}

func TestAuditChainSurvivesSIGKILL(t *testing.T) {
	bin := buildSteward(t)
	dir := filepath.Join(t.TempDir(), "data")
	env := []string{"STEWARD_ADMIN_TOKEN=" + adminToken, "STEWARD_MASTER_KEY=" + testMasterKey}
	cfg := filepath.Join(t.TempDir(), "steward.yaml")
	os.WriteFile(cfg, []byte("audit:\n  checkpoint_every: 50\n"), 0o600)
	p := startProc(t, bin, env, "--data-dir", dir, "--config", cfg)

	stop := make(chan struct{})
	done := make(chan []string)
	go func() { done <- writeLoad([]*proc{p}, 4, stop) }()
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	close(stop)
	acked := <-done
	if len(acked) < 10 {
		t.Fatalf("only %d writes acknowledged before the kill:\n%s", len(acked), p.logs.String())
	}

	p = startProc(t, bin, env, "--data-dir", dir, "--config", cfg)
	owners := map[string]bool{}
	for cursor := ""; ; {
		var pg struct {
			Items      []*steward.Owner `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		if _, err := p.api("GET", "/api/v1/owners?limit=1000&cursor="+cursor, nil, &pg); err != nil {
			t.Fatal(err)
		}
		for _, o := range pg.Items {
			owners[o.ID] = true
		}
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	for _, id := range acked {
		if !owners[id] {
			t.Fatalf("acknowledged owner %s is missing after the restart", id)
		}
	}
	var rep steward.VerifyReport
	if code, err := p.api("GET", "/api/v1/audit/verify", nil, &rep); err != nil || code != 200 || !rep.OK {
		t.Fatalf("verify after restart: %d %v %+v", code, err, rep)
	}
	// Every acknowledged owner has its entry in the chain.
	var page struct {
		Items []*steward.Event `json:"items"`
	}
	creates := map[string]bool{}
	for cursor := ""; ; {
		var pg struct {
			Items      []*steward.Event `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		if _, err := p.api("GET", "/api/v1/audit?action=owner.create&limit=1000&cursor="+cursor, nil, &pg); err != nil {
			t.Fatal(err)
		}
		page.Items = append(page.Items, pg.Items...)
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	for _, e := range page.Items {
		creates[e.SubjectID] = true
	}
	for _, id := range acked {
		if !creates[id] {
			t.Fatalf("owner %s has no owner.create entry", id)
		}
	}
	// The CLI agrees, against the server and then offline.
	srvEnv := map[string]string{"STEWARD_SERVER": p.url, "STEWARD_TOKEN": adminToken}
	if out, err := auditCLI(t, srvEnv, "audit", "verify"); err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("verify --server: %q %v", out, err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	if out, err := auditCLI(t, nil, "audit", "verify", "--data-dir", dir); err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("verify --data-dir: %q %v", out, err)
	}
}

func TestAuditChainStaysLinearWithTwoServersOnPostgres(t *testing.T) {
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s not set", sqltest.PostgresEnv)
	}
	bin := buildSteward(t)
	db := sqltest.PostgresURL(t)
	env := []string{"STEWARD_ADMIN_TOKEN=" + adminToken, "STEWARD_MASTER_KEY=" + testMasterKey}
	a := startProc(t, bin, env, "--db", db)
	b := startProc(t, bin, env, "--db", db)
	stop := make(chan struct{})
	done := make(chan []string)
	go func() { done <- writeLoad([]*proc{a, b}, 6, stop) }()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	acked := <-done
	if len(acked) < 10 {
		t.Fatalf("only %d writes", len(acked))
	}
	var cp steward.Checkpoint
	if code, err := a.api("POST", "/api/v1/audit/checkpoints", nil, &cp); err != nil || code != 201 {
		t.Fatalf("checkpoint: %d %v\n%s", code, err, a.logs.String())
	}
	out, err := auditCLI(t, nil, "audit", "verify", "--db", db)
	if err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %q %v", out, err)
	}
	var n int64
	fmt.Sscanf(out[strings.Index(out, "intact: ")+len("intact: "):], "%d", &n)
	if n < int64(len(acked)) || cp.TreeSize != n {
		t.Fatalf("%d entries for %d acknowledged writes, checkpoint of %d", n, len(acked), cp.TreeSize)
	}
	// The other server proves an entry in the checkpoint the first signed.
	var proof steward.InclusionProof
	if code, err := b.api("GET", fmt.Sprintf("/api/v1/audit/proof/%d", n/2+1), nil, &proof); err != nil || code != 200 || proof.TreeSize != n {
		t.Fatalf("proof from the other node: %d %v %+v", code, err, proof)
	}
}
