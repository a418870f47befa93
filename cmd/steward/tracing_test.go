package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestTracesJoinTheCallersTrace: with an OTLP endpoint set, a request that
// carries a W3C traceparent produces a server span in the caller's trace,
// exported with service.name steward and the version.
func TestTracesJoinTheCallersTrace(t *testing.T) {
	var mu sync.Mutex
	var got []*collectortrace.ExportTraceServiceRequest
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("collector: %v", err)
		}
		mu.Lock()
		got = append(got, &req)
		mu.Unlock()
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	s := startServer(t, map[string]string{"STEWARD_ADMIN_TOKEN": adminToken, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL},
		"--data-dir", t.TempDir())
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", s.url+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		var service, ver string
		joined := false
		for _, r := range got {
			for _, rs := range r.ResourceSpans {
				for _, kv := range rs.Resource.Attributes {
					switch kv.Key {
					case "service.name":
						service = kv.Value.GetStringValue()
					case "service.version":
						ver = kv.Value.GetStringValue()
					}
				}
				for _, ss := range rs.ScopeSpans {
					for _, sp := range ss.Spans {
						if strings.Contains(sp.Name, "whoami") && hex.EncodeToString(sp.TraceId) == traceID {
							joined = true
						}
					}
				}
			}
		}
		mu.Unlock()
		if joined && service == "steward" && ver == version {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no whoami span in trace %s from service steward %s: joined=%v service=%q version=%q", traceID, version, joined, service, ver)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
