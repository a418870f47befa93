package main

import (
	"bytes"
	"log/slog"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/discovery"
	"github.com/steward-nhi/steward/sqlstore"
)

// discoveryConfig is the discovery section of steward.yaml.
type discoveryConfig struct {
	// AutoRevoke revokes a Steward-issued credential as soon as a scan
	// finds it in code (reason incident).
	AutoRevoke bool `yaml:"auto_revoke"`
	// Sensitivity of identities created for unmanaged secrets.
	Sensitivity string `yaml:"sensitivity"`
}

// newDiscovery builds the service that links scanner reports to the
// inventory.
func newDiscovery(c discoveryConfig, store *sqlstore.Store, log *slog.Logger) (*discovery.Service, error) {
	d := discovery.New(store, nil, log)
	d.AutoRevoke = c.AutoRevoke
	if s := c.Sensitivity; s != "" {
		if !steward.ValidSensitivity(steward.Sensitivity(s)) {
			return nil, steward.FieldError("discovery.sensitivity", "%q is not one of critical, high, medium, low", s)
		}
		d.Sensitivity = steward.Sensitivity(s)
	}
	return d, nil
}

// parseDiscovery reads another scanner's report for the import route.
func parseDiscovery(format string, body []byte) (*steward.DiscoveryReport, []steward.RecordError, error) {
	return discovery.Parse(format, bytes.NewReader(body))
}
