package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/importer"
)

// credentialReportHeader is the IAM credential report's header, in the
// order AWS documents.
const credentialReportHeader = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed," +
	"password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date," +
	"access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated," +
	"access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active," +
	"cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"

// credentialReport writes a synthetic IAM credential report with n users:
// each has an active first access key (a fifth a second one too), some
// never used, some with a console password; the account's root row first.
func credentialReport(n int, now time.Time, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x617773))
	var b bytes.Buffer
	b.Grow(n * 330)
	b.WriteString(credentialReportHeader)
	iso := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }
	ago := func(maxDays int) time.Time {
		return now.Add(-time.Duration(rng.Int64N(int64(maxDays) * int64(24*time.Hour))))
	}
	regions := []string{"us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"}
	services := []string{"s3", "sqs", "dynamodb", "sts", "kms", "ecr", "lambda"}
	key := func(active bool, created time.Time) string {
		if !active {
			return "false,N/A,N/A,N/A,N/A"
		}
		rotated := created.Add(time.Duration(rng.Int64N(int64(now.Sub(created)) + 1)))
		if rng.IntN(8) == 0 {
			return fmt.Sprintf("true,%s,N/A,N/A,N/A", iso(rotated))
		}
		used := rotated.Add(time.Duration(rng.Int64N(int64(now.Sub(rotated)) + 1)))
		return fmt.Sprintf("true,%s,%s,%s,%s", iso(rotated), iso(used), regions[rng.IntN(len(regions))], services[rng.IntN(len(services))])
	}
	fmt.Fprintf(&b, "<root_account>,arn:aws:iam::210987654321:root,%s,not_supported,%s,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
		iso(now.AddDate(-6, 0, 0)), iso(ago(30)))
	for i := range n - 1 {
		created := ago(2000)
		user := fmt.Sprintf("svc-bench-%06d", i)
		password := "false,N/A,N/A,N/A"
		if rng.IntN(10) == 0 {
			password = fmt.Sprintf("true,%s,%s,N/A", iso(ago(90)), iso(ago(400)))
		}
		fmt.Fprintf(&b, "%s,arn:aws:iam::210987654321:user/bench/%s,%s,%s,%t,%s,%s,false,N/A,false,N/A\n",
			user, user, iso(created), password, rng.IntN(3) == 0, key(true, created), key(rng.IntN(5) == 0, created))
	}
	return b.Bytes()
}

// benchImport imports the report into a fresh store through
// (*inventory.Service).Import, as POST /api/v1/import/aws-credential-report
// does after reading the body.
func benchImport(ctx context.Context, c *config, engine string) ([]result, error) {
	db, err := openStore(ctx, c, engine, "import")
	if err != nil {
		return nil, err
	}
	defer db.close()
	now := time.Now().UTC()
	report := credentialReport(c.importN, now, c.seed)
	logf(c, "%s: import: %d users, %.1f MB of CSV", engine, c.importN, float64(len(report))/1e6)

	// Parsing alone, to split the time between parser and store.
	f, _ := importer.Lookup("aws-credential-report")
	start := time.Now()
	res, err := f.Parse(bytes.NewReader(report))
	if err != nil {
		return nil, err
	}
	parse := time.Since(start)
	if len(res.Records) != c.importN || len(res.Bad) != 0 {
		return nil, fmt.Errorf("parser read %d records (%d bad), want %d", len(res.Records), len(res.Bad), c.importN)
	}

	stop, err := profile(c, engine, "import")
	if err != nil {
		return nil, err
	}
	var server *serverCPU
	if engine == "postgres" {
		if server, err = newServerCPU(ctx, db.store); err != nil {
			logf(c, "%s: import: no server CPU figure: %v", engine, err)
		}
	}
	serverFrom := server.read()
	cpuFrom := processCPU()
	start = time.Now()
	sum, err := db.svc.Import(admin(ctx), "aws-credential-report", bytes.NewReader(report), steward.ImportOptions{Environment: "prod"})
	elapsed := time.Since(start)
	cpu := processCPU() - cpuFrom
	serverUsed := server.read() - serverFrom
	stop()
	if err != nil {
		return nil, err
	}
	if sum.Created != c.importN {
		return nil, fmt.Errorf("import created %d identities, want %d", sum.Created, c.importN)
	}
	out := []result{
		{engine, "import identities/s", float64(c.importN) / elapsed.Seconds(), "ids/s",
			fmt.Sprintf("%d users in %.2f s; parsing alone %.2f s", c.importN, elapsed.Seconds(), parse.Seconds())},
		{engine, "import: Steward CPU per identity", perIdentity(cpu, c.importN), "µs",
			fmt.Sprintf("%.2f s of this process's CPU (user+system) during the import", cpu.Seconds())},
	}
	if server != nil {
		out = append(out, result{engine, "import: PostgreSQL CPU per identity", perIdentity(serverUsed, c.importN), "µs",
			fmt.Sprintf("%.2f s of the server's backends' CPU during the import, post-import ANALYZE included", serverUsed.Seconds())})
	}
	if c.verify {
		rep, err := audit.VerifyStore(ctx, db.store, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("verify the audit chain after the import: %w", err)
		}
		if !rep.OK {
			return nil, fmt.Errorf("the audit chain does not verify after the import: %s", rep.Summary())
		}
		out = append(out, result{engine, "import: audit chain verified", float64(rep.Entries), "entries", rep.Summary()})
	}
	return out, nil
}
