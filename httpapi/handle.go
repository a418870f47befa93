package httpapi

import (
	"context"
	"net/http"
	"regexp"

	"github.com/steward-nhi/steward"
)

// Capability names a part of the server that may be switched off. A route
// declares the one it needs (Route.Needs); routes() answers 501 for it, in
// the route's error style, while the capability is not configured, so
// handlers never check their dependency themselves.
type Capability string

// Capabilities that routes may need.
const (
	CapAudit     Capability = "audit"
	CapBroker    Capability = "broker"
	CapAuthz     Capability = "authz"
	CapPosture   Capability = "posture"
	CapDiscovery Capability = "discovery"
	CapAlerts    Capability = "alerts"
	// CapFederation: trusted issuers, bindings, token exchange.
	CapFederation Capability = "federation"
	CapCustody    Capability = "custody"
	CapRotation   Capability = "rotation"
	CapMCP        Capability = "mcp"
)

// has reports whether capability c is configured ("" is the core).
func (s *Server) has(c Capability) bool {
	switch c {
	case CapAudit:
		return s.Audit != nil
	case CapBroker:
		return s.Broker != nil
	case CapAuthz:
		return s.Authz != nil
	case CapPosture:
		return s.Posture != nil
	case CapDiscovery:
		return s.Discovery != nil
	case CapAlerts:
		return s.Alerts != nil
	case CapFederation:
		return s.Federation != nil
	case CapCustody:
		return s.Custody != nil
	case CapRotation:
		return s.Rotation != nil
	case CapMCP:
		return s.MCP != nil
	case CapPprof:
		return s.Pprof
	}
	return true
}

// ErrorStyle is how a route writes its errors.
type ErrorStyle int

// Error styles.
const (
	ProblemErrors ErrorStyle = iota // RFC 9457 problem+json (the default)
	OAuthErrors                     // RFC 6749 §5.2
	SCIMErrors                      // RFC 7644 §3.12
)

// fail writes err in the route's error style.
func (st ErrorStyle) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch st {
	case OAuthErrors:
		oauthError(w, err)
	case SCIMErrors:
		scimFail(w, err)
	default:
		Error(w, r, err)
	}
}

var wildcardRE = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

// wrap puts the edge checks shared by every route around rt's handler: 501
// while its capability is off, then clean text in the path and query.
func (s *Server) wrap(rt Route) http.Handler {
	if !s.has(rt.Needs) {
		err := notEnabled(rt.Needs)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rt.Errors.fail(w, r, err) })
	}
	h := rt.handler(s)
	var params []string
	for _, m := range wildcardRE.FindAllStringSubmatch(rt.Path, -1) {
		params = append(params, m[1])
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkRequestText(r, params); err != nil {
			rt.Errors.fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// none is the request type of a handler that reads no body.
type none struct{}

// jsonHandler decodes a JSON body into Req (none: no body is read), calls
// fn, and answers its result as JSON with status, or its error as
// problem+json: the decode/call/encode/error ceremony written once.
func jsonHandler[Req, Resp any](status int, fn func(r *http.Request, in Req) (Resp, error)) http.Handler {
	return serveJSON(status, false, MaxBodyBytes, fn, nil)
}

// bulkJSON is jsonHandler for bodies up to MaxImportBytes (reports).
func bulkJSON[Req, Resp any](fn func(r *http.Request, in Req) (Resp, error)) http.Handler {
	return serveJSON(http.StatusOK, false, MaxImportBytes, fn, nil)
}

// optionalJSON is jsonHandler for a body that may be left out (Req stays
// its zero value).
func optionalJSON[Req, Resp any](status int, fn func(r *http.Request, in Req) (Resp, error)) http.Handler {
	return serveJSON(status, true, MaxBodyBytes, fn, nil)
}

// createdJSON is jsonHandler answering 201 with a Location header.
func createdJSON[Req, Resp any](fn func(r *http.Request, in Req) (Resp, error), location func(Resp) string) http.Handler {
	return serveJSON(http.StatusCreated, false, MaxBodyBytes, fn, location)
}

// noBody answers fn's result with status; the request body is not read.
func noBody[Resp any](status int, fn func(r *http.Request) (Resp, error)) http.Handler {
	return serveJSON(status, true, 0, func(r *http.Request, _ none) (Resp, error) { return fn(r) }, nil)
}

// getByID answers GET of the resource named by the path's {id}.
func getByID[Resp any](fn func(ctx context.Context, id string) (Resp, error)) http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (Resp, error) { return fn(r.Context(), r.PathValue("id")) })
}

// actOnID decodes Req (optional: it may be left out) and applies fn to the
// resource named by the path's {id}.
func actOnID[Req, Resp any](status int, optional bool, fn func(ctx context.Context, id string, in Req) (Resp, error)) http.Handler {
	return serveJSON(status, optional, MaxBodyBytes, func(r *http.Request, in Req) (Resp, error) { return fn(r.Context(), r.PathValue("id"), in) }, nil)
}

// filtered answers a GET whose query is read by parse into a filter F.
func filtered[F, Resp any](parse func(*http.Request) (F, error), fn func(ctx context.Context, f F) (Resp, error)) http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (Resp, error) {
		f, err := parse(r)
		if err != nil {
			var zero Resp
			return zero, err
		}
		return fn(r.Context(), f)
	})
}

// noContent answers 204 once fn has acted on the path's {id}.
func noContent(fn func(r *http.Request, id string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(r, r.PathValue("id")); err != nil {
			Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// serveJSON is the one JSON handler: a body of at most limit bytes.
func serveJSON[Req, Resp any](status int, optional bool, limit int64, fn func(r *http.Request, in Req) (Resp, error), location func(Resp) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in Req
		if _, skip := any(in).(none); !skip && !(optional && r.ContentLength == 0) {
			if err := decodeLimit(w, r, &in, limit); err != nil {
				Error(w, r, err)
				return
			}
		}
		out, err := fn(r, in)
		if err != nil {
			Error(w, r, err)
			return
		}
		if location != nil {
			w.Header().Set("Location", location(out))
		}
		reply(w, status, out)
	})
}

// itemList is the {"items": [...]} envelope of an unpaged list.
type itemList[T any] struct {
	Items []T `json:"items"`
}

// items wraps a list result in its envelope.
func items[T any](v []T, err error) (itemList[T], error) { return itemList[T]{Items: v}, err }

// notEnabled is the error of a route whose capability is off.
func notEnabled(c Capability) error {
	if c == CapPprof {
		return steward.Errorf(steward.ENOTIMPLEMENTED, "profiling is not enabled on this server (set metrics.pprof: true in steward.yaml)")
	}
	return steward.Errorf(steward.ENOTIMPLEMENTED, "the %s capability is not enabled on this server", c)
}
