// Command gen writes the RBAC benchmark workload (seed 42): OPA's policy
// and data, Cedar policies and entities, and the AuthZEN request bodies.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/steward-nhi/steward/bench/authz/rbac"
)

func main() {
	out := flag.String("out", "bench/out/authz", "output directory")
	seed := flag.Int64("seed", 42, "math/rand seed")
	flag.Parse()
	if err := run(*out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string, seed int64) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	w := rbac.Generate(seed)
	data, err := w.OPAData()
	if err != nil {
		return err
	}
	ents, err := w.CedarEntities()
	if err != nil {
		return err
	}
	var reqs, want strings.Builder
	allow := 0
	for _, r := range w.Requests {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		reqs.Write(b)
		reqs.WriteByte('\n')
		a := w.Allowed(r)
		if a {
			allow++
		}
		fmt.Fprintln(&want, a)
	}
	files := map[string]string{"authz.rego": rbac.Rego, "data.json": string(data), "rbac.cedar": w.CedarPolicies(),
		"entities.json": string(ents), "requests.jsonl": reqs.String(), "expected.txt": want.String()}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(out, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %s: %d requests (%d allow / %d deny)\n", out, len(w.Requests), allow, len(w.Requests)-allow)
	return nil
}
