// Command agree posts every request body to Steward and OPA and checks
// that both answer the expected decision.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
)

func main() {
	dir := flag.String("dir", "bench/out/authz", "generated workload")
	steward := flag.String("steward", "http://127.0.0.1:8182", "Steward URL")
	opa := flag.String("opa", "http://127.0.0.1:8181", "OPA URL")
	token := flag.String("token", os.Getenv("WRK_TOKEN"), "Steward token")
	flag.Parse()
	reqs, err := os.ReadFile(*dir + "/requests.jsonl")
	if err != nil {
		fail(err)
	}
	want, err := os.ReadFile(*dir + "/expected.txt")
	if err != nil {
		fail(err)
	}
	wants := strings.Fields(string(want))
	sc := bufio.NewScanner(bytes.NewReader(reqs))
	n := 0
	for sc.Scan() {
		line := sc.Text()
		s := decide(*steward+"/access/v1/evaluation", *token, line, "decision")
		o := decide(*opa+"/v1/data/authz/allow", "", `{"input":`+line+`}`, "result")
		if fmt.Sprint(s) != wants[n] || fmt.Sprint(o) != wants[n] {
			fail(fmt.Errorf("request %d: steward %v, opa %v, want %s: %s", n, s, o, wants[n], line))
		}
		n++
	}
	fmt.Printf("agreement: Steward (cedar-go, indexed) and OPA gave the expected decision for all %d requests\n", n)
}

func decide(url, token, body, key string) bool {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fail(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		fail(fmt.Errorf("%s: status %d: %v", url, res.StatusCode, err))
	}
	b, _ := out[key].(bool)
	return b
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "agree:", err)
	os.Exit(1)
}
