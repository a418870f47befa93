package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/steward-nhi/steward"
)

func discoveryRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/api/v1/discovery/reports", Summary: "Upload a scan report (fingerprints and locations, never secrets); links each to the inventory",
			Roles: writers, Request: "DiscoveryReport", Reply: "DiscoverySummary", Status: 200, Needs: CapDiscovery, handler: (*Server).handleDiscoveryReport},
		{Method: "GET", Path: "/api/v1/discovery", Summary: "Secrets found in code and pipelines, linked to identities",
			Roles: staff, Own: true, Query: []string{"identity_id", "fingerprint", "repository", "managed", "status", "limit", "cursor"},
			Reply: "SightingPage", Status: 200, Needs: CapDiscovery, handler: (*Server).handleListSightings},
	}
}

func discoverySchemas() map[string]any {
	item := object(obj{"rule": str(), "repository": str(), "file": str(), "line": obj{"type": "integer"}, "column": obj{"type": "integer"},
		"commit": str(), "author": str(), "email": str(), "date": timeT(), "context": str(), "severity": str(),
		"fingerprint": obj{"type": "string", "description": "lowercase SHA-256 hex of the secret"}, "owner_hint": str()}, "rule", "fingerprint")
	sighting := object(obj{"id": str(), "fingerprint": str(), "rule": str(), "source": str(), "repository": str(), "file": str(),
		"line": obj{"type": "integer"}, "commit": str(), "managed": obj{"type": "boolean"}, "credential_id": str(), "identity_id": str(),
		"suggested_owner": str(), "status": str(), "first_seen": timeT(), "last_seen": timeT(), "occurrences": obj{"type": "integer"}})
	return obj{
		"DiscoveryReport":  object(obj{"source": str(), "repository": str(), "findings": arr(item)}, "findings"),
		"DiscoverySummary": object(obj{"findings": obj{"type": "integer"}, "duplicates": obj{"type": "integer"}, "new": obj{"type": "integer"}, "managed_leaks": obj{"type": "integer"}, "unmanaged": obj{"type": "integer"}, "identities_created": obj{"type": "integer"}, "auto_revoked": obj{"type": "integer"}}),
		"Sighting":         sighting,
		"SightingPage":     page("Sighting"),
	}
}

func (s *Server) handleDiscoveryReport() http.Handler {
	return bulkJSON(func(r *http.Request, rep steward.DiscoveryReport) (*steward.DiscoverySummary, error) {
		return s.Discovery.Ingest(r.Context(), &rep)
	})
}

func sightingFilter(r *http.Request) (steward.SightingFilter, error) {
	q := newQuery(r)
	f := steward.SightingFilter{IdentityID: q.str("identity_id"), Fingerprint: q.str("fingerprint"), Repository: q.str("repository"),
		Status: q.str("status"), Cursor: q.str("cursor")}
	if m := q.str("managed"); m != "" {
		b, err := strconv.ParseBool(m)
		if err != nil {
			return f, steward.FieldError("managed", "must be true or false, not %q", m)
		}
		f.Managed = &b
	}
	f.Limit = q.int("limit")
	return f, q.done()
}

func (s *Server) handleListSightings() http.Handler {
	return filtered(sightingFilter, s.Discovery.ListSightings)
}

// DiscoveryParser parses another scanner's report (gitleaks, trufflehog,
// github-secret-scanning) for POST /api/v1/import/{format}.
type DiscoveryParser func(format string, body []byte) (*steward.DiscoveryReport, []steward.RecordError, error)

// importDiscovery serves an import whose format is a scanner report.
func (s *Server) importDiscovery(w http.ResponseWriter, r *http.Request, format string, partial bool) {
	// The import route is core; only this format needs discovery.
	if !s.has(CapDiscovery) {
		Error(w, r, notEnabled(CapDiscovery))
		return
	}
	b, err := readBody(w, r, MaxImportBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			Error(w, r, mbe)
			return
		}
		Error(w, r, steward.Errorf(steward.EINVALID, "read body: %s", err.Error()))
		return
	}
	rep, bad, err := s.ParseDiscovery(format, b)
	if err != nil {
		Error(w, r, err)
		return
	}
	if len(bad) > 0 && !partial {
		writeProblem(w, r, steward.FieldError("file", "record %d: %s; %d bad record(s), nothing imported (use partial to import the good ones)", bad[0].Record, bad[0].Message, max(len(bad), rep.Rejected)), bad)
		return
	}
	sum, err := s.Discovery.Ingest(r.Context(), rep)
	if err != nil {
		Error(w, r, err)
		return
	}
	reply(w, http.StatusOK, map[string]any{"format": format, "records": len(rep.Items) + max(len(bad), rep.Rejected), "rejected": max(len(bad), rep.Rejected), "errors": bad, "discovery": sum})
}
