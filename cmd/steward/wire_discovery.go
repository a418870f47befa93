package main

import (
	"bytes"
	"context"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/discovery"
)

// discoveryConfig is the discovery section of steward.yaml.
type discoveryConfig struct {
	// AutoRevoke revokes a Steward-issued credential as soon as a scan
	// finds it in code (reason incident).
	AutoRevoke bool `yaml:"auto_revoke"`
	// Sensitivity of identities created for unmanaged secrets.
	Sensitivity string `yaml:"sensitivity"`
}

// wireDiscovery links scanner reports to the inventory.
func wireDiscovery(ctx context.Context, x *serverContext) error {
	d := discovery.New(x.store, nil, x.log)
	d.AutoRevoke = x.cfg.Discovery.AutoRevoke
	if s := x.cfg.Discovery.Sensitivity; s != "" {
		if !steward.ValidSensitivity(steward.Sensitivity(s)) {
			return steward.FieldError("discovery.sensitivity", "%q is not one of critical, high, medium, low", s)
		}
		d.Sensitivity = steward.Sensitivity(s)
	}
	x.discovery = d
	x.deps.Discovery = d
	x.deps.IsDiscoveryFormat = discovery.IsFormat
	x.deps.ParseDiscovery = func(format string, body []byte) (*steward.DiscoveryReport, []steward.RecordError, error) {
		return discovery.Parse(format, bytes.NewReader(body))
	}
	return nil
}
