// Command stwscan is a minimal driver of the scan library for benchmarks:
// it runs the same engine as "steward scan" without the rest of the CLI,
// so the benchmark does not depend on the whole binary building.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/steward-nhi/steward/scan"
	"github.com/steward-nhi/steward/scan/rules"
	"github.com/steward-nhi/steward/scan/source"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "stwscan:", err)
		os.Exit(2)
	}
}

func run() error {
	gitMode := flag.Bool("git", false, "scan git history")
	out := flag.String("o", "", "write findings as JSON to this file")
	prof := flag.String("cpuprofile", "", "write a CPU profile")
	re2 := flag.Bool("re2", false, "use go-re2 for rule regexes")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := rules.Default()
	if err != nil {
		return err
	}
	var opts []scan.DetectorOption
	if *re2 {
		opts = append(opts, scan.WithRE2())
	}
	d, err := scan.NewDetector(cfg, opts...)
	if err != nil {
		return err
	}
	var src scan.Source = &source.Files{Paths: flag.Args()}
	if *gitMode {
		src = &source.Git{Repo: flag.Arg(0)}
	}
	fs, sum, err := scan.Scan(context.Background(), src, scan.Options{Detector: d})
	if err != nil {
		return err
	}
	if fs == nil {
		fs = []scan.Finding{}
	}
	if *out != "" {
		data, err := json.MarshalIndent(fs, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "files=%d bytes=%d findings=%d skipped=%v errors=%d\n", sum.Files, sum.Bytes, len(fs), sum.Skipped, len(sum.Errors))
	return nil
}
