package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/steward-nhi/steward/deploy/image"
)

const (
	testVersion  = "1.2.3-test"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

// TestImageIsStaticNonRootAndShellFree builds the image as an OCI archive,
// reads it back as a registry client would, checks its configuration and
// files, and runs the binary it holds.
func TestImageIsStaticNonRootAndShellFree(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := filepath.Join(dir, "steward")
	if err := image.BuildBinary(ctx, "../..", bin, "amd64", testVersion, testRevision); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := image.Options{Binary: bin, Version: testVersion, Revision: testRevision, Source: "https://example.com/steward", Created: created}
	built, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "steward.oci.tar")
	if err := image.WriteOCI(built, archive, "steward:"+testVersion); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(archive); err == nil {
		t.Logf("OCI archive: %.1f MiB", float64(fi.Size())/(1<<20))
	}

	img := readOCI(t, archive, "steward:"+testVersion)
	mt, _ := img.MediaType()
	if mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("user %q os %q arch %q", c.User, cf.OS, cf.Architecture)
	}
	if strings.Join(c.Entrypoint, " ") != "/usr/bin/steward" || strings.Join(c.Cmd, " ") != "serve" {
		t.Errorf("entrypoint %v cmd %v", c.Entrypoint, c.Cmd)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v", c.Volumes)
	}
	for _, want := range []string{"STEWARD_ADDR=0.0.0.0:8080", "STEWARD_DATA_DIR=/data", "STEWARD_LOG_FORMAT=json"} {
		if !contains(c.Env, want) {
			t.Errorf("env %v lacks %s", c.Env, want)
		}
	}
	if c.Healthcheck == nil || strings.Join(c.Healthcheck.Test, " ") != "CMD /usr/bin/steward healthcheck" {
		t.Errorf("health check %+v", c.Healthcheck)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRevision,
		"org.opencontainers.image.source":   "https://example.com/steward",
		"org.opencontainers.image.created":  "2026-01-02T03:04:05Z",
	} {
		if c.Labels[k] != v || m.Annotations[k] != v {
			t.Errorf("%s: label %q annotation %q, want %q", k, c.Labels[k], m.Annotations[k], v)
		}
	}

	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d %v", len(layers), err)
	}
	files := layerFiles(t, layers[0])
	allowed := map[string]bool{"etc/": true, "etc/passwd": true, "etc/group": true, "etc/ssl/": true, "etc/ssl/certs/": true,
		"etc/ssl/certs/ca-certificates.crt": true, "usr/": true, "usr/bin/": true, "usr/bin/steward": true, "data/": true, "tmp/": true}
	for n := range files {
		if !allowed[n] {
			t.Errorf("unexpected file in the image: %s", n)
		}
	}
	for _, sh := range []string{"bin/sh", "usr/bin/sh", "bin/bash"} {
		if _, ok := files[sh]; ok {
			t.Errorf("the image has a shell: %s", sh)
		}
	}
	steward, ok := files["usr/bin/steward"]
	if !ok || steward.hdr.Mode&0o111 == 0 || steward.hdr.Uid != 0 {
		t.Fatalf("binary: %+v", steward.hdr)
	}
	if d := files["data/"]; d.hdr == nil || d.hdr.Uid != 65532 || d.hdr.Gid != 65532 || d.hdr.Mode&0o777 != 0o700 {
		t.Errorf("/data: %+v", d.hdr)
	}
	if !strings.Contains(string(files["etc/passwd"].data), ":65532:65532:") {
		t.Errorf("/etc/passwd lacks the user: %s", files["etc/passwd"].data)
	}

	// A static binary: no ELF interpreter, no shared libraries.
	ef, err := elf.NewFile(bytes.NewReader(steward.data))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is not static")
		}
	}
	if libs, _ := ef.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
	extracted := filepath.Join(dir, "extracted-steward")
	if err := os.WriteFile(extracted, steward.data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(extracted, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "steward "+testVersion+" (commit "+testRevision) {
		t.Fatalf("version: %s %v", out, err)
	}

	// The same inputs give the same image.
	again, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := built.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds differ: %s %s", d1, d2)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readOCI unpacks an OCI archive and returns the image named ref.
func readOCI(t *testing.T, archive, ref string) v1.Image {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != ref {
		t.Fatalf("index %+v", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type file struct {
	hdr  *tar.Header
	data []byte
}

func layerFiles(t *testing.T, l v1.Layer) map[string]file {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = file{h, b}
	}
}
