package scan

import (
	"bytes"
	"encoding/base64"
	"strings"

	"go.yaml.in/yaml/v3"
)

// detectK8sSecrets decodes the base64 values under data: of Kubernetes
// Secret manifests and scans each as "key: value", so that both provider
// rules and the generic rule (which needs the key's name) apply. Findings
// point at the encoded value.
//
// The second result lists the positions (line, column) of every decoded
// value, so that findings on the encoded text itself can be dropped.
func (d *Detector) detectK8sSecrets(path string, data []byte) ([]Finding, map[[2]int]bool) {
	if !bytes.Contains(data, []byte("Secret")) || !bytes.Contains(data, []byte("data:")) {
		return nil, nil
	}
	var out []Finding
	values := map[[2]int]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for docs := 0; docs < 1000; docs++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if scalar(root, "kind") != "Secret" {
			continue
		}
		m := mapValue(root, "data")
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v.Value))
			if err != nil || !printable(raw) {
				continue
			}
			values[[2]int{v.Line, v.Column}] = true
			synthetic := append([]byte(k.Value+": "), raw...)
			fs, _ := d.Detect(path, synthetic)
			for _, f := range fs {
				f.Line, f.Column = v.Line, v.Column
				f.EndLine, f.EndColumn = v.Line, v.Column+len(v.Value)-1
				f.Preview = Redact(f.Secret)
				if f.Context == "" {
					f.Context = "encoding=base64"
				}
				out = append(out, f)
			}
		}
	}
	return out, values
}
