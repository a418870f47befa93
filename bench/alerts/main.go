// Command alerts evaluates Steward's anomaly detection on synthetic usage.
//
// It generates many identities with daily cycles (24/7 services and
// weekday 08:00-18:00 jobs), a few source addresses, one SDK and stable
// action and resource sets each, then injects labelled attacks of every
// kind after the learning period. The stream is replayed through the real
// ingest path — alerts.Engine.Record (the recorder wrapper) → detectors →
// SQLite store → notify.Dispatcher → a signed webhook to a receiver on
// 127.0.0.1, with the usage store's recorder behind it — and the command
// prints precision, recall and time-to-alert per detector. A second phase
// measures sustained ingest (events/s until written to SQLite) with the
// detectors on and off.
//
//	go run ./bench/alerts                 # defaults: 240 identities, 8 days
//	go run ./bench/alerts -ingest 1000000 # bigger ingest phase
//	go run ./bench/alerts -phases ingest -postgres "$STEWARD_TEST_POSTGRES_URL"
//	                                      # ingest into PostgreSQL (a fresh schema per run, dropped afterwards)
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/alerts"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/notify"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/usage"
)

// start is a Wednesday: days 5 and 6 (the attack days) are Monday and
// Tuesday.
var start = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)

const learning = 4 * 24 * time.Hour

type ident struct {
	id        string
	always    bool // 24/7, else weekdays 08-18
	perHour   int
	sources   []string
	agent     string
	actions   []string
	resources []string
	workload  string
	env       string
	silentAt  time.Time // stops at this time (silence attack)
	noTraffic bool      // decoys and departed owners' identities
	driftSrc  string    // benign: a new source used from driftAt on
	driftAt   time.Time
}

type attack struct {
	kind   string // the detector expected to see it
	target string // identity id, or "src:<addr>"
	start  time.Time
	end    time.Time
	// replay bookkeeping
	firstWall atomic.Int64
}

type labelled struct {
	ev  steward.UsageEvent
	atk int // -1 for normal use
}

var agents = []string{"aws-sdk-go-v2/1.24.0 os/linux lang/go#1.22", "Boto3/1.34.10 md/Botocore#1.34.10 Python/3.12", "Go-http-client/1.1",
	"okhttp/4.12.0", "python-requests/2.31.0", "my-exporter/3.2 (+ops)"}
var actionPool = []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "sqs:SendMessage", "sqs:ReceiveMessage", "dynamodb:GetItem",
	"dynamodb:PutItem", "kms:Decrypt", "secretsmanager:GetSecretValue", "logs:PutLogEvents", "ec2:DescribeInstances", "sts:GetCallerIdentity"}

func main() {
	var (
		nIdent  = flag.Int("identities", 240, "identities with normal traffic")
		days    = flag.Int("days", 8, "simulated days")
		rate    = flag.Float64("rate", 40000, "replay pace of the evaluation, events/s")
		nIngest = flag.Int("ingest", 300000, "events of the sustained-ingest phase")
		dir     = flag.String("dir", "", "directory for the SQLite databases (default a temporary one)")
		seed    = flag.Uint64("seed", 7, "random seed")
		pgURL   = flag.String("postgres", "", "PostgreSQL server URL: the sustained-ingest phase writes there (a fresh schema per run) instead of SQLite")
		phases  = flag.String("phases", "eval,ingest", "comma-separated phases: eval (precision, recall, time to alert), ingest (sustained ingest)")
		dets    = flag.String("detectors", "off,on", "ingest: comma-separated detector settings to run: off, on")
		verify  = flag.Bool("verify", false, "ingest: verify the audit chain of each run's store afterwards (untimed); fail if it does not verify")
		prof    = flag.String("profile", "", "ingest: write a CPU profile of each run into this directory")
	)
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "steward-alerts-bench-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	r := rand.New(rand.NewPCG(*seed, 1))
	ctx := context.Background()
	st, err := sqlstore.OpenDataDir(ctx, *dir+"/eval", sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	idents, atks, events := generate(ctx, st, r, *nIdent, *days)
	fmt.Printf("synthetic usage: %d identities, %d days, %d events, %d labelled attacks (load average %s on %d CPUs)\n\n", len(idents), *days, len(events), len(atks),
		loadAverage(), runtime.NumCPU())
	if slices.Contains(strings.Split(*phases, ","), "eval") {
		evaluate(ctx, st, idents, atks, events, *rate)
	}
	if slices.Contains(strings.Split(*phases, ","), "ingest") {
		o := ingestOptions{verify: *verify, profile: *prof}
		for _, d := range strings.Split(*dets, ",") {
			switch d {
			case "off", "on":
				o.detectors = append(o.detectors, d == "on")
			default:
				log.Fatalf("-detectors: %q is neither off nor on", d)
			}
		}
		ingest(ctx, *dir, *pgURL, events, *nIngest, o)
	}
}

func addr(r *rand.Rand, net24 string) string { return fmt.Sprintf("%s.%d", net24, 2+r.IntN(250)) }

// generate creates the identities in the store and the labelled stream.
func generate(ctx context.Context, st *sqlstore.Store, r *rand.Rand, n, days int) ([]*ident, []*attack, []labelled) {
	now := start
	var idents []*ident
	owner := &steward.Owner{ID: ids.New(ids.Owner, now), Name: "Gone", Email: "gone@example.com", Kind: steward.OwnerPerson, Status: steward.OwnerDeparted,
		CreatedAt: now, UpdatedAt: now, DepartedAt: &now, Version: 1}
	var rows []*steward.Identity
	mk := func(name string, labels map[string]string, ownerID string) *steward.Identity {
		i := &steward.Identity{ID: ids.New(ids.Identity, now), Name: name, Kind: []steward.Kind{steward.KindWorkload, steward.KindServiceAccount, steward.KindAPIKey}[r.IntN(3)],
			Provider: "aws", Environment: "prod", Team: []string{"payments", "data", "platform"}[r.IntN(3)], Sensitivity: steward.SensitivityMedium,
			Source: steward.SourceRegistered, Status: steward.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1, Scopes: []string{}, Labels: labels, OwnerID: ownerID}
		rows = append(rows, i)
		return i
	}
	for k := range n {
		i := mk(fmt.Sprintf("svc-%03d", k), map[string]string{}, "")
		id := &ident{id: i.ID, always: k%3 == 0, env: "prod", agent: agents[r.IntN(len(agents))], workload: fmt.Sprintf("app-%03d", k)}
		if id.always {
			id.perHour = 25 + r.IntN(20)
		} else {
			id.perHour = 15 + r.IntN(20)
		}
		nets := 1 + r.IntN(3)
		for s := range nets {
			id.sources = append(id.sources, addr(r, fmt.Sprintf("10.%d.%d", k%250, s)))
		}
		perm := r.Perm(len(actionPool))
		for _, p := range perm[:3+r.IntN(4)] {
			id.actions = append(id.actions, actionPool[p])
		}
		for x := range 2 + r.IntN(3) {
			id.resources = append(id.resources, fmt.Sprintf("arn:aws:s3:::bucket-%03d/%s", k, []string{"in", "out", "tmp", "logs"}[x]))
		}
		idents = append(idents, id)
	}
	var decoys, departed []*ident
	for k := range 10 {
		i := mk(fmt.Sprintf("aws-backup-admin-%d", k), map[string]string{"honeytoken": "true"}, "")
		decoys = append(decoys, &ident{id: i.ID, noTraffic: true})
		j := mk(fmt.Sprintf("legacy-sync-%d", k), map[string]string{}, owner.ID)
		departed = append(departed, &ident{id: j.ID, noTraffic: true, agent: agents[0]})
	}
	if err := st.Update(ctx, func(tx steward.Tx) error {
		if err := tx.CreateOwner(ctx, owner); err != nil {
			return err
		}
		for _, i := range rows {
			if err := tx.CreateIdentity(ctx, i); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		log.Fatal(err)
	}

	// Attacks on days 5 and 6 (Monday, Tuesday), each on its own identity.
	var atks []*attack
	var evs []labelled
	pool := slices.Clone(idents)
	r.Shuffle(len(pool), func(a, b int) { pool[a], pool[b] = pool[b], pool[a] })
	take := func(always *bool) *ident {
		for k, id := range pool {
			if always == nil || id.always == *always {
				pool = append(pool[:k], pool[k+1:]...)
				return id
			}
		}
		log.Fatal("not enough identities for the attacks")
		return nil
	}
	yes, no := true, false
	workTime := func() time.Time { // 10:00-16:00 on day 5 or 6
		return start.Add(time.Duration(5+r.IntN(2))*24*time.Hour + time.Duration(10*60+r.IntN(6*60))*time.Minute + time.Duration(r.IntN(60))*time.Second)
	}
	base := func(id *ident, t time.Time) steward.UsageEvent {
		return steward.UsageEvent{Time: t, Kind: steward.UsageDecision, IdentityID: id.id, Action: id.actions[0], Resource: id.resources[0],
			Source: id.sources[0], UserAgent: id.agent, Environment: id.env, Outcome: "allow", Attributes: map[string]string{"workload": id.workload}}
	}
	add := func(kind, target string, t0 time.Time, list []steward.UsageEvent, end time.Time) {
		atks = append(atks, &attack{kind: kind, target: target, start: t0, end: end})
		for _, ev := range list {
			evs = append(evs, labelled{ev: ev, atk: len(atks) - 1})
		}
	}
	const per = 20
	for range per {
		id := take(nil)
		t := workTime()
		ev := base(id, t)
		ev.Kind, ev.Outcome, ev.Action, ev.CredentialID, ev.Reason = steward.UsageAuth, "revoked", "authenticate", "crd_"+id.id[4:], "credential revoked"
		add(alerts.DetRevokedUse, id.id, t, []steward.UsageEvent{ev, withTime(ev, t.Add(20*time.Second))}, t.Add(time.Minute))
	}
	for range per {
		id := take(nil)
		t := workTime()
		var list []steward.UsageEvent
		src := addr(r, fmt.Sprintf("198.51.%d", r.IntN(250)))
		for k := range 5 {
			ev := base(id, t.Add(time.Duration(k)*30*time.Second))
			ev.Source = src
			list = append(list, ev)
		}
		add(alerts.DetNewNetwork, id.id, t, list, t.Add(5*time.Minute))
	}
	for range per {
		id := take(nil)
		t := workTime()
		ev := base(id, t)
		ev.Action = []string{"iam:CreateAccessKey", "iam:AttachUserPolicy", "s3:DeleteBucket", "kms:ScheduleKeyDeletion"}[r.IntN(4)]
		add(alerts.DetNewAction, id.id, t, []steward.UsageEvent{ev}, t.Add(time.Minute))
	}
	for range per {
		id := take(nil)
		t := workTime()
		ev := base(id, t)
		ev.Resource = "arn:aws:s3:::finance-payroll/export.csv"
		add(alerts.DetNewResource, id.id, t, []steward.UsageEvent{ev}, t.Add(time.Minute))
	}
	for range per {
		id := take(nil)
		t := workTime()
		ev := base(id, t)
		ev.UserAgent = []string{"curl/8.5.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/121.0 Safari/537.36", "aws-cli/2.15.10 Python/3.11"}[r.IntN(3)]
		add(alerts.DetNewUserAgent, id.id, t, []steward.UsageEvent{ev, withTime(ev, t.Add(time.Minute))}, t.Add(2*time.Minute))
	}
	for range per {
		id := take(nil)
		t := workTime()
		var list []steward.UsageEvent
		for k := range 400 {
			list = append(list, base(id, t.Add(time.Duration(k)*100*time.Millisecond)))
		}
		add(alerts.DetRateSpike, id.id, t, list, t.Add(time.Minute))
	}
	for range per {
		id := take(&no)
		t := start.Add(time.Duration(5+r.IntN(2))*24*time.Hour + time.Duration(1*60+r.IntN(3*60))*time.Minute)
		add(alerts.DetOffHours, id.id, t, []steward.UsageEvent{base(id, t)}, t.Add(time.Minute))
	}
	for range per {
		id := take(nil)
		t := workTime()
		ev := base(id, t)
		ev.Environment = "staging"
		add(alerts.DetSecondEnv, id.id, t, []steward.UsageEvent{ev}, t.Add(time.Minute))
	}
	for range per {
		id := take(nil)
		t := workTime()
		ev := base(id, t)
		ev.Attributes = map[string]string{"workload": "ci-runner-" + id.workload}
		add(alerts.DetSecondWork, id.id, t, []steward.UsageEvent{ev}, t.Add(time.Minute))
	}
	for _, d := range decoys {
		t := workTime()
		ev := steward.UsageEvent{Time: t, Kind: steward.UsageIngest, IdentityID: d.id, Action: "s3:ListBuckets", Source: addr(r, "203.0.113"), UserAgent: "aws-cli/2.15.10", Outcome: "ok"}
		add(alerts.DetHoneytoken, d.id, t, []steward.UsageEvent{ev}, t.Add(time.Minute))
	}
	for _, d := range departed {
		t := workTime()
		ev := steward.UsageEvent{Time: t, Kind: steward.UsageIngest, IdentityID: d.id, Action: "s3:GetObject", Source: addr(r, "10.251.0"), UserAgent: d.agent, Outcome: "ok"}
		add(alerts.DetOwnerDeparted, d.id, t, []steward.UsageEvent{ev}, t.Add(time.Minute))
	}
	for k := range 10 {
		t := workTime()
		src := addr(r, fmt.Sprintf("192.0.%d", k))
		var list []steward.UsageEvent
		for j := range 25 {
			list = append(list, steward.UsageEvent{Time: t.Add(time.Duration(j) * 1500 * time.Millisecond), Kind: steward.UsageAuth, Action: "token",
				Source: src, UserAgent: "python-requests/2.31.0", Outcome: "unknown", Subject: fmt.Sprintf("cli_guess_%d", j)})
		}
		add(alerts.DetAuthFailures, "src:"+src, t, list, t.Add(time.Minute))
	}
	for range 10 {
		id := take(&yes)
		t := workTime()
		id.silentAt = t
		add(alerts.DetSilence, id.id, t, nil, t.Add(8*time.Hour))
	}

	// Benign drift, unlabelled: a dozen identities move part of their
	// traffic to a new internal network (a re-deployment) after learning.
	// The detectors cannot know it is benign: these alerts count as false
	// positives.
	for range 12 {
		id := take(nil)
		id.driftSrc = addr(r, fmt.Sprintf("10.%d.%d", 200+r.IntN(50), 100+r.IntN(100)))
		id.driftAt = workTime()
	}

	// Normal use: Poisson-ish arrivals per active hour.
	end := start.Add(time.Duration(days) * 24 * time.Hour)
	for _, id := range idents {
		for h := start; h.Before(end); h = h.Add(time.Hour) {
			wd := h.Weekday()
			if !id.always && (h.Hour() < 8 || h.Hour() >= 18 || wd == time.Saturday || wd == time.Sunday) {
				continue
			}
			n := id.perHour
			if id.always {
				// a gentle daily cycle: busier in the day
				if h.Hour() < 6 || h.Hour() >= 22 {
					n = n * 2 / 3
				}
			}
			n += r.IntN(n/3+1) - n/6
			for range n {
				t := h.Add(time.Duration(r.Int64N(int64(time.Hour))))
				if !id.silentAt.IsZero() && !t.Before(id.silentAt) {
					continue
				}
				ev := steward.UsageEvent{Time: t, Kind: steward.UsageDecision, IdentityID: id.id, Action: id.actions[r.IntN(len(id.actions))],
					Resource: id.resources[r.IntN(len(id.resources))], Source: id.sources[r.IntN(len(id.sources))], UserAgent: id.agent,
					Environment: id.env, Outcome: "allow", Attributes: map[string]string{"workload": id.workload}}
				if id.driftSrc != "" && !t.Before(id.driftAt) && r.IntN(3) == 0 {
					ev.Source = id.driftSrc
				}
				if r.IntN(10) == 0 {
					ev.Kind, ev.Action, ev.Resource, ev.Outcome = steward.UsageAuth, "authenticate", "", "ok"
				}
				evs = append(evs, labelled{ev: ev, atk: -1})
			}
		}
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].ev.Time.Before(evs[b].ev.Time) })
	return idents, atks, evs
}

func withTime(ev steward.UsageEvent, t time.Time) steward.UsageEvent { ev.Time = t; return ev }

type hook struct {
	mu     sync.Mutex
	secret []byte
	got    []steward.Notification
	wall   []time.Time
	bad    int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := time.Now()
	if err := notify.Verify(h.secret, r.Header, body, now, 0); err != nil {
		h.mu.Lock()
		h.bad++
		h.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n steward.Notification
	_ = json.Unmarshal(body, &n)
	h.mu.Lock()
	h.got, h.wall = append(h.got, n), append(h.wall, now)
	h.mu.Unlock()
}

func evaluate(ctx context.Context, st *sqlstore.Store, idents []*ident, atks []*attack, events []labelled, rate float64) {
	h := &hook{secret: []byte("bench-webhook-secret-0123456789")}
	srv := httptest.NewServer(h)
	defer srv.Close()
	disp, err := notify.New(notify.Config{Sinks: []notify.Sink{&notify.Webhook{SinkName: "hook", URL: srv.URL, Secret: h.secret}}, DeadLetters: st, Workers: 4})
	if err != nil {
		log.Fatal(err)
	}
	rec := usage.NewRecorder(usage.RecorderConfig{Store: st})
	var stream atomic.Int64
	eng, err := alerts.New(alerts.Config{Store: st, Inventory: st, Next: rec, Notifier: disp, LearningPeriod: learning, MinEvents: 100,
		BaselineInterval: time.Second, SweepInterval: 20 * time.Millisecond, Now: func() time.Time { return time.Unix(0, stream.Load()) }})
	if err != nil {
		log.Fatal(err)
	}
	if err := eng.Load(ctx); err != nil {
		log.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, run := range []func(context.Context){eng.Run, disp.Run, rec.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); run(rctx) }()
	}
	began := time.Now()
	cpu0 := cpuTime()
	for k, le := range events {
		if k%1000 == 0 {
			if ahead := time.Duration(float64(k)/rate*float64(time.Second)) - time.Since(began); ahead > 0 {
				time.Sleep(ahead)
			}
			// Never overflow the detectors' queue: on a loaded machine the
			// replay slows down rather than drop events.
			for eng.Stats().Queued > 8192 {
				time.Sleep(100 * time.Microsecond)
			}
		}
		stream.Store(le.ev.Time.UnixNano())
		if le.atk >= 0 {
			atks[le.atk].firstWall.CompareAndSwap(0, time.Now().UnixNano())
		}
		eng.Record(ctx, le.ev)
	}
	replay := time.Since(began)
	replayCPU := cpuTime() - cpu0
	// Let the last silence sweeps and deliveries happen.
	stream.Store(events[len(events)-1].ev.Time.Add(time.Hour).UnixNano())
	time.Sleep(time.Second)
	_ = eng.Sync(ctx)
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()
	es := eng.Stats()
	fmt.Printf("replay: %d events in %s (%.0f events/s; target pace %.0f), %.1f CPU-s, detector drops %d\n", len(events), replay.Round(time.Millisecond),
		float64(len(events))/replay.Seconds(), rate, replayCPU.Seconds(), es.Dropped)

	// Every stored alert, matched to the attacks.
	var all []*steward.Alert
	f := steward.AlertFilter{Limit: steward.MaxLimit}
	for {
		p, err := st.ListAlerts(ctx, f)
		if err != nil {
			log.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			break
		}
		f.Cursor = p.NextCursor
	}
	target := func(a *steward.Alert) string {
		if a.IdentityID != "" {
			return a.IdentityID
		}
		return strings.TrimPrefix(a.Key, a.Detector+":")
	}
	byTarget := map[string][]*attack{}
	for _, a := range atks {
		byTarget[a.target] = append(byTarget[a.target], a)
	}
	grace := 2 * time.Hour
	tp, fp := map[string]int{}, map[string]int{}
	var fps []*steward.Alert
	for _, a := range all {
		hit := false
		for _, at := range byTarget[target(a)] {
			if !a.FirstSeen.Before(at.start.Add(-time.Minute)) && !a.FirstSeen.After(at.end.Add(grace)) {
				hit = true
			}
		}
		if hit {
			tp[a.Detector]++
		} else {
			fp[a.Detector]++
			fps = append(fps, a)
		}
	}
	// Webhook arrival per (target, detector).
	h.mu.Lock()
	arrive := map[string]time.Time{}
	for k, n := range h.got {
		key := n.Fields["detector"] + "|" + strings.TrimPrefix(n.Fields["key"], n.Fields["detector"]+":")
		if _, ok := arrive[key]; !ok {
			arrive[key] = h.wall[k]
		}
	}
	bad := h.bad
	h.mu.Unlock()

	kinds := []string{}
	for _, a := range atks {
		if !slices.Contains(kinds, a.kind) {
			kinds = append(kinds, a.kind)
		}
	}
	fmt.Printf("\n%-20s %7s %9s %8s %10s %9s %14s\n", "detector", "attacks", "detected", "recall", "alerts TP", "alerts FP", "median ms →hook")
	var totTP, totFP int
	var allLat []float64
	for _, kind := range kinds {
		n, found := 0, 0
		var lat []float64
		for _, at := range atks {
			if at.kind != kind {
				continue
			}
			n++
			for _, a := range all {
				if a.Detector == kind && target(a) == at.target && !a.FirstSeen.Before(at.start.Add(-time.Minute)) && !a.FirstSeen.After(at.end.Add(grace)) {
					found++
					if w, ok := arrive[kind+"|"+at.target]; ok && at.firstWall.Load() != 0 {
						ms := float64(w.UnixNano()-at.firstWall.Load()) / 1e6
						lat = append(lat, ms)
						allLat = append(allLat, ms)
					}
					break
				}
			}
		}
		med := "n/a"
		if len(lat) > 0 {
			med = fmt.Sprintf("%.0f", median(lat))
		}
		fmt.Printf("%-20s %7d %9d %7.1f%% %10d %9d %14s\n", kind, n, found, 100*float64(found)/float64(n), tp[kind], fp[kind], med)
	}
	for d := range fp {
		if !slices.Contains(kinds, d) {
			fmt.Printf("%-20s %7s %9s %8s %10d %9d\n", d, "-", "-", "-", tp[d], fp[d])
		}
	}
	for _, v := range tp {
		totTP += v
	}
	for _, v := range fp {
		totFP += v
	}
	fmt.Printf("\nalerts: %d, true positives %d, false positives %d → precision %.1f%%\n", len(all), totTP, totFP, 100*float64(totTP)/float64(max(1, totTP+totFP)))
	fmt.Printf("time from ingestion to webhook delivery: median %.0f ms, p95 %.0f ms over %d alerts (signatures that failed: %d)\n",
		median(allLat), pct(allLat, 0.95), len(allLat), bad)
	for k, a := range fps {
		if k == 5 {
			fmt.Printf("  … %d more false positives\n", len(fps)-5)
			break
		}
		fmt.Printf("  false positive: %s %s %s %v\n", a.Detector, a.IdentityID, a.Title, a.FirstSeen.Format(time.RFC3339))
	}
}

func median(xs []float64) float64 { return pct(xs, 0.5) }

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// ingest measures sustained ingest into SQLite: every event recorded and
// written by the usage recorder, with the detectors in front (on) or not
// (off). The producer never lets a queue overflow (it waits when one is
// 3/4 full), so the rate is what the pipeline sustains without drops.
func ingest(ctx context.Context, dir, pgURL string, events []labelled, n int, o ingestOptions) {
	evs := make([]steward.UsageEvent, 0, n)
	for len(evs) < n {
		for _, le := range events {
			if len(evs) == n {
				break
			}
			evs = append(evs, le.ev)
		}
	}
	engine := "SQLite"
	if pgURL != "" {
		engine = "PostgreSQL"
	}
	fmt.Printf("\nsustained ingest, %s, %d events (usage recorder: batches of up to 4096, queue 65536; load average %s):\n", engine, n, loadAverage())
	for _, on := range o.detectors {
		st, drop, err := openIngestStore(ctx, dir, pgURL, on)
		if err != nil {
			log.Fatal(err)
		}
		// The identities must exist for the detectors to read them.
		seen := map[string]bool{}
		var is []*steward.Identity
		for _, ev := range evs {
			if ev.IdentityID != "" && !seen[ev.IdentityID] {
				seen[ev.IdentityID] = true
				is = append(is, &steward.Identity{ID: ev.IdentityID, Name: ev.IdentityID, Kind: steward.KindWorkload, Provider: "aws", Environment: "prod",
					Sensitivity: steward.SensitivityMedium, Source: steward.SourceRegistered, Status: steward.StatusActive, CreatedAt: start, UpdatedAt: start,
					Version: 1, Scopes: []string{}, Labels: map[string]string{}})
			}
		}
		if err := st.Update(ctx, func(tx steward.Tx) error {
			for _, i := range is {
				if err := tx.CreateIdentity(ctx, i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			log.Fatal(err)
		}
		rec := usage.NewRecorder(usage.RecorderConfig{Store: st})
		var front steward.UsageRecorder = rec
		var eng *alerts.Engine
		if on {
			eng, err = alerts.New(alerts.Config{Store: st, Inventory: st, Next: rec, LearningPeriod: learning, MinEvents: 100})
			if err != nil {
				log.Fatal(err)
			}
			front = eng
		}
		rctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		runs := []func(context.Context){rec.Run}
		if eng != nil {
			runs = append(runs, eng.Run)
		}
		for _, run := range runs {
			wg.Add(1)
			go func() { defer wg.Done(); run(rctx) }()
		}
		stopProfile := startProfile(o.profile, fmt.Sprintf("ingest-%s-detectors-%v.pprof", strings.ToLower(engine), on))
		began := time.Now()
		cpu0 := cpuTime()
		for k := range evs {
			if k%256 == 0 {
				for rec.Stats().Queued > 65536*3/4 || (eng != nil && eng.Stats().Queued > 65536*3/4) {
					time.Sleep(200 * time.Microsecond)
				}
			}
			front.Record(ctx, evs[k])
		}
		for rec.Stats().Written+rec.Stats().Failed < int64(n) || (eng != nil && eng.Stats().Processed < int64(n)) {
			time.Sleep(time.Millisecond)
		}
		took := time.Since(began)
		cpu := cpuTime() - cpu0
		stopProfile()
		stop()
		wg.Wait()
		rs := rec.Stats()
		label := "detectors off"
		drops := rs.Dropped
		if on {
			label = "detectors on "
			drops += eng.Stats().Dropped
		}
		fmt.Printf("  %s: %8.0f events/s wall, %8.0f events per CPU-second (%s, %.1f CPU-s; written %d, failed %d, dropped %d)\n", label,
			float64(n)/took.Seconds(), float64(n)/cpu.Seconds(), took.Round(time.Millisecond), cpu.Seconds(), rs.Written, rs.Failed, drops)
		if o.verify {
			rep, err := audit.VerifyStore(ctx, st, nil, nil)
			if err != nil || !rep.OK {
				log.Fatalf("%s: the audit chain does not verify after the ingest: %v %v", label, rep, err)
			}
			fmt.Printf("  %s: audit chain verified: %s\n", label, rep.Summary())
		}
		st.Close()
		drop()
	}
	// The detectors alone, without the database.
	st, err := sqlstore.OpenDataDir(ctx, dir+"/eval", sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	eng, err := alerts.New(alerts.Config{Store: st, Inventory: st, LearningPeriod: learning, MinEvents: 100, QueueSize: n + 1})
	if err != nil {
		log.Fatal(err)
	}
	for k := range evs {
		eng.Record(ctx, evs[k])
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	began := time.Now()
	cpu0 := cpuTime()
	go func() { eng.Run(rctx); close(done) }()
	_ = eng.Sync(ctx)
	took := time.Since(began)
	cpu := cpuTime() - cpu0
	stop()
	<-done
	fmt.Printf("  detectors alone (queue pre-filled, no usage writes): %.0f events/s wall, %.0f events per CPU-second\n", float64(n)/took.Seconds(), float64(n)/cpu.Seconds())
}

// ingestOptions are the sustained-ingest phase's settings.
type ingestOptions struct {
	detectors []bool // runs: detectors off (false), on (true)
	verify    bool
	profile   string // directory for CPU profiles, or ""
}

// startProfile starts a CPU profile into dir/name (nothing when dir is
// empty) and returns its stop.
func startProfile(dir, name string) func() {
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(dir + "/" + name)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// openIngestStore opens the store of one sustained-ingest run: SQLite in
// dir, or a new schema on the PostgreSQL server at pgURL (drop removes it).
func openIngestStore(ctx context.Context, dir, pgURL string, on bool) (*sqlstore.Store, func(), error) {
	if pgURL == "" {
		st, err := sqlstore.OpenDataDir(ctx, fmt.Sprintf("%s/ingest-%v", dir, on), sqlstore.Options{})
		return st, func() {}, err
	}
	admin, err := sql.Open("pgx", pgURL)
	if err != nil {
		return nil, nil, err
	}
	schema := fmt.Sprintf("bench_alerts_%d_%v", time.Now().UnixNano(), on)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close()
	}
	u, err := url.Parse(pgURL)
	if err != nil {
		drop()
		return nil, nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := sqlstore.Open(ctx, u.String(), sqlstore.Options{})
	if err != nil {
		drop()
		return nil, nil, err
	}
	return st, drop, nil
}
