package scan

import (
	"bytes"
	"path"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileKind classifies pipeline and configuration files whose findings get a
// context string.
type fileKind int

const (
	kindNone fileKind = iota
	kindGitHubActions
	kindGitLabCI
	kindCircleCI
	kindAzurePipelines
	kindCompose
	kindHelmValues
	kindYAML // any other YAML: Kubernetes manifests are recognised per document
	kindDotEnv
	kindJenkins
	kindTFVars
	kindTFState
)

func classify(p string) fileKind {
	base := path.Base(p)
	lower := strings.ToLower(base)
	ext := path.Ext(lower)
	isYAML := ext == ".yml" || ext == ".yaml"
	switch {
	case isYAML && strings.Contains(p, ".github/workflows/"):
		return kindGitHubActions
	case lower == ".gitlab-ci.yml" || lower == ".gitlab-ci.yaml" || isYAML && strings.Contains(p, ".gitlab/ci/"):
		return kindGitLabCI
	case isYAML && strings.Contains(p, ".circleci/"):
		return kindCircleCI
	case isYAML && strings.HasPrefix(lower, "azure-pipelines"):
		return kindAzurePipelines
	case isYAML && (strings.HasPrefix(lower, "docker-compose") || strings.HasPrefix(lower, "compose.") || strings.HasPrefix(lower, "compose-")):
		return kindCompose
	case isYAML && strings.HasPrefix(lower, "values"):
		return kindHelmValues
	case isYAML:
		return kindYAML
	case lower == ".env" || strings.HasPrefix(lower, ".env.") || ext == ".env":
		return kindDotEnv
	case lower == "jenkinsfile" || strings.HasPrefix(lower, "jenkinsfile.") || ext == ".jenkinsfile":
		return kindJenkins
	case ext == ".tfvars" || strings.HasSuffix(lower, ".tfvars.json"):
		return kindTFVars
	case ext == ".tfstate" || strings.HasSuffix(lower, ".tfstate.backup"):
		return kindTFState
	}
	return kindNone
}

// contextCache computes the context of findings in one fragment, parsing
// the file at most once and only when a finding needs it.
type contextCache struct {
	path   string
	data   []byte
	kind   fileKind
	parsed bool
	docs   []*yaml.Node
	li     *lineIndex
}

func newContextCache(p string, data []byte) *contextCache {
	return &contextCache{path: p, data: data, kind: classify(p)}
}

func (c *contextCache) at(line int) string {
	switch c.kind {
	case kindNone:
		return ""
	case kindDotEnv:
		return envContext(c.line(line))
	case kindTFVars:
		if m := assignRE.FindSubmatch(c.line(line)); m != nil {
			return "tfvars var=" + string(m[1])
		}
		return "tfvars"
	case kindJenkins:
		return c.jenkins(line)
	case kindTFState:
		return c.tfstate(line)
	}
	if !c.parsed {
		c.parsed = true
		dec := yaml.NewDecoder(bytes.NewReader(c.data))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				break
			}
			c.docs = append(c.docs, &n)
			if len(c.docs) > 1000 {
				break
			}
		}
	}
	var doc *yaml.Node
	for _, d := range c.docs {
		if len(d.Content) > 0 && d.Content[0].Line <= line {
			doc = d.Content[0]
		}
	}
	if doc == nil {
		return ""
	}
	steps := yamlPath(doc, line, nil)
	return formatYAMLContext(c.kind, c.path, doc, steps)
}

func (c *contextCache) line(n int) []byte {
	if c.li == nil {
		c.li = newLineIndex(c.data)
	}
	if n < 1 || n > len(c.li.nl)+1 {
		return nil
	}
	return c.li.lineBytes(n)
}

var (
	envLineRE  = regexp.MustCompile(`^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*[=:]`)
	assignRE   = regexp.MustCompile(`^\s*"?([A-Za-z_][A-Za-z0-9_.\-]*)"?\s*[=:]`)
	stageRE    = regexp.MustCompile(`\bstage\s*\(\s*['"]([^'"]+)['"]`)
	jenkinsVar = regexp.MustCompile(`^\s*(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)\s*=`)
	tfTypeRE   = regexp.MustCompile(`"type"\s*:\s*"([^"]+)"`)
	tfNameRE   = regexp.MustCompile(`"name"\s*:\s*"([^"]+)"`)
	tfAttrRE   = regexp.MustCompile(`^\s*"([^"]+)"\s*:`)
)

func envContext(line []byte) string {
	if m := envLineRE.FindSubmatch(line); m != nil {
		return "env=" + string(m[1])
	}
	return ""
}

func (c *contextCache) jenkins(line int) string {
	stage := ""
	for i := line; i >= 1; i-- {
		if m := stageRE.FindSubmatch(c.line(i)); m != nil {
			stage = string(m[1])
			break
		}
	}
	out := "jenkins"
	if stage != "" {
		out += " stage=" + quoteCtx(stage)
	}
	if m := jenkinsVar.FindSubmatch(c.line(line)); m != nil {
		out += " env=" + string(m[1])
	}
	return out
}

// tfstate names the resource around a line of a Terraform state file by
// looking back for the resource's "type" and "name".
func (c *contextCache) tfstate(line int) string {
	attr := ""
	if m := tfAttrRE.FindSubmatch(c.line(line)); m != nil {
		attr = string(m[1])
	}
	typ, name := "", ""
	for i := line; i >= 1 && i > line-400; i-- {
		if m := tfTypeRE.FindSubmatch(c.line(i)); m != nil {
			typ = string(m[1])
			for j := i; j <= i+3; j++ {
				if m := tfNameRE.FindSubmatch(c.line(j)); m != nil {
					name = string(m[1])
					break
				}
			}
			break
		}
	}
	out := "tfstate"
	if typ != "" {
		out += " resource=" + typ
		if name != "" {
			out += "." + name
		}
	}
	if attr != "" {
		out += " attr=" + attr
	}
	return out
}

// step is one level of a YAML path: a mapping key or a sequence index.
type step struct {
	key   string
	index int // -1 for a mapping key
	node  *yaml.Node
}

// lastAtOrBefore is the index of the last of every stride-th node of ns
// (a mapping's keys with stride 2) that starts at or before line, or -1.
func lastAtOrBefore(ns []*yaml.Node, stride, line int) int {
	best := -1
	for i := 0; i+stride <= len(ns) && ns[i].Line <= line; i += stride {
		best = i
	}
	return best
}

// yamlPath descends to the deepest node that starts at or before line.
func yamlPath(n *yaml.Node, line int, acc []step) []step {
	switch n.Kind {
	case yaml.MappingNode:
		best := lastAtOrBefore(n.Content, 2, line)
		if best < 0 {
			return acc
		}
		v := n.Content[best+1]
		acc = append(acc, step{key: n.Content[best].Value, index: -1, node: v})
		return yamlPath(v, line, acc)
	case yaml.SequenceNode:
		best := lastAtOrBefore(n.Content, 1, line)
		if best < 0 {
			return acc
		}
		v := n.Content[best]
		acc = append(acc, step{index: best, node: v})
		return yamlPath(v, line, acc)
	case yaml.AliasNode:
		return acc
	}
	return acc
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node, key string) string {
	if v := mapValue(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// varName finds the variable named by a path: the key under env,
// variables, environment, with or secrets, or a "NAME=value" list item, or
// a "- name: X / value: Y" pair.
func varName(steps []step) (kind, name string) {
	for i := len(steps) - 1; i >= 1; i-- {
		parent := steps[i-1].key
		s := steps[i]
		switch parent {
		case "env", "variables", "environment", "secrets", "with", "args", "build_args", "stringData", "data":
			if s.index < 0 {
				return parent, s.key
			}
			if s.node.Kind == yaml.ScalarNode {
				if k, _, ok := strings.Cut(s.node.Value, "="); ok {
					return parent, k
				}
			}
			if n := scalar(s.node, "name"); n != "" {
				return parent, n
			}
		}
	}
	return "", ""
}

func stepName(n *yaml.Node, idx int) string {
	for _, k := range []string{"name", "id", "displayName", "task", "uses"} {
		if v := scalar(n, k); v != "" {
			return v
		}
	}
	return strconv.Itoa(idx)
}

func keyPath(steps []step) string {
	var parts []string
	for _, s := range steps {
		if s.index >= 0 {
			parts = append(parts, strconv.Itoa(s.index))
		} else {
			parts = append(parts, s.key)
		}
	}
	return strings.Join(parts, ".")
}

func quoteCtx(s string) string {
	if strings.ContainsAny(s, " \t\"=") {
		return strconv.Quote(s)
	}
	return s
}

func formatYAMLContext(kind fileKind, p string, doc *yaml.Node, steps []step) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+quoteCtx(v))
		}
	}
	envKind, env := varName(steps)
	envKey := "env"
	if envKind == "with" {
		envKey = "with"
	}
	switch kind {
	case kindGitHubActions:
		add("workflow", path.Base(p))
		for i, s := range steps {
			if s.key == "jobs" && i+1 < len(steps) {
				add("job", steps[i+1].key)
			}
			if s.key == "steps" && i+1 < len(steps) {
				add("step", stepName(steps[i+1].node, steps[i+1].index))
			}
		}
		add(envKey, env)
	case kindGitLabCI, kindCircleCI:
		name := map[fileKind]string{kindGitLabCI: "gitlab-ci", kindCircleCI: "circleci"}[kind]
		add("pipeline", name)
		if len(steps) > 0 {
			switch {
			case kind == kindCircleCI && steps[0].key == "jobs" && len(steps) > 1:
				add("job", steps[1].key)
			case kind == kindGitLabCI && steps[0].key != "variables":
				add("job", steps[0].key)
			}
		}
		for i, s := range steps {
			if s.key == "steps" && i+1 < len(steps) {
				add("step", stepName(steps[i+1].node, steps[i+1].index))
			}
		}
		add(envKey, env)
	case kindAzurePipelines:
		add("pipeline", "azure")
		for i, s := range steps {
			if i+1 >= len(steps) {
				break
			}
			n := steps[i+1].node
			switch s.key {
			case "stages":
				add("stage", scalar(n, "stage"))
			case "jobs":
				add("job", scalar(n, "job"))
			case "steps":
				add("step", stepName(n, steps[i+1].index))
			}
		}
		add(envKey, env)
	case kindCompose:
		if len(steps) > 1 && steps[0].key == "services" {
			add("compose-service", steps[1].key)
		}
		add(envKey, env)
		if env == "" {
			add("key", keyPath(steps))
		}
	default:
		if k8s := k8sObject(doc); k8s != "" {
			parts = append(parts, "k8s="+k8s)
			if envKind == "data" || envKind == "stringData" {
				add("key", env)
			} else if env != "" {
				add("env", env)
			} else {
				add("key", keyPath(steps))
			}
			break
		}
		if kind == kindHelmValues {
			add("helm-values", keyPath(steps))
			break
		}
		if env != "" {
			add(envKey, env)
		}
	}
	return strings.Join(parts, " ")
}

// k8sObject names a Kubernetes object as Kind/namespace/name.
func k8sObject(doc *yaml.Node) string {
	kind := scalar(doc, "kind")
	if kind == "" || scalar(doc, "apiVersion") == "" {
		return ""
	}
	md := mapValue(doc, "metadata")
	ns := scalar(md, "namespace")
	if ns == "" {
		ns = "default"
	}
	return kind + "/" + ns + "/" + scalar(md, "name")
}
