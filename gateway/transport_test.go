package gateway_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/steward-nhi/steward/gateway"
)

// sigV4Upstream accepts a request only when the AWS SDK's own signer,
// given the same keys, headers and time, computes the same signature.
func sigV4Upstream(t *testing.T, creds aws.Credentials, region, service string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		_, signed, ok := strings.Cut(auth, "SignedHeaders=")
		if !ok {
			http.Error(w, "no SigV4 Authorization", http.StatusForbidden)
			return
		}
		signed, _, _ = strings.Cut(signed, ",")
		at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			http.Error(w, "bad X-Amz-Date", http.StatusForbidden)
			return
		}
		re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), strings.NewReader(string(body)))
		re.ContentLength = int64(len(body))
		for _, h := range strings.Split(signed, ";") {
			if h != "host" && h != "content-length" {
				re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
			}
		}
		hash := r.Header.Get("X-Amz-Content-Sha256")
		if hash == "" {
			sum := sha256.Sum256(body)
			hash = hex.EncodeToString(sum[:])
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hash, service, region, at); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if re.Header.Get("Authorization") != auth {
			http.Error(w, "signature mismatch", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "verified %s %s body=%q", r.Method, r.URL.Path, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestAWSSigV4IsVerifiedByTheSDKSigner(t *testing.T) {
	e := newEnv(t)
	e.policy("all", `permit(principal, action, resource);`)
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	sts := sigV4Upstream(t, creds, "eu-west-1", "sts")
	s3 := sigV4Upstream(t, creds, "eu-west-1", "s3")
	e.start(&gateway.Config{Routes: []gateway.Route{
		{Name: "sts", PathPrefix: "/sts", StripPrefix: true, Upstream: sts.URL, CredentialFile: e.secretFile("aws.json", `{"access_key_id":"AKIDEXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}`),
			Inject: gateway.Inject{Type: gateway.InjectSigV4, Region: "eu-west-1", Service: "sts"}},
		{Name: "s3", PathPrefix: "/s3", StripPrefix: true, Upstream: s3.URL, CredentialFile: e.secretFile("aws.txt", "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
			Inject: gateway.Inject{Type: gateway.InjectSigV4, Region: "eu-west-1", Service: "s3"}},
		{Name: "wrong", PathPrefix: "/wrong", StripPrefix: true, Upstream: sts.URL, CredentialFile: e.secretFile("aws2.txt", "AKIDEXAMPLE:not-the-key"),
			Inject: gateway.Inject{Type: gateway.InjectSigV4, Region: "eu-west-1", Service: "sts"}},
	}}, nil)
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"a signed POST with a hashed body verifies", "POST", "/sts/?Action=GetCallerIdentity&Version=2011-06-15", "Action=GetCallerIdentity", 200},
		{"a signed GET verifies", "GET", "/sts/x/y?b=2&a=1", "", 200},
		{"an S3 upload is signed with an unsigned, streamed payload", "PUT", "/s3/bucket/key", strings.Repeat("data", 1000), 200},
		{"another secret key does not verify", "GET", "/wrong/x", "", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := e.do(tc.method, tc.path, e.key, body, "Content-Type", "application/x-www-form-urlencoded")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 200 && !strings.Contains(r.body, "verified "+tc.method) {
				t.Fatalf("body %s", r.body)
			}
		})
	}
	t.Run("a rotated secret key under the same access key id signs the next request", func(t *testing.T) {
		e.secretFile("aws.txt", "AKIDEXAMPLE:rotated-secret-key")
		if r := e.do("GET", "/s3/bucket/key", e.key, nil); r.status != http.StatusForbidden {
			t.Fatalf("the old key still signed: %d %s", r.status, r.body)
		}
	})
	t.Run("a body beyond the signing limit is 413", func(t *testing.T) {
		cfg := *e.gw.Config()
		cfg.MaxBody = 16
		if err := e.gw.Reload(&cfg); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/sts/", e.key, strings.NewReader(strings.Repeat("x", 100)))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
}

// tlsUpstream is an HTTPS upstream speaking HTTP/2; caFile trusts it.
func tlsUpstream(t *testing.T, dir string) (srv *httptest.Server, caFile string) {
	t.Helper()
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s key=%s", r.Proto, r.Header.Get("X-Api-Key"))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(dir, "upstream-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

func TestHTTP2BothSidesAndUpstreamTLSIsVerified(t *testing.T) {
	e := newEnv(t)
	e.tls = true
	e.policy("all", `permit(principal, action, resource);`)
	up, ca := tlsUpstream(t, e.dir)
	trusted := headerRoute("trusted", "/trusted", up.URL, e.secretFile("k", "key-1"))
	trusted.CAFile = ca
	e.start(&gateway.Config{Routes: []gateway.Route{trusted, headerRoute("untrusted", "/untrusted", up.URL, e.secretFile("k", "key-1"))}}, nil)

	req, _ := http.NewRequest("GET", e.srv.URL+"/trusted/x", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.ProtoMajor != 2 || string(b) != "HTTP/2.0 key=key-1" {
		t.Fatalf("caller %s, status %d, upstream said %q", res.Proto, res.StatusCode, b)
	}
	if r := e.do("GET", "/untrusted/x", e.key, nil); r.status != http.StatusBadGateway {
		t.Fatalf("an upstream whose certificate is not trusted was reached: %d %s", r.status, r.body)
	}
	if !strings.Contains(e.logs.String(), "upstream TLS certificate not trusted") {
		t.Fatalf("logs do not say why:\n%s", e.logs.String())
	}
}

func TestStreamsFlowThroughUnbuffered(t *testing.T) {
	e := newEnv(t)
	e.policy("all", `permit(principal, action, resource);`)
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-next
		fmt.Fprint(w, "data: second\n\n")
	}))
	defer up.Close()
	e.start(&gateway.Config{Routes: []gateway.Route{headerRoute("sse", "/", up.URL, e.secretFile("k", "k"))}}, nil)
	req, _ := http.NewRequest("GET", e.srv.URL+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event before the upstream finished: %q %v", line, err)
	}
	close(next)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: second\n\n" {
		t.Fatalf("rest %q", rest)
	}
}
