// Package helmtest renders the Helm chart in deploy/helm/steward with
// Helm's own Go module and checks every manifest with the Kubernetes API
// types, for both modes.
package helmtest

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

const chartDir = "../helm/steward"

// render runs `helm template` in-process and returns the objects by kind.
func render(t *testing.T, values map[string]any) (map[string][]runtime.Object, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := util.ToRenderValues(ch, values, common.ReleaseOptions{Name: "steward", Namespace: "security", IsInstall: true}, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	codecs := serializer.NewCodecFactory(scheme.Scheme)
	out := map[string][]runtime.Object{}
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		dec := utilyaml.NewYAMLReader(bufioReader(files[n]))
		for {
			doc, err := dec.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 || isComment(doc) {
				continue
			}
			obj, gvk, err := codecs.UniversalDeserializer().Decode(doc, nil, nil)
			if err != nil {
				// A kind outside client-go's scheme (ServiceMonitor).
				u := &unstructured.Unstructured{}
				if uerr := u.UnmarshalJSON(mustJSON(t, doc)); uerr != nil {
					t.Fatalf("%s: %v\n%s", n, err, doc)
				}
				out[u.GetKind()] = append(out[u.GetKind()], u)
				continue
			}
			out[gvk.Kind] = append(out[gvk.Kind], obj)
		}
	}
	return out, nil
}

func isComment(doc []byte) bool {
	for _, l := range strings.Split(string(doc), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

func counts(objs map[string][]runtime.Object) string {
	var kinds []string
	total := 0
	for k, v := range objs {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, len(v)))
		total += len(v)
	}
	sort.Strings(kinds)
	return fmt.Sprintf("%d objects: %s", total, strings.Join(kinds, " "))
}

func TestChartRendersBothModes(t *testing.T) {
	full := map[string]any{"ingress": map[string]any{"enabled": true, "tls": map[string]any{"secretName": "steward-tls"}},
		"serviceMonitor": map[string]any{"enabled": true}}
	for _, tc := range []struct {
		name     string
		values   map[string]any
		workload string
		want     map[string]int
	}{
		{"sqlite: one StatefulSet replica on a persistent volume", merge(full, nil), "StatefulSet",
			map[string]int{"StatefulSet": 1, "Service": 1, "ConfigMap": 1, "Ingress": 1, "ServiceMonitor": 1, "NetworkPolicy": 1, "PodDisruptionBudget": 1}},
		{"postgres: a Deployment of three replicas, URL and master key from Secrets", merge(full, map[string]any{"mode": "postgres", "replicaCount": 3,
			"masterKey": map[string]any{"existingSecret": "steward-master-key"}, "issuer": "https://steward.example.com"}), "Deployment",
			map[string]int{"Deployment": 1, "Service": 1, "ConfigMap": 1, "Ingress": 1, "ServiceMonitor": 1, "NetworkPolicy": 1, "PodDisruptionBudget": 1}},
		{"defaults: no Ingress, no ServiceMonitor", nil, "StatefulSet",
			map[string]int{"StatefulSet": 1, "Service": 1, "ConfigMap": 1, "NetworkPolicy": 1, "PodDisruptionBudget": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := render(t, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("rendered %s", counts(objs))
			got := map[string]int{}
			for k, v := range objs {
				got[k] = len(v)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("objects %v, want %v", got, tc.want)
			}
			var pod corev1.PodTemplateSpec
			switch tc.workload {
			case "StatefulSet":
				ss := objs["StatefulSet"][0].(*appsv1.StatefulSet)
				if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 1 || len(ss.Spec.VolumeClaimTemplates) != 1 || ss.Spec.VolumeClaimTemplates[0].Name != "data" {
					t.Errorf("statefulset: replicas %v, claims %+v", ss.Spec.Replicas, ss.Spec.VolumeClaimTemplates)
				}
				pod = ss.Spec.Template
				if pdb := objs["PodDisruptionBudget"][0].(*policyv1.PodDisruptionBudget); pdb.Spec.MaxUnavailable == nil || pdb.Spec.MinAvailable != nil {
					t.Errorf("a single replica's PDB must allow a drain: %+v", pdb.Spec)
				}
			case "Deployment":
				d := objs["Deployment"][0].(*appsv1.Deployment)
				if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
					t.Errorf("deployment replicas %v", d.Spec.Replicas)
				}
				pod = d.Spec.Template
				if pdb := objs["PodDisruptionBudget"][0].(*policyv1.PodDisruptionBudget); pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
					t.Errorf("pdb %+v", pdb.Spec)
				}
				c := pod.Spec.Containers[0]
				db := envVar(c, "STEWARD_DB")
				if db == nil || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil || db.ValueFrom.SecretKeyRef.Name != "steward-postgres" || db.Value != "" {
					t.Errorf("STEWARD_DB must come from a Secret: %+v", db)
				}
				if mk := envVar(c, "STEWARD_MASTER_KEY_FILE"); mk == nil || !mounted(pod, c, "master-key", "steward-master-key") {
					t.Errorf("the master key must be a mounted Secret: %+v", mk)
				}
				cm := objs["ConfigMap"][0].(*corev1.ConfigMap)
				if !strings.Contains(cm.Data["steward.yaml"], "issuer: https://steward.example.com") {
					t.Errorf("steward.yaml: %s", cm.Data["steward.yaml"])
				}
			}
			checkPodSecurity(t, pod)
			if ing, ok := objs["Ingress"]; ok {
				if i := ing[0].(*networkingv1.Ingress); len(i.Spec.TLS) != 1 || i.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name != "http" {
					t.Errorf("ingress %+v", i.Spec)
				}
			}
			np := objs["NetworkPolicy"][0].(*networkingv1.NetworkPolicy)
			if len(np.Spec.PolicyTypes) != 2 || len(np.Spec.Ingress) != 1 || len(np.Spec.Egress) == 0 {
				t.Errorf("network policy %+v", np.Spec)
			}
			if sm, ok := objs["ServiceMonitor"]; ok {
				u := sm[0].(*unstructured.Unstructured)
				eps, _, _ := unstructured.NestedSlice(u.Object, "spec", "endpoints")
				if len(eps) != 1 || eps[0].(map[string]any)["path"] != "/metrics" {
					t.Errorf("service monitor endpoints %v", eps)
				}
			}
		})
	}
}

// checkPodSecurity: non-root, read-only root, no privilege escalation, no
// capabilities, the runtime's seccomp profile, no service account token.
func checkPodSecurity(t *testing.T, pod corev1.PodTemplateSpec) {
	t.Helper()
	ps := pod.Spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser != 65532 ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v", ps)
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token it does not need")
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("containers %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 ||
		(sc.Privileged != nil && *sc.Privileged) {
		t.Errorf("container security context %+v", sc)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %+v liveness %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	for _, dir := range []string{"/data", "/tmp"} {
		found := false
		for _, m := range c.VolumeMounts {
			found = found || (m.MountPath == dir && !m.ReadOnly)
		}
		if !found {
			t.Errorf("no writable volume at %s (the root file system is read-only)", dir)
		}
	}
	for _, e := range c.Env {
		if e.Value != "" && (strings.Contains(e.Name, "KEY") && e.Name != "STEWARD_MASTER_KEY_FILE" || strings.Contains(e.Name, "TOKEN") || e.Name == "STEWARD_DB") {
			t.Errorf("secret %s given as a literal value", e.Name)
		}
	}
}

func TestChartRefusesAnIncompletePostgresMode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		says   string
	}{
		{"without a master key", map[string]any{"mode": "postgres"}, "masterKey.existingSecret"},
		{"without a database Secret", map[string]any{"mode": "postgres", "masterKey": map[string]any{"existingSecret": "k"}, "postgres": map[string]any{"existingSecret": ""}}, "postgres.existingSecret"},
		{"with an unknown mode", map[string]any{"mode": "mysql"}, "mode must be sqlite or postgres"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want it to name %s", err, tc.says)
			}
		})
	}
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func mounted(pod corev1.PodTemplateSpec, c corev1.Container, volume, secret string) bool {
	okMount := false
	for _, m := range c.VolumeMounts {
		okMount = okMount || (m.Name == volume && m.ReadOnly)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == volume && v.Secret != nil && v.Secret.SecretName == secret {
			return okMount
		}
	}
	return false
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
