package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/sqlstore"
)

// Check outcomes, from best to worst.
const (
	checkPass = "pass"
	checkWarn = "warn"
	checkFail = "fail"
	checkSkip = "skip"
)

// checkResult is one line of steward doctor.
type checkResult struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Advice string `json:"advice,omitempty"`
}

// doctorFailed is the exit status of a doctor run with a failed check.
type doctorFailed struct{ n int }

func (e doctorFailed) Error() string { return "" }
func (e doctorFailed) ExitCode() int { return 1 }

// Thresholds of the clock and certificate checks.
const (
	skewWarn    = time.Second
	skewFail    = 30 * time.Second
	certWarnFor = 30 * 24 * time.Hour
)

func newDoctorCmd(g *globals) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this machine can run the server, and why not",
		Long: `Check what steward serve needs, with the same configuration (flags > STEWARD_*
environment > steward.yaml): the configuration itself, the data directory, the
database and its migrations, the clock against the database's, the master key
and whether it opens the stored keys, the TLS certificate, the listening
address and the audit chain head. Nothing is changed: no migration runs and no
key is generated.

Prints one line per check (pass, warn, fail or skip) with one line of advice;
exits 1 when a check failed, 0 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d := doctor{g: g, now: time.Now}
			results := d.run(cmd.Context(), func() (Config, error) { return loadServerConfig(cmd, g, configPath) })
			return d.print(results)
		},
	}
	addServerFlags(cmd, &configPath)
	return cmd
}

type doctor struct {
	g   *globals
	now func() time.Time
}

// run performs every check; a check whose inputs failed is skipped.
func (d doctor) run(ctx context.Context, load func() (Config, error)) []checkResult {
	var out []checkResult
	add := func(name, status, detail, advice string) {
		out = append(out, checkResult{name, status, detail, advice})
	}
	fail := func(name string, err error, fallback string) {
		var p *problem
		if errors.As(err, &p) {
			add(name, checkFail, p.what, p.fix)
			return
		}
		add(name, checkFail, err.Error(), fallback)
	}
	cfg, err := load()
	if err != nil {
		fail("config", err, "correct the value named above (flags, STEWARD_* environment or steward.yaml; see docs/config.md)")
		for _, c := range []string{"data_dir", "database", "migrations", "clock", "master_key", "tls", "listen", "audit_chain"} {
			add(c, checkSkip, "the configuration did not load", "")
		}
		return out
	}
	engine := "SQLite in " + cfg.DataDir
	if cfg.DB != "" {
		engine = "PostgreSQL at " + dbHost(cfg.DB)
	}
	add("config", checkPass, "loaded; database: "+engine, "")

	// The database, opened as it is: no migration, no new file.
	var st *sqlstore.Store
	dbSkip := ""
	if cfg.DB == "" {
		if err := dataDirWritable(cfg.DataDir); err != nil {
			fail("data_dir", explain(&startError{"data_dir", err}, cfg), "")
			dbSkip = "the data directory is not usable"
			add("database", checkSkip, dbSkip, "")
		} else if _, err := os.Stat(filepath.Join(cfg.DataDir, "steward.db")); errors.Is(err, fs.ErrNotExist) {
			add("data_dir", checkPass, cfg.DataDir+" is writable", "")
			add("database", checkWarn, "no database yet in "+cfg.DataDir, "steward serve creates it at first start; point --data-dir at the existing one if this is a mistake")
			dbSkip = "no database yet"
		} else {
			add("data_dir", checkPass, cfg.DataDir+" is writable", "")
		}
	}
	if dbSkip == "" {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		if cfg.DB != "" {
			st, err = sqlstore.Open(dctx, cfg.DB, sqlstore.Options{Inspect: true})
		} else {
			st, err = sqlstore.Open(dctx, filepath.Join(cfg.DataDir, "steward.db"), sqlstore.Options{Inspect: true})
		}
		if err == nil {
			err = st.Ping(dctx)
		}
		cancel()
		if err != nil {
			fail("database", explain(err, cfg), "check the database URL and that the server runs")
			dbSkip = "the database is not reachable"
		} else {
			defer st.Close()
			add("database", checkPass, engine+" answers", "")
		}
	}
	current := false
	if dbSkip != "" {
		add("migrations", checkSkip, dbSkip, "")
	} else if ms, err := st.Migrations(ctx); err != nil {
		fail("migrations", err, "check the database user's privileges")
	} else {
		current = ms.Current()
		switch {
		case len(ms.Unknown) > 0:
			add("migrations", checkFail, fmt.Sprintf("the database has migration(s) %v that this binary does not know", ms.Unknown),
				"run the newer Steward that wrote them (this one is "+version+")")
		case len(ms.Changed) > 0:
			add("migrations", checkFail, "migration(s) "+strings.Join(ms.Changed, ", ")+" were changed after they were applied",
				"run the exact Steward release that applied them; do not edit migration files")
		case len(ms.Pending) > 0:
			add("migrations", checkWarn, fmt.Sprintf("%d of %d applied; %d pending (%s…)", ms.Applied, ms.Known, len(ms.Pending), ms.Pending[0]),
				"steward serve applies them at start; back up the database first")
		default:
			add("migrations", checkPass, fmt.Sprintf("%d of %d applied", ms.Applied, ms.Known), "")
		}
	}

	switch {
	case dbSkip != "":
		add("clock", checkSkip, dbSkip, "")
	case cfg.DB == "":
		add("clock", checkPass, "the embedded database shares this host's clock", "")
	default:
		before := d.now()
		dbNow, err := st.DatabaseTime(ctx)
		after := d.now()
		if err != nil {
			fail("clock", err, "check the database connection")
			break
		}
		skew := dbNow.Sub(before.Add(after.Sub(before) / 2)).Round(time.Millisecond)
		abs := max(skew, -skew)
		detail := fmt.Sprintf("database clock is %s from this host's", skew)
		switch {
		case abs >= skewFail:
			add("clock", checkFail, detail, "synchronise both clocks with NTP (chrony, systemd-timesyncd): token lifetimes and expiry sweeps depend on them")
		case abs >= skewWarn:
			add("clock", checkWarn, detail, "synchronise both clocks with NTP (chrony, systemd-timesyncd)")
		default:
			add("clock", checkPass, detail, "")
		}
	}

	d.masterKey(ctx, cfg, st, current, dbSkip, add, fail)
	d.tls(cfg, add)
	d.listen(ctx, cfg, add)

	switch {
	case dbSkip != "":
		add("audit_chain", checkSkip, dbSkip, "")
	case !current:
		add("audit_chain", checkSkip, "the schema is not current", "")
	default:
		head, err := st.LastEvent(ctx)
		switch {
		case err != nil:
			fail("audit_chain", err, "check the database")
		case head == nil:
			add("audit_chain", checkPass, "empty (no event yet)", "")
		default:
			add("audit_chain", checkPass, fmt.Sprintf("head seq %d, hash %s, at %s", head.Seq, short(head.EntryHash), head.Time.Format(time.RFC3339)),
				"")
		}
	}
	return out
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// masterKey checks the key's presence and that it opens every stored key,
// without generating one.
func (d doctor) masterKey(ctx context.Context, cfg Config, st *sqlstore.Store, current bool, dbSkip string,
	add func(name, status, detail, advice string), fail func(string, error, string)) {
	src := secretbox.Source{Env: d.g.getenv("STEWARD_MASTER_KEY"), File: d.g.getenv("STEWARD_MASTER_KEY_FILE")}
	if src.Env == "" && src.File == "" {
		if cfg.DB != "" {
			add("master_key", checkWarn, "no master key: the broker and signed checkpoints stay off",
				"set STEWARD_MASTER_KEY or STEWARD_MASTER_KEY_FILE, the same on every node")
			return
		}
		path := filepath.Join(cfg.DataDir, "master.key")
		_, err := os.Stat(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && dbSkip != "" {
			add("master_key", checkSkip, dbSkip, "")
			return
		}
		if errors.Is(err, fs.ErrNotExist) {
			if dbSkip == "" && current && hasSealedKeys(ctx, st) {
				add("master_key", checkFail, path+" is missing but the database holds keys sealed with a master key",
					"restore "+path+" from backup (or set STEWARD_MASTER_KEY); a new key cannot open them")
				return
			}
			add("master_key", checkPass, "none yet: steward serve generates "+path, "back it up once generated: the stored keys cannot be opened without it")
			return
		}
		src.DataDir = cfg.DataDir
	}
	key, origin, err := secretbox.Load(src)
	if err != nil {
		fail("master_key", explain(&startError{"master_key", err}, cfg), "")
		return
	}
	box, err := secretbox.New(key)
	if err != nil {
		fail("master_key", err, "")
		return
	}
	if dbSkip != "" || !current {
		add("master_key", checkPass, "read from "+origin+" (key id "+box.KeyID()+"); stored keys not checked", "")
		return
	}
	nb, err := broker.OpenStoredKeys(ctx, st, box)
	if err == nil {
		var na int
		na, err = audit.OpenStoredKeys(ctx, st, box)
		nb += na
	}
	if err != nil {
		fail("master_key", explain(err, cfg), "use the master key the stored keys were sealed with")
		return
	}
	add("master_key", checkPass, fmt.Sprintf("read from %s (key id %s); opens the %d stored key(s)", origin, box.KeyID(), nb), "")
}

// hasSealedKeys reports whether the database holds any sealed key.
func hasSealedKeys(ctx context.Context, st *sqlstore.Store) bool {
	sk, err1 := st.ListSigningKeys(ctx)
	ak, err2 := st.ListAuditKeys(ctx)
	return err1 == nil && err2 == nil && len(sk)+len(ak) > 0
}

func (d doctor) tls(cfg Config, add func(name, status, detail, advice string)) {
	if cfg.TLSCert == "" {
		host, _, _ := net.SplitHostPort(cfg.Addr)
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			add("tls", checkPass, "plain HTTP on loopback", "")
			return
		}
		add("tls", checkWarn, "plain HTTP on "+cfg.Addr+": tokens cross the network in clear text",
			"set --tls-cert/--tls-key, or terminate TLS in a proxy in front of Steward")
		return
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		add("tls", checkFail, "cannot load the certificate and key: "+err.Error(), "fix --tls-cert/--tls-key (PEM files readable by this user, a key that matches the certificate)")
		return
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		add("tls", checkFail, "certificate: "+err.Error(), "replace the certificate in "+cfg.TLSCert)
		return
	}
	now := d.now()
	left := leaf.NotAfter.Sub(now)
	detail := fmt.Sprintf("%s expires %s", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	switch {
	case now.Before(leaf.NotBefore):
		add("tls", checkFail, fmt.Sprintf("%s is not valid before %s", leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339)), "check this host's clock, or issue a certificate valid now")
	case left <= 0:
		add("tls", checkFail, detail+" (expired)", "renew the certificate in "+cfg.TLSCert+" and restart")
	case left < certWarnFor:
		add("tls", checkWarn, fmt.Sprintf("%s (in %d days)", detail, int(left.Hours()/24)), "renew the certificate in "+cfg.TLSCert+" soon")
	default:
		add("tls", checkPass, fmt.Sprintf("%s (in %d days)", detail, int(left.Hours()/24)), "")
	}
}

// listen checks that the address can be bound, or that a Steward already
// answers there.
func (d doctor) listen(ctx context.Context, cfg Config, add func(name, status, detail, advice string)) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err == nil {
		ln.Close()
		add("listen", checkPass, cfg.Addr+" is free", "")
		return
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		if v, ok := stewardAt(ctx, cfg); ok {
			add("listen", checkPass, cfg.Addr+" is served by a running Steward ("+v+")", "")
			return
		}
	}
	p := explain(&startError{"listen", err}, cfg).(*problem)
	add("listen", checkFail, p.what, p.fix)
}

// stewardAt asks the address's /healthz whether a Steward answers there.
func stewardAt(ctx context.Context, cfg Config) (string, bool) {
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	client := localClient()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+cfg.Addr+"/healthz", nil)
	if err != nil {
		return "", false
	}
	res, err := client.Do(req)
	if err != nil {
		return "", false
	}
	defer res.Body.Close()
	var h struct{ Status, Version string }
	if res.StatusCode != http.StatusOK || json.NewDecoder(http.MaxBytesReader(nil, res.Body, 4096)).Decode(&h) != nil || h.Status != "ok" {
		return "", false
	}
	return "version " + h.Version, true
}

func (d doctor) print(results []checkResult) error {
	t := table{columns: []string{"check", "status", "detail", "advice"}, raw: results}
	failed := 0
	for _, r := range results {
		t.rows = append(t.rows, []string{r.Check, strings.ToUpper(r.Status), r.Detail, r.Advice})
		if r.Status == checkFail {
			failed++
		}
	}
	if err := d.g.print(t); err != nil {
		return err
	}
	if failed > 0 {
		return doctorFailed{failed}
	}
	return nil
}

// localClient asks this machine's own server who it is. Its certificate
// may name the public host only, so it is not verified: nothing but the
// request line is sent, and the answer only says whether a Steward is up.
func localClient() *http.Client {
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // #nosec G402 -- identifies the local listener
}
