// Command floor is the benchmark floor: a bare net/http + encoding/json
// endpoint that decodes an AuthZEN body and answers {"decision":true}.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
)

type request struct {
	Subject  struct{ Type, ID string } `json:"subject"`
	Action   struct{ Name string }     `json:"action"`
	Resource struct{ Type, ID string } `json:"resource"`
	Context  map[string]any            `json:"context"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8183", "listen address")
	flag.Parse()
	http.HandleFunc("POST /access/v1/evaluation", func(w http.ResponseWriter, r *http.Request) {
		var in request
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]bool{"decision": true})
	})
	http.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
