package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/steward-nhi/steward"
)

// Config is the gateway's configuration: the gateway.yaml file of
// `steward gateway`, or the gateway section of steward.yaml.
type Config struct {
	// Listen is the gateway's own listen address (host:port).
	Listen string `yaml:"listen"`
	// PublicURL is the gateway's address as callers reach it; MCP routes
	// derive their resource identifier (RFC 8707) and protected resource
	// metadata (RFC 9728) from it. Default: http://<listen>.
	PublicURL string `yaml:"public_url"`
	// AuthorizationServer is the issuer MCP clients get tokens from
	// (Steward's), published in the protected resource metadata.
	AuthorizationServer string `yaml:"authorization_server"`
	// RateLimit is each identity's request rate through the gateway
	// (requests per second; 0 = default 100, negative = unlimited);
	// Burst its burst (default 2 × the rate).
	RateLimit float64 `yaml:"rate_limit"`
	Burst     int     `yaml:"burst"`
	// Timeout is the longest an upstream may take to start answering
	// (default 30s): past it the caller gets 504.
	Timeout steward.Duration `yaml:"timeout"`
	// MaxBody bounds the request bodies the gateway must read: MCP
	// messages it inspects and aws-sigv4 bodies it hashes (default 1 MiB
	// for MCP, 10 MiB for sigv4). Other bodies stream through unread.
	MaxBody int64   `yaml:"max_body"`
	Routes  []Route `yaml:"routes"`
}

// Route sends the requests that match its host and path prefix to its
// upstream, with the upstream credential injected.
type Route struct {
	Name string `yaml:"name"`
	// Host, when set, must equal the request's host (port ignored).
	Host       string `yaml:"host"`
	PathPrefix string `yaml:"path_prefix"`
	// StripPrefix removes PathPrefix before the path is joined to the
	// upstream URL's path.
	StripPrefix bool   `yaml:"strip_prefix"`
	Upstream    string `yaml:"upstream"`
	// CredentialID names the upstream secret in custody; it is read
	// through the gateway's SecretSource on every request.
	CredentialID string `yaml:"credential_id"`
	// CredentialFile is the option without custody: the secret is the
	// content of this file (trailing newline removed), read on every
	// request, so replacing the file rotates the secret.
	CredentialFile string `yaml:"credential_file"`
	Inject         Inject `yaml:"inject"`
	// MCP marks an MCP (Streamable HTTP) route: every tools/call is a
	// separate decision, tools/list is filtered, and only access tokens
	// issued for Resource are accepted.
	MCP bool `yaml:"mcp"`
	// Resource is the route's RFC 8707 resource identifier (MCP routes;
	// default: public_url + path_prefix).
	Resource string `yaml:"resource"`
	// Timeout overrides the gateway's upstream timeout for this route.
	Timeout steward.Duration `yaml:"timeout"`
	// CAFile adds the PEM certificates in it to the roots that verify the
	// upstream's TLS certificate (verification is always on).
	CAFile string `yaml:"ca_file"`
}

// Inject says how the upstream secret is put on the request.
type Inject struct {
	// Type is bearer, basic, header, query or aws-sigv4.
	Type string `yaml:"type"`
	// Name is the header (header) or query parameter (query).
	Name string `yaml:"name"`
	// Region and Service scope an aws-sigv4 signature.
	Region  string `yaml:"region"`
	Service string `yaml:"service"`
}

// Injection types.
const (
	InjectBearer  = "bearer"
	InjectBasic   = "basic"
	InjectHeader  = "header"
	InjectQuery   = "query"
	InjectSigV4   = "aws-sigv4"
	defaultRate   = 100
	defaultMCPMax = 1 << 20
	defaultV4Max  = 10 << 20
)

var (
	routeName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
)

// ParseConfig reads a gateway configuration from YAML; unknown keys are
// errors, and the result is validated.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the configuration and fills defaults; errors name the
// route and field at fault.
func (c *Config) Validate() error {
	if c.RateLimit == 0 {
		c.RateLimit = defaultRate
	}
	if c.Burst <= 0 && c.RateLimit > 0 {
		c.Burst = max(1, int(2*c.RateLimit))
	}
	if c.Timeout == 0 {
		c.Timeout = steward.Duration(30 * time.Second)
	}
	if c.Timeout < 0 || c.MaxBody < 0 {
		return steward.FieldError("gateway", "timeout and max_body must not be negative")
	}
	if c.PublicURL == "" && c.Listen != "" {
		c.PublicURL = "http://" + c.Listen
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if len(c.Routes) == 0 {
		return steward.FieldError("routes", "at least one route is required")
	}
	names := map[string]bool{}
	for i := range c.Routes {
		r := &c.Routes[i]
		field := fmt.Sprintf("routes[%d]", i)
		if !routeName.MatchString(r.Name) {
			return steward.FieldError(field+".name", "%q must be 1-64 letters, digits, '_', '.' or '-'", r.Name)
		}
		field = fmt.Sprintf("routes[%s]", r.Name)
		if names[r.Name] {
			return steward.FieldError(field+".name", "route %q is defined twice", r.Name)
		}
		names[r.Name] = true
		if r.PathPrefix == "" {
			r.PathPrefix = "/"
		}
		if !strings.HasPrefix(r.PathPrefix, "/") || strings.Contains(r.PathPrefix, "..") {
			return steward.FieldError(field+".path_prefix", "%q must start with / and hold no ..", r.PathPrefix)
		}
		u, err := url.Parse(r.Upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
			return steward.FieldError(field+".upstream", "%q must be an http or https URL without credentials", r.Upstream)
		}
		if (r.CredentialID == "") == (r.CredentialFile == "") {
			return steward.FieldError(field+".credential_id", "give exactly one of credential_id (custody) and credential_file")
		}
		if err := r.Inject.validate(field + ".inject"); err != nil {
			return err
		}
		if r.Timeout < 0 {
			return steward.FieldError(field+".timeout", "must not be negative")
		}
		if r.MCP && r.Resource == "" {
			if c.PublicURL == "" {
				return steward.FieldError(field+".resource", "an MCP route needs resource or the gateway's public_url")
			}
			r.Resource = c.PublicURL + strings.TrimRight(r.PathPrefix, "/")
		}
		if r.Resource != "" {
			if u, err := url.Parse(r.Resource); err != nil || !u.IsAbs() || u.Fragment != "" {
				return steward.FieldError(field+".resource", "%q must be an absolute URI without fragment (RFC 8707)", r.Resource)
			}
		}
	}
	return nil
}

func (in Inject) validate(field string) error {
	switch in.Type {
	case InjectBearer, InjectBasic:
	case InjectHeader, InjectQuery:
		if !headerName.MatchString(in.Name) {
			return steward.FieldError(field+".name", "%s injection needs a name of 1-128 token characters, got %q", in.Type, in.Name)
		}
		if in.Type == InjectHeader && isHopOrAuth(in.Name) {
			return steward.FieldError(field+".name", "%q is a hop-by-hop or proxy header", in.Name)
		}
	case InjectSigV4:
		if in.Region == "" || in.Service == "" {
			return steward.FieldError(field, "aws-sigv4 needs region and service")
		}
	default:
		return steward.FieldError(field+".type", "%q is not one of bearer, basic, header, query, aws-sigv4", in.Type)
	}
	return nil
}

func isHopOrAuth(name string) bool {
	switch strings.ToLower(name) {
	case "connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length":
		return true
	}
	return false
}
