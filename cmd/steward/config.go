package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/gateway"
)

// Config is the server's configuration: flags > STEWARD_* environment >
// steward.yaml > defaults.
type Config struct {
	Addr               string                   `yaml:"addr"`
	DataDir            string                   `yaml:"data_dir"`
	DB                 string                   `yaml:"db"`
	TLSCert            string                   `yaml:"tls_cert"`
	TLSKey             string                   `yaml:"tls_key"`
	LogLevel           string                   `yaml:"log_level"`
	LogFormat          string                   `yaml:"log_format"`
	RateLimit          float64                  `yaml:"rate_limit"`
	ShutdownTimeout    steward.Duration         `yaml:"shutdown_timeout"`
	DefaultSensitivity string                   `yaml:"default_sensitivity"`
	Policy             map[string]policyOverlay `yaml:"policy"`
	Demo               bool                     `yaml:"demo"`
	Audit              auditConfig              `yaml:"audit"`
	Broker             brokerConfig             `yaml:"broker"`
	Authz              authzConfig              `yaml:"authz"`
	Posture            postureConfig            `yaml:"posture"`
	Alerts             alertsConfig             `yaml:"alerts"`
	Web                webConfig                `yaml:"web"`
	Discovery          discoveryConfig          `yaml:"discovery"`
	Federation         federationConfig         `yaml:"federation"`
	Rotation           rotationConfig           `yaml:"rotation"`
	Metrics            metricsConfig            `yaml:"metrics"`
	// Gateway runs the credential-injecting gateway inside serve.
	Gateway *gateway.Config `yaml:"gateway"`

	file string // the config file read, if any (watched for gateway routes)
}

// metricsConfig is the metrics section of steward.yaml.
type metricsConfig struct {
	// RequireAuth makes GET /metrics ask for a staff token (admin,
	// operator or auditor), as Vault's metrics do: the counts it exposes
	// describe the estate. Default: on unless the server listens on a
	// loopback address only.
	RequireAuth *bool `yaml:"require_auth"`
	// Pprof serves the Go runtime's profiles (CPU, heap, goroutines…) at
	// GET /debug/pprof/{profile} to admin tokens. Default off: 501.
	Pprof bool `yaml:"pprof"`
}

// metricsNeedAuth resolves metrics.require_auth: as configured, else on
// for any address but a loopback one.
func (c Config) metricsNeedAuth() bool {
	if c.Metrics.RequireAuth != nil {
		return *c.Metrics.RequireAuth
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return true
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

type policyOverlay struct {
	MaxLifetime    *steward.Duration `yaml:"max_lifetime"`
	RotationPeriod *steward.Duration `yaml:"rotation_period"`
	Dormancy       *steward.Duration `yaml:"dormancy"`
	OrphanGrace    *steward.Duration `yaml:"orphan_grace"`
}

func defaultConfig() Config {
	return Config{Addr: "127.0.0.1:8080", DataDir: "./steward-data", LogLevel: "info", LogFormat: logAuto, RateLimit: 1000,
		ShutdownTimeout: steward.Duration(30 * time.Second), DefaultSensitivity: "medium"}
}

// configKeys maps each key to its flag name and environment variable.
var configKeys = []struct{ key, flag, env string }{
	{"addr", "addr", "STEWARD_ADDR"},
	{"data_dir", "data-dir", "STEWARD_DATA_DIR"},
	{"db", "db", "STEWARD_DB"},
	{"tls_cert", "tls-cert", "STEWARD_TLS_CERT"},
	{"tls_key", "tls-key", "STEWARD_TLS_KEY"},
	{"log_level", "log-level", "STEWARD_LOG_LEVEL"},
	{"log_format", "log-format", "STEWARD_LOG_FORMAT"},
	{"rate_limit", "rate-limit", "STEWARD_RATE_LIMIT"},
	{"shutdown_timeout", "shutdown-timeout", "STEWARD_SHUTDOWN_TIMEOUT"},
	{"default_sensitivity", "default-sensitivity", "STEWARD_DEFAULT_SENSITIVITY"},
	{"demo", "demo", "STEWARD_DEMO"},
}

// loadConfig reads the config file (path, or steward.yaml in the working
// directory when it exists), then the environment, then the flags set on fs.
func loadConfig(path string, getenv func(string) string, flags *pflag.FlagSet) (Config, error) {
	c := defaultConfig()
	explicit := path != ""
	if !explicit {
		path = "steward.yaml"
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, configFileError(path, err)
		}
		c.file = path
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	default:
		return c, &problem{fmt.Sprintf("config file %s cannot be read (%v)", path, errors.Unwrap(err)),
			"fix the path given with --config / STEWARD_CONFIG, or make the file readable by this user", err}
	}
	for _, k := range configKeys {
		v := getenv(k.env)
		if fl := flags.Lookup(k.flag); fl != nil && fl.Changed {
			v = fl.Value.String()
		} else if v == "" {
			continue
		}
		if err := c.set(k.key, v); err != nil {
			src := k.env
			if fl := flags.Lookup(k.flag); fl != nil && fl.Changed {
				src = "--" + k.flag
			}
			return c, fmt.Errorf("config %s (%s): %w", k.key, src, err)
		}
	}
	return c, c.validate()
}

func yamlMessage(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "yaml: ")
}

func (c *Config) set(key, v string) error {
	switch key {
	case "addr":
		c.Addr = v
	case "data_dir":
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("is empty: name the directory of the embedded SQLite database")
		}
		c.DataDir = v
	case "db":
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("is empty: give a postgres:// URL, or leave it out to use the embedded SQLite database in data_dir")
		}
		c.DB = v
	case "tls_cert":
		c.TLSCert = v
	case "tls_key":
		c.TLSKey = v
	case "log_level":
		c.LogLevel = v
	case "log_format":
		c.LogFormat = v
	case "rate_limit":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		c.RateLimit = f
	case "shutdown_timeout":
		d, err := steward.ParseDuration(v)
		if err != nil {
			return err
		}
		c.ShutdownTimeout = d
	case "default_sensitivity":
		c.DefaultSensitivity = v
	case "demo":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		c.Demo = b
	}
	return nil
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("config addr: %q is not HOST:PORT", c.Addr)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.LogFormat != logAuto && c.LogFormat != logJSON && c.LogFormat != logText {
		return fmt.Errorf("config log_format: %q is not auto, json or text", c.LogFormat)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("config tls_cert/tls_key: give both or neither")
	}
	if c.RateLimit < 0 || math.IsNaN(c.RateLimit) {
		return fmt.Errorf("config rate_limit: must be a number, not negative")
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("config shutdown_timeout: must be positive")
	}
	if !steward.ValidSensitivity(steward.Sensitivity(c.DefaultSensitivity)) {
		return fmt.Errorf("config default_sensitivity: %q is not one of critical, high, medium, low", c.DefaultSensitivity)
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return fmt.Errorf("config db: %q is not a postgres:// URL (use data_dir for SQLite)", redactURL(c.DB))
	}
	if err := c.Rotation.Schedule.validate(); err != nil {
		return err
	}
	_, err := c.lifecyclePolicy()
	return err
}

// lifecyclePolicy returns the default policy with the file's overrides.
func (c *Config) lifecyclePolicy() (steward.Policy, error) {
	p := steward.DefaultPolicy()
	for tier, o := range c.Policy {
		s := steward.Sensitivity(tier)
		if !steward.ValidSensitivity(s) {
			return nil, fmt.Errorf("config policy.%s: not a sensitivity tier (critical, high, medium, low)", tier)
		}
		tp := p[s]
		if o.MaxLifetime != nil {
			tp.MaxLifetime = *o.MaxLifetime
		}
		if o.RotationPeriod != nil {
			tp.RotationPeriod = *o.RotationPeriod
		}
		if o.Dormancy != nil {
			tp.Dormancy = *o.Dormancy
		}
		if o.OrphanGrace != nil {
			tp.OrphanGrace = *o.OrphanGrace
		}
		p[s] = tp
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("config %w", err)
	}
	return p, nil
}

// redactURL hides a password in a database URL.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			cred := rest[:at]
			if u, _, ok := strings.Cut(cred, ":"); ok {
				return s[:i+3] + u + ":****@" + rest[at+1:]
			}
		}
	}
	return s
}
