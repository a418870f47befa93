package broker_test

import (
	"testing"
)

// registeredAuthMethods is the IANA "OAuth Token Endpoint Authentication
// Methods" registry (RFC 7591, RFC 8705).
var registeredAuthMethods = map[string]bool{
	"none": true, "client_secret_post": true, "client_secret_basic": true, "client_secret_jwt": true,
	"private_key_jwt": true, "tls_client_auth": true, "self_signed_tls_client_auth": true,
}

// TestMetadataFollowsRFC8414 checks the rules a metadata validator applies:
// the required members are present and non-empty, and every
// authentication method is a registered one.
func TestMetadataFollowsRFC8414(t *testing.T) {
	e := newEnv(t, envOpts{})
	md := e.b.Metadata()
	for _, k := range []string{"issuer", "token_endpoint", "jwks_uri"} {
		if s, _ := md[k].(string); s == "" {
			t.Errorf("%s is missing", k)
		}
	}
	if rt, _ := md["response_types_supported"].([]string); len(rt) == 0 {
		t.Errorf("response_types_supported = %v: RFC 8414 §2 requires a non-empty list", md["response_types_supported"])
	}
	for _, k := range []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		ms, _ := md[k].([]string)
		if len(ms) == 0 {
			t.Errorf("%s is empty", k)
		}
		for _, m := range ms {
			if !registeredAuthMethods[m] {
				t.Errorf("%s lists %q, which is not a registered client authentication method", k, m)
			}
		}
	}
	for _, k := range []string{"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported", "revocation_endpoint_auth_signing_alg_values_supported"} {
		for _, a := range md[k].([]string) {
			if a == "none" {
				t.Errorf("%s lists none", k)
			}
		}
	}
}
