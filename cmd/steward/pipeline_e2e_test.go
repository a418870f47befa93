package main

import (
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// TestEveryUsageProducerFeedsTheDetectors is the regression test of the one
// usage pipeline: the anomaly detectors see what the PDP decides and what
// log ingest reads, not only the API's own authentications. A revoked
// identity asked about at the PDP, and a revoked AWS identity seen only in
// an ingested CloudTrail log, each raise a revoked_use alert.
func TestEveryUsageProducerFeedsTheDetectors(t *testing.T) {
	for name, dbArgs := range engines(t) {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "STEWARD_MASTER_KEY": brokerTestMasterKey}, dbArgs(t)...)
			var viaPDP, viaLog steward.Identity
			decode(t, s.mustCLI(t, "identity", "create", "--name", "pdp-caller", "--kind", "workload", "--unowned-reason", "test", "-o", "json"), &viaPDP)
			decode(t, s.mustCLI(t, "identity", "create", "--name", "ci-user", "--kind", "service_account", "--provider", "aws",
				"--external-ref", "arn:aws:iam::123456789012:user/ci", "--unowned-reason", "test", "-o", "json"), &viaLog)
			for _, id := range []string{viaPDP.ID, viaLog.ID} {
				s.mustCLI(t, "identity", "revoke", id, "--reason", "incident")
			}

			req := `{"subject":{"type":"nhi","id":"` + viaPDP.ID + `"},"action":{"name":"read"},"resource":{"type":"Secret","id":"s1"}}`
			if st, body := post(t, s.url+"/access/v1/evaluation", adminToken, "application/json", req); st != 200 || !strings.Contains(body, `"decision":false`) {
				t.Fatalf("evaluation: %d %s", st, body)
			}
			trail := `{"Records":[{"eventTime":"` + time.Now().UTC().Format(time.RFC3339) + `","eventSource":"s3.amazonaws.com","eventName":"GetObject",` +
				`"userIdentity":{"type":"IAMUser","accessKeyId":"AKIAEXAMPLEKEY12345","arn":"arn:aws:iam::123456789012:user/ci"},"sourceIPAddress":"203.0.113.7"}]}`
			if st, body := post(t, s.url+"/api/v1/usage/import/cloudtrail?provider=aws", adminToken, "application/json", trail); st != 200 ||
				!strings.Contains(body, `"matched":1`) {
				t.Fatalf("ingest: %d %s", st, body)
			}

			for _, tc := range []struct{ name, id string }{{"decision", viaPDP.ID}, {"ingested log", viaLog.ID}} {
				deadline := time.Now().Add(10 * time.Second)
				for {
					st, body := httpDo(t, "GET", s.url+"/api/v1/alerts?identity_id="+tc.id, adminToken, "", "")
					if st != 200 {
						t.Fatalf("%s: list alerts: %d %s", tc.name, st, body)
					}
					if strings.Contains(string(body), `"detector":"revoked_use"`) && strings.Contains(string(body), `"severity":"critical"`) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s: no revoked_use alert for %s within 10 s: %s", tc.name, tc.id, body)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
}
