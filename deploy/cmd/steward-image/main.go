// Command steward-image builds Steward's container image without a
// container daemon and writes it as an OCI archive, a `docker load`
// tarball, or pushes it to a registry. scripts/image runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/steward-nhi/steward/deploy/image"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "steward-image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("steward-image", flag.ContinueOnError)
	root := fs.String("root", "..", "the Steward module to build (the repository root)")
	out := fs.String("o", "steward-image.tar", "output file")
	format := fs.String("format", "oci", "oci (OCI archive: podman load, skopeo, crane) or docker (docker load)")
	tag := fs.String("tag", "", "image reference, e.g. ghcr.io/you/steward:1.0.0 (default steward:VERSION)")
	push := fs.Bool("push", false, "push to the registry of --tag (credentials from the docker config) instead of writing a file")
	arch := fs.String("arch", "amd64", "GOARCH: amd64 or arm64")
	version := fs.String("version", "", "version (default: git describe)")
	revision := fs.String("revision", "", "commit (default: git rev-parse HEAD)")
	source := fs.String("source", "https://github.com/steward-nhi/steward", "source repository URL")
	binary := fs.String("binary", "", "use this prebuilt static binary instead of building one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	if *version == "" {
		*version = gitOut(ctx, abs, "describe", "--tags", "--always", "--dirty")
	}
	if *revision == "" {
		*revision = gitOut(ctx, abs, "rev-parse", "HEAD")
	}
	created := time.Unix(0, 0).UTC()
	if s := gitOut(ctx, abs, "log", "-1", "--format=%ct"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			created = time.Unix(n, 0).UTC()
		}
	}
	if *tag == "" {
		*tag = "steward:" + strings.ReplaceAll(*version, "+", "_")
	}
	bin := *binary
	if bin == "" {
		dir, err := os.MkdirTemp("", "steward-image-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "steward")
		if err := image.BuildBinary(ctx, abs, bin, *arch, *version, *revision); err != nil {
			return err
		}
	}
	img, err := image.Build(image.Options{Binary: bin, Arch: *arch, Version: *version, Revision: *revision, Source: *source, Created: created})
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	switch {
	case *push:
		ref, err := name.ParseReference(*tag)
		if err != nil {
			return fmt.Errorf("--tag %q: %w", *tag, err)
		}
		if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
		fmt.Fprintf(stdout, "pushed %s@%s\n", ref.Context(), digest)
		return nil
	case *format == "oci":
		err = image.WriteOCI(img, *out, *tag)
	case *format == "docker":
		err = image.WriteDocker(img, *out, *tag)
	default:
		return errors.New("--format must be oci or docker")
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, %s, %.1f MiB, %s)\n", *out, *format, *tag, float64(fi.Size())/(1<<20), digest)
	return nil
}

func gitOut(ctx context.Context, dir string, args ...string) string {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	b, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
