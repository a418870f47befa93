package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/steward-nhi/steward"
)

// awsKeys is an aws-sigv4 secret: JSON {"access_key_id", "secret_access_key",
// "session_token"} or ACCESS_KEY_ID:SECRET_ACCESS_KEY.
type awsKeys struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
}

func parseAWSKeys(b []byte) (aws.Credentials, error) {
	var k awsKeys
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		if json.Unmarshal(b, &k) != nil {
			return aws.Credentials{}, steward.Errorf(steward.EINTERNAL, "the aws-sigv4 secret is not the expected JSON object")
		}
	} else if id, sec, ok := strings.Cut(string(b), ":"); ok {
		k.AccessKeyID, k.SecretAccessKey = id, sec
	}
	if k.AccessKeyID == "" || k.SecretAccessKey == "" {
		return aws.Credentials{}, steward.Errorf(steward.EINTERNAL, "the aws-sigv4 secret lacks access_key_id or secret_access_key")
	}
	return aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, SessionToken: k.SessionToken}, nil
}

// unsignedPayload is S3's marker for a body that is not hashed.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// inject puts secret on the outbound request as in says. For aws-sigv4
// the body is read (up to maxBody) to hash it, except for S3, which
// accepts an unsigned, streamed payload.
func inject(ctx context.Context, in Inject, out *http.Request, secret []byte, maxBody int64, now time.Time) error {
	switch in.Type {
	case InjectBearer:
		out.Header.Set("Authorization", "Bearer "+string(secret))
	case InjectBasic:
		out.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(secret))
	case InjectHeader:
		out.Header.Set(in.Name, string(secret))
	case InjectQuery:
		q := out.URL.Query()
		q.Set(in.Name, string(secret))
		out.URL.RawQuery = q.Encode()
	case InjectSigV4:
		creds, err := parseAWSKeys(secret)
		if err != nil {
			return err
		}
		hash := unsignedPayload
		if in.Service != "s3" {
			if hash, err = hashBody(out, maxBody); err != nil {
				return err
			}
		} else {
			out.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		}
		// The signature covers the headers present now; headers the
		// transport adds later (Accept-Encoding, User-Agent) are not signed.
		// A signer per request: the SDK's signer caches derived keys by
		// access key id, region and service, not by secret key, so a shared
		// one would go on signing with a rotated secret for the rest of
		// the day (or sign one route's requests with another's key).
		return v4.NewSigner().SignHTTP(ctx, creds, out, hash, in.Service, in.Region, now)
	}
	return nil
}

// hashBody reads the body (at most max bytes) and returns its SHA-256 in
// hex, leaving an equal body on the request.
func hashBody(r *http.Request, max int64) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		sum := sha256.Sum256(nil)
		return hex.EncodeToString(sum[:]), nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	r.Body.Close()
	if err != nil {
		return "", steward.Errorf(steward.EINVALID, "read the request body: %v", err)
	}
	if int64(len(b)) > max {
		return "", steward.Errorf(steward.ETOOLARGE, "the request body is larger than %d bytes, the most an aws-sigv4 route signs", max)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
