package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/steward-nhi/steward"
)

// statusOf maps domain error codes to HTTP statuses: the one table.
var statusOf = map[string]int{
	steward.EINVALID:        http.StatusBadRequest,
	steward.EUNAUTHORIZED:   http.StatusUnauthorized,
	steward.EFORBIDDEN:      http.StatusForbidden,
	steward.ENOTFOUND:       http.StatusNotFound,
	steward.ECONFLICT:       http.StatusConflict,
	steward.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	steward.ERATELIMIT:      http.StatusTooManyRequests,
	steward.ENOTIMPLEMENTED: http.StatusNotImplemented,
	steward.EINTERNAL:       http.StatusInternalServerError,
}

var titleOf = map[int]string{
	http.StatusBadRequest:            "Invalid request",
	http.StatusUnauthorized:          "Authentication required",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "Not found",
	http.StatusMethodNotAllowed:      "Method not allowed",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "Request body too large",
	http.StatusUnsupportedMediaType:  "Unsupported media type",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusNotImplemented:        "Not implemented",
	http.StatusInternalServerError:   "Internal server error",
	http.StatusServiceUnavailable:    "Service unavailable",
}

// Problem is an RFC 9457 problem details object, with Steward's extensions:
// the field at fault, the request id, and per-record errors of imports.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code,omitempty"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Errors    any    `json:"errors,omitempty"`
}

// problemType is the URI of a problem type, one per domain code.
func problemType(code string) string { return "urn:steward:problem:" + code }

// Error writes err as problem+json. Internal errors are logged and their
// details withheld from the caller.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, r, err, nil)
}

func writeProblem(w http.ResponseWriter, r *http.Request, err error, extra any) {
	code := steward.ErrorCode(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code = steward.ETOOLARGE
		err = steward.Errorf(steward.ETOOLARGE, "request body is larger than the limit of %d bytes", mbe.Limit)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusInternalServerError {
		if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
			// The client went away; nothing to report.
			logOf(r.Context()).DebugContext(r.Context(), "request canceled", "method", r.Method, "path", r.URL.Path)
		} else {
			logOf(r.Context()).ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path)
		}
	}
	p := Problem{Type: problemType(code), Title: titleOf[status], Status: status, Detail: steward.ErrorMessage(err),
		Instance: r.URL.Path, Code: code, Field: steward.ErrorField(err), RequestID: RequestID(r.Context()), Errors: extra}
	writeProblemJSON(w, p)
}

type loggerKey struct{}

// withLogger returns ctx carrying the server's logger, which Error uses.
func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

var discard = slog.New(slog.DiscardHandler)

// logOf returns the server's logger carried by ctx (a request outside the
// server's middleware logs nowhere).
func logOf(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return discard
}

// statusProblem writes a problem for a status that has no domain code.
func statusProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	writeProblemJSON(w, Problem{Type: "about:blank", Title: titleOf[status], Status: status, Detail: detail, Instance: r.URL.Path, RequestID: RequestID(r.Context())})
}

func writeProblemJSON(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="steward"`)
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// ProblemError is a problem+json response read by the client.
type ProblemError struct {
	Problem
}

func (e *ProblemError) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	if e.Field != "" && !strings.HasPrefix(msg, e.Field) {
		msg = fmt.Sprintf("%s: %s", e.Field, msg)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}
