// Package kubernetes reads ServiceAccounts and their service-account-token
// Secrets from YAML or JSON manifests (several documents, or kind: List).
package kubernetes

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

// CredentialType is the credential type of a service-account token Secret.
const CredentialType = "k8s_sa_token"

// Annotations and labels Parse reads.
const (
	AnnotationOwner       = "steward.io/owner"
	AnnotationTeam        = "steward.io/team"
	AnnotationEnvironment = "steward.io/environment"
	AnnotationSensitivity = "steward.io/sensitivity"
	AnnotationPurpose     = "steward.io/purpose"
	AnnotationSAName      = "kubernetes.io/service-account.name"
	LabelLastUsed         = "kubernetes.io/legacy-token-last-used"
	LabelInvalidSince     = "kubernetes.io/legacy-token-invalid-since"
	SecretTypeSAToken     = "kubernetes.io/service-account-token"
)

type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name              string            `yaml:"name"`
		Namespace         string            `yaml:"namespace"`
		Labels            map[string]string `yaml:"labels"`
		Annotations       map[string]string `yaml:"annotations"`
		CreationTimestamp string            `yaml:"creationTimestamp"`
	} `yaml:"metadata"`
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

// item is one Kubernetes object found in the file.
type item struct {
	index int
	node  *yaml.Node
}

// group is one service account being assembled from its objects.
type group struct {
	index   int
	rec     steward.ImportRecord
	haveSA  bool
	bad     bool
	secrets []time.Time
}

// Parse reads every ServiceAccount and service-account-token Secret;
// other kinds are skipped.
func Parse(r io.Reader) (kit.Result, error) {
	data, err := kit.ReadAll(r)
	if err != nil {
		return kit.Result{}, err
	}
	items, err := split(kit.StripBOM(data))
	if err != nil {
		return kit.Result{}, err
	}

	p := parser{groups: map[string]*group{}}
	for _, it := range items {
		if p.c.Hopeless() {
			break
		}
		p.object(it)
	}
	for _, ref := range p.order {
		g := p.groups[ref]
		if g.bad {
			continue
		}
		g.rec.Identity.LastUsedAt = kit.Newest(lastUsed(g.rec.Credentials)...)
		var created []*time.Time
		for _, t := range g.secrets {
			created = append(created, kit.Ptr(t))
		}
		g.rec.Identity.LastRotatedAt = kit.Newest(created...)
		p.c.Add(g.index, g.rec)
	}
	return p.c.Result(), nil
}

func lastUsed(creds []steward.Credential) []*time.Time {
	var out []*time.Time
	for _, c := range creds {
		out = append(out, c.LastUsedAt)
	}
	return out
}

// split returns every object of every document, opening Lists.
func split(data []byte) ([]item, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var items []item
	sawKind := false
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, kit.Invalid(0, "document %d: %v", doc, err)
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			continue // an empty document
		}
		if root.Kind != yaml.MappingNode {
			return nil, kit.Invalid(root.Line, "document %d is not a Kubernetes object (a YAML mapping)", doc)
		}
		kind := field(root, "kind")
		if kind != nil && kind.Kind == yaml.ScalarNode {
			sawKind = true
			if strings.HasSuffix(kind.Value, "List") {
				list := field(root, "items")
				if list == nil || list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
					continue
				}
				if list.Kind != yaml.SequenceNode {
					return nil, kit.Invalid(list.Line, "document %d: items of a %s must be a sequence", doc, kind.Value)
				}
				for _, el := range list.Content {
					items = append(items, item{index: len(items) + 1, node: el})
				}
				continue
			}
		}
		items = append(items, item{index: len(items) + 1, node: root})
	}
	if len(items) > 0 && !sawKind {
		return nil, kit.Invalid(items[0].node.Line, "not Kubernetes manifests: no document has a kind")
	}
	return items, nil
}

// field returns the value of key in a mapping node, or nil.
func field(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

type parser struct {
	c      kit.Collector
	order  []string
	groups map[string]*group
}

// group returns the service account's group, creating it on first mention.
func (p *parser) group(namespace, name string, it item) *group {
	ref := namespace + "/" + name
	g, ok := p.groups[ref]
	if !ok {
		id := kit.NewIdentity(steward.KindServiceAccount, "kubernetes", ref, name)
		id.Labels["k8s_namespace"] = namespace
		g = &group{index: it.index, rec: steward.ImportRecord{Line: it.node.Line, Identity: id, Credentials: []steward.Credential{}}}
		p.groups[ref] = g
		p.order = append(p.order, ref)
	}
	return g
}

func (p *parser) object(it item) {
	var o object
	line := it.node.Line
	if err := it.node.Decode(&o); err != nil {
		p.c.Bad(it.index, line, "", "", "%v", err)
		return
	}
	switch {
	case o.Kind == "ServiceAccount":
		p.serviceAccount(it, &o)
	case o.Kind == "Secret" && o.Type == SecretTypeSAToken:
		p.tokenSecret(it, &o)
	case o.Kind == "":
		p.c.Bad(it.index, line, o.Metadata.Name, "kind", "is missing")
	}
}

func namespace(o *object) string {
	if o.Metadata.Namespace == "" {
		return "default"
	}
	return o.Metadata.Namespace
}

func (p *parser) serviceAccount(it item, o *object) {
	line := it.node.Line
	if o.Metadata.Name == "" {
		p.c.Bad(it.index, line, "", "metadata.name", "is missing")
		return
	}
	ns := namespace(o)
	ref := ns + "/" + o.Metadata.Name
	if g, ok := p.groups[ref]; ok && g.haveSA {
		p.c.Bad(it.index, line, ref, "metadata.name", "ServiceAccount %s appears again: first at record %d (line %d)", ref, g.index, g.rec.Line)
		return
	}
	var created time.Time
	if ts := o.Metadata.CreationTimestamp; ts != "" {
		t, err := kit.ParseTime(ts)
		if err != nil {
			p.c.Bad(it.index, line, ref, "metadata.creationTimestamp", "%v", err)
			p.group(ns, o.Metadata.Name, it).bad = true
			return
		}
		created = t
	}
	ann := o.Metadata.Annotations
	sens := steward.Sensitivity(strings.ToLower(strings.TrimSpace(ann[AnnotationSensitivity])))
	if sens != "" && !steward.ValidSensitivity(sens) {
		p.c.Bad(it.index, line, ref, "metadata.annotations."+AnnotationSensitivity, "%q is not one of critical, high, medium, low", sens)
		p.group(ns, o.Metadata.Name, it).bad = true
		return
	}
	g := p.group(ns, o.Metadata.Name, it)
	g.haveSA = true
	// The ServiceAccount, not a Secret seen before it, locates the record.
	g.index, g.rec.Line = it.index, line
	id := &g.rec.Identity
	id.CreatedAt = created
	for k, v := range o.Metadata.Labels {
		id.Labels[k] = v
	}
	id.Labels["k8s_namespace"] = ns
	id.Team = ann[AnnotationTeam]
	id.Environment = ann[AnnotationEnvironment]
	id.Purpose = ann[AnnotationPurpose]
	id.Sensitivity = sens
	g.rec.OwnerEmail = strings.TrimSpace(ann[AnnotationOwner])
}

func (p *parser) tokenSecret(it item, o *object) {
	line := it.node.Line
	ns := namespace(o)
	ref := ns + "/" + o.Metadata.Name
	if o.Metadata.Name == "" {
		p.c.Bad(it.index, line, "", "metadata.name", "is missing")
		return
	}
	sa := strings.TrimSpace(o.Metadata.Annotations[AnnotationSAName])
	if sa == "" {
		p.c.Bad(it.index, line, ref, "metadata.annotations."+AnnotationSAName, "a service-account token Secret must name its ServiceAccount")
		return
	}
	cred, field, err := credential(o)
	if err != nil {
		// The Secret is rejected; its ServiceAccount is still recorded.
		p.c.Bad(it.index, line, ref, field, "%v", err)
		p.group(ns, sa, it)
		return
	}
	g := p.group(ns, sa, it)
	g.rec.Credentials = append(g.rec.Credentials, cred)
	if !cred.CreatedAt.IsZero() {
		g.secrets = append(g.secrets, cred.CreatedAt)
	}
}

// credential reads a token Secret; the token itself is only fingerprinted.
func credential(o *object) (steward.Credential, string, error) {
	cred := steward.Credential{
		Type:        CredentialType,
		ExternalRef: o.Metadata.Name,
		Status:      steward.CredentialActive,
		Metadata:    map[string]string{},
	}
	if ts := o.Metadata.CreationTimestamp; ts != "" {
		t, err := kit.ParseTime(ts)
		if err != nil {
			return cred, "metadata.creationTimestamp", err
		}
		cred.CreatedAt = t
	}
	if v, ok := o.Data["token"]; ok && v != "" {
		token, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
		if err != nil {
			return cred, "data.token", fmt.Errorf("is not base64: %v", err)
		}
		cred.Fingerprint = steward.Fingerprint(token)
	} else if v := o.StringData["token"]; v != "" {
		cred.Fingerprint = steward.Fingerprint([]byte(v))
	}
	if v := o.Metadata.Labels[LabelLastUsed]; v != "" {
		t, err := parseDate(v)
		if err != nil {
			return cred, "metadata.labels." + LabelLastUsed, err
		}
		cred.LastUsedAt = &t
	}
	if v := o.Metadata.Labels[LabelInvalidSince]; v != "" {
		if _, err := parseDate(v); err != nil {
			return cred, "metadata.labels." + LabelInvalidSince, err
		}
		cred.Status = steward.CredentialInactive
		cred.Metadata["invalid_since"] = v
	}
	return cred, "", nil
}

// parseDate reads the legacy-token labels, which hold a date (2006-01-02,
// UTC); a full RFC 3339 time is accepted too.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, strings.TrimSpace(s)); err == nil {
		return t, nil
	}
	t, err := kit.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2006-01-02) nor an RFC 3339 time", s)
	}
	return t, nil
}
