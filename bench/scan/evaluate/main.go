// Command evaluate scores a scanner report against planted ground truth:
// recall on planted secrets and false positives (findings that match no
// planted secret). It reads Steward JSON reports and gitleaks JSON reports.
//
//	go run ./bench/scan/evaluate -truth truth.jsonl -root /tmp/corpus -bytes N steward.json gitleaks.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type truth struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	EndLine int    `json:"end_line"`
	Kind    string `json:"kind"`
	Carrier string `json:"carrier"`
}

// finding is the union of the fields both tools write.
type finding struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	EndLine   int    `json:"end_line"`
	Rule      string `json:"rule"`
	GLFile    string `json:"File"`
	StartLine int    `json:"StartLine"`
	GLEndLine int    `json:"EndLine"`
	RuleID    string `json:"RuleID"`
}

func main() {
	truthPath := flag.String("truth", "", "ground truth (JSON lines)")
	root := flag.String("root", "", "scanned root, stripped from report paths")
	nbytes := flag.Int64("bytes", 0, "bytes scanned, for false positives per 100 MB")
	verbose := flag.Bool("v", false, "list missed secrets")
	flag.Parse()
	ts, err := readTruth(*truthPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "evaluate:", err)
		os.Exit(1)
	}
	for _, report := range flag.Args() {
		if err := score(report, *root, ts, *nbytes, *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "evaluate:", err)
			os.Exit(1)
		}
	}
}

func readTruth(p string) ([]truth, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ts []truth
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var t truth
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, sc.Err()
}

func score(report, root string, ts []truth, nbytes int64, verbose bool) error {
	data, err := os.ReadFile(report)
	if err != nil {
		return err
	}
	var fs []finding
	if err := json.Unmarshal(data, &fs); err != nil {
		return fmt.Errorf("%s: %w", report, err)
	}
	byFile := map[string][]int{}
	for i, t := range ts {
		byFile[t.File] = append(byFile[t.File], i)
	}
	hit := make([]bool, len(ts))
	fp := 0
	fpRules := map[string]int{}
	absRoot, _ := filepath.Abs(root)
	for _, f := range fs {
		file, line, end, rule := f.File, f.Line, f.EndLine, f.Rule
		if file == "" {
			file, line, end, rule = f.GLFile, f.StartLine, f.GLEndLine, f.RuleID
		}
		file = filepath.ToSlash(file)
		for _, r := range []string{root, absRoot} {
			if r != "" {
				file = strings.TrimPrefix(file, filepath.ToSlash(r)+"/")
			}
		}
		if end < line {
			end = line
		}
		matched := false
		for _, i := range byFile[file] {
			if ts[i].Line <= end && line <= ts[i].EndLine {
				hit[i] = true
				matched = true
			}
		}
		if !matched {
			fp++
			fpRules[rule]++
		}
	}
	found := 0
	missedBy := map[string]int{}
	for i, h := range hit {
		if h {
			found++
		} else {
			missedBy[ts[i].Kind+"/"+ts[i].Carrier]++
			if verbose {
				fmt.Printf("  missed %s:%d %s (%s)\n", ts[i].File, ts[i].Line, ts[i].Kind, ts[i].Carrier)
			}
		}
	}
	per100 := 0.0
	if nbytes > 0 {
		per100 = float64(fp) / (float64(nbytes) / 1e8)
	}
	fmt.Printf("%s: findings=%d recall=%d/%d (%.1f%%) false_positives=%d (%.1f per 100 MB)\n", filepath.Base(report), len(fs), found, len(ts), 100*float64(found)/float64(max(1, len(ts))), fp, per100)
	fmt.Printf("  false positives by rule: %s\n", top(fpRules))
	if len(missedBy) > 0 {
		fmt.Printf("  missed by kind/carrier: %s\n", top(missedBy))
	}
	return nil
}

func top(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var kvs []kv
	for k, v := range m {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v || kvs[i].v == kvs[j].v && kvs[i].k < kvs[j].k })
	var parts []string
	for i, e := range kvs {
		if i == 12 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%d", e.k, e.v))
	}
	return strings.Join(parts, " ")
}
