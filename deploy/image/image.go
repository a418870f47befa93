// Package image builds Steward's container image without a container
// daemon: the static steward binary in one layer over an empty base (no
// shell, no package manager), run as a non-root user, configured through
// STEWARD_* variables, with a health check and OCI annotations. It lives in
// its own module so go-containerregistry never enters the steward binary.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts, which the Helm chart, the Kubernetes manifests
// and the documentation rely on.
const (
	BinaryPath = "/usr/bin/steward"
	DataDir    = "/data"
	Port       = "8080/tcp"
	// UID and GID run the server: not root, and the owner of /data.
	UID = 65532
	GID = 65532
	// CABundle is where the image keeps the CA certificates for outbound
	// TLS (webhooks, OTLP, PostgreSQL with sslmode=verify-full).
	CABundle = "/etc/ssl/certs/ca-certificates.crt"
)

// Options describe one image.
type Options struct {
	Binary   string    // the static steward binary (BuildBinary makes one)
	Arch     string    // GOARCH of the binary: amd64 (default), arm64
	Version  string    // org.opencontainers.image.version
	Revision string    // org.opencontainers.image.revision (the commit)
	Source   string    // org.opencontainers.image.source (the repository URL)
	Created  time.Time // the image's and its files' time (reproducible builds: the commit time)
	// CABundle is a PEM file of CA certificates copied into the image
	// (default: the build machine's /etc/ssl/certs/ca-certificates.crt
	// when present).
	CABundle string
}

// BuildBinary compiles ./cmd/steward of the module at root into out as a
// static binary (CGO_ENABLED=0: the SQLite driver is pure Go) for
// linux/arch, with the version and commit stamped in.
func BuildBinary(ctx context.Context, root, out, arch, version, revision string) error {
	if arch == "" {
		arch = "amd64"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out,
		"-ldflags", fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", version, revision), "./cmd/steward")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/steward: %w\n%s", err, b)
	}
	return nil
}

// Annotations are the OCI annotations of the image (also its labels).
func (o Options) Annotations() map[string]string {
	a := map[string]string{
		"org.opencontainers.image.title":       "steward",
		"org.opencontainers.image.description": "Steward governs non-human identities: inventory, lifecycle, credential broker, policy decisions, audit",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    o.Revision,
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
	for k, v := range a {
		if v == "" {
			delete(a, k)
		}
	}
	return a
}

// Build returns the image.
func Build(o Options) (v1.Image, error) {
	if o.Binary == "" {
		return nil, errors.New("image: no binary given")
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0).UTC()
	}
	if o.CABundle == "" {
		if _, err := os.Stat(CABundle); err == nil {
			o.CABundle = CABundle
		}
	}
	files, err := rootFS(o)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(files)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image: layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: o.Created}, CreatedBy: "steward-image: " + BinaryPath + " and its user, CA certificates, " + DataDir}})
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = o.Arch, "linux"
	cf.Created = v1.Time{Time: o.Created}
	env := []string{"PATH=/usr/bin", "STEWARD_ADDR=0.0.0.0:8080", "STEWARD_DATA_DIR=" + DataDir, "STEWARD_LOG_FORMAT=json"}
	if o.CABundle != "" {
		env = append(env, "SSL_CERT_FILE="+CABundle)
	}
	cf.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint:   []string{BinaryPath},
		Cmd:          []string{"serve"},
		Env:          env,
		WorkingDir:   DataDir,
		ExposedPorts: map[string]struct{}{Port: {}},
		Volumes:      map[string]struct{}{DataDir: {}},
		Labels:       o.Annotations(),
		Healthcheck: &v1.HealthConfig{Test: []string{"CMD", BinaryPath, "healthcheck"},
			Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 10 * time.Second, Retries: 3},
		StopSignal: "SIGTERM",
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, o.Annotations()).(v1.Image), nil
}

// rootFS is the layer: the binary, the user and group files (so the
// numeric user has a name), the CA bundle, /data owned by the user and a
// sticky /tmp. Every file has the same time and sorted order, so the same
// inputs give the same digest.
func rootFS(o Options) ([]byte, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("image: binary: %w", err)
	}
	type entry struct {
		mode     int64
		uid, gid int
		dir      bool
		data     []byte
	}
	files := map[string]entry{
		"etc":             {mode: 0o755, dir: true},
		"etc/passwd":      {mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nsteward:x:%d:%d:steward:%s:/sbin/nologin\n", UID, GID, DataDir))},
		"etc/group":       {mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nsteward:x:%d:\n", GID))},
		"usr":             {mode: 0o755, dir: true},
		"usr/bin":         {mode: 0o755, dir: true},
		"usr/bin/steward": {mode: 0o755, data: bin},
		"data":            {mode: 0o700, dir: true, uid: UID, gid: GID},
		"tmp":             {mode: 0o1777, dir: true},
	}
	if o.CABundle != "" {
		ca, err := os.ReadFile(o.CABundle)
		if err != nil {
			return nil, fmt.Errorf("image: CA bundle: %w", err)
		}
		files["etc/ssl"] = entry{mode: 0o755, dir: true}
		files["etc/ssl/certs"] = entry{mode: 0o755, dir: true}
		files["etc/ssl/certs/ca-certificates.crt"] = entry{mode: 0o644, data: ca}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := files[n]
		h := &tar.Header{Name: n, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: o.Created, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag, h.Name = tar.TypeDir, n+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteOCI writes img as an OCI image layout packed in one tar file (what
// `podman load`, `skopeo copy oci-archive:…` and `crane push` read), with
// ref as its org.opencontainers.image.ref.name.
func WriteOCI(img v1.Image, path, ref string) error {
	dir, err := os.MkdirTemp("", "steward-oci-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	var opts []layout.Option
	if ref != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		return fmt.Errorf("image: OCI layout: %w", err)
	}
	return tarDir(dir, path)
}

// WriteDocker writes img as a `docker load` tarball tagged ref.
func WriteDocker(img v1.Image, path, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image: tag %q: %w", ref, err)
	}
	return tarball.WriteToFile(path, tag, img)
}

// tarDir packs the files under dir into the tar file path.
func tarDir(dir, path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = rel
		h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname = time.Unix(0, 0), 0, 0, "", ""
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
