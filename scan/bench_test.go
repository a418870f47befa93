package scan

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkDetect measures the detector alone over the Go sources of
// net/http from GOROOT (run: go test -bench Detect -run ^$ ./scan).
func BenchmarkDetect(b *testing.B) {
	root, _ := exec.Command("go", "env", "GOROOT").Output()
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(root)), "src", "net", "http", "*.go"))
	var data [][]byte
	var total int64
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		data = append(data, d)
		total += int64(len(d))
	}
	if total == 0 {
		b.Skip("GOROOT sources not available")
	}
	d := defaultDetector(b)
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		for _, c := range data {
			d.Detect("x.go", c)
		}
	}
}
