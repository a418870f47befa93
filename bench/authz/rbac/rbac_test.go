package rbac_test

import (
	"encoding/json"
	"syscall"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/bench/authz/rbac"
)

func engines(t testing.TB) (*rbac.Workload, *authz.Engine, *authz.Engine, []*authz.Request) {
	t.Helper()
	w := rbac.Generate(42)
	ents, err := w.CedarEntities()
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := authz.ParseEntities(ents)
	if err != nil {
		t.Fatal(err)
	}
	pols := []*steward.AuthzPolicy{{Name: "rbac", Text: w.CedarPolicies()}}
	indexed, err := authz.Compile(pols, parsed, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := authz.Compile(pols, parsed, nil)
	if err != nil {
		t.Fatal(err)
	}
	full.FullScan = true
	reqs := make([]*authz.Request, len(w.Requests))
	for i, r := range w.Requests {
		b, _ := json.Marshal(r)
		reqs[i] = &authz.Request{}
		if err := authz.DecodeBytes(b, reqs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return w, indexed, full, reqs
}

// TestAgreement checks that the indexed engine, the full scan and the
// reference model give the same decision for all 1,000 requests.
func TestAgreement(t *testing.T) {
	w, indexed, full, reqs := engines(t)
	if n := indexed.PolicyCount(); n != 150 {
		t.Fatalf("%d policies, want 150", n)
	}
	allow := 0
	for i, r := range reqs {
		a, _, err := indexed.Decide(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _, _ := full.Decide(r, nil)
		if a != b || a != w.Allowed(w.Requests[i]) {
			t.Fatalf("request %d: indexed %v, full scan %v, model %v", i, a, b, w.Allowed(w.Requests[i]))
		}
		if a {
			allow++
		}
	}
	t.Logf("%d allow / %d deny", allow, len(reqs)-allow)
}

func benchmark(b *testing.B, fullScan bool) {
	_, indexed, full, reqs := engines(b)
	eng := indexed
	if fullScan {
		eng = full
	}
	b.ReportAllocs()
	start := cpuTime()
	n := 0
	for i := 0; b.Loop(); i++ {
		if _, _, err := eng.Decide(reqs[i%len(reqs)], nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// On a shared machine wall time overstates the cost: report CPU too.
	b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
}

// cpuTime returns the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkDecideIndexed(b *testing.B)  { benchmark(b, false) }
func BenchmarkDecideFullScan(b *testing.B) { benchmark(b, true) }
