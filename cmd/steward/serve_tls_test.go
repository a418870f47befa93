package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSelfSigned writes a certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "steward test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serveUntilHealthy runs `steward serve` with args and polls health at url.
func serveUntilHealthy(t *testing.T, client *http.Client, url string, args ...string) (*lockedBuffer, func()) {
	t.Helper()
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), func(k string) string {
			if k == "STEWARD_ADMIN_TOKEN" {
				return adminToken
			}
			return ""
		}, strings.NewReader(""), logs, logs)
	}()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		res, err := client.Get(url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return logs, stop
			}
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("not healthy at %s: %v\n%s", url, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeSelfSigned(t, dir)
	addr := freeAddr(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	logs, stop := serveUntilHealthy(t, client, "https://"+addr, "--addr", addr, "--data-dir", filepath.Join(dir, "data"), "--tls-cert", certFile, "--tls-key", keyFile)
	defer stop()
	// Plain HTTP is refused on the TLS port.
	if res, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + addr + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Fatal("plain HTTP answered on the TLS listener")
	}
	res, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header over TLS")
	}
	if strings.Contains(logs.String(), "PLAIN HTTP") {
		t.Error("warned about plain HTTP while serving TLS")
	}
}

func TestPlainHTTPOffLoopbackIsWarnedAbout(t *testing.T) {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	client := &http.Client{Timeout: 5 * time.Second}
	logs, stop := serveUntilHealthy(t, client, "http://127.0.0.1:"+port, "--addr", "0.0.0.0:"+port, "--data-dir", filepath.Join(t.TempDir(), "data"))
	defer stop()
	if !strings.Contains(logs.String(), "SERVING PLAIN HTTP ON A NON-LOOPBACK ADDRESS") {
		t.Fatalf("no warning:\n%s", logs.String())
	}
	// On loopback, plain HTTP is expected and not warned about.
	local := startServer(t, nil, "--data-dir", filepath.Join(t.TempDir(), "data2"))
	if strings.Contains(local.logs.String(), "PLAIN HTTP") {
		t.Fatal("warned about plain HTTP on loopback")
	}
}

func TestTracesAreExportedOnlyWhenConfigured(t *testing.T) {
	ctx := context.Background()
	off, shutdownOff, err := setupTracing(ctx, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer shutdownOff()
	_, span := off.Start(ctx, "x")
	if span.SpanContext().IsValid() {
		t.Fatal("spans are recorded with no exporter configured")
	}
	on, shutdownOn, err := setupTracing(ctx, func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return "http://127.0.0.1:4318"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdownOn()
	_, span = on.Start(ctx, "x")
	if !span.SpanContext().IsValid() {
		t.Fatal("no span recorded with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
}
