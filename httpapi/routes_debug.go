package httpapi

import (
	"net/http"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// CapPprof serves the Go runtime's profiles to admins (config
// metrics.pprof); off by default.
const CapPprof Capability = "pprof"

// Profile durations of GET /debug/pprof/{profile}?seconds= (cpu, trace).
const (
	defaultProfileSeconds = 30
	maxProfileSeconds     = 120
)

func debugRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/debug/pprof/{profile}", Summary: "A Go runtime profile in pprof format (profile: the CPU for `seconds`, trace, heap, allocs, goroutine, block, mutex, threadcreate); only when metrics.pprof is on",
			Roles: admins, Query: []string{"seconds", "debug", "gc"}, Status: 200, Needs: CapPprof, handler: (*Server).handlePprof},
	}
}

// handlePprof writes a profile with runtime/pprof directly: net/http/pprof
// would also register its handlers on http.DefaultServeMux.
func (s *Server) handlePprof() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("profile")
		q := r.URL.Query()
		debug, err := queryInt(q.Get("debug"), "debug", 0, 2, 0)
		if err != nil {
			Error(w, r, err)
			return
		}
		switch name {
		case "profile", "trace":
			secs, err := queryInt(q.Get("seconds"), "seconds", 1, maxProfileSeconds, defaultProfileSeconds)
			if err != nil {
				Error(w, r, err)
				return
			}
			start, stop := pprof.StartCPUProfile, pprof.StopCPUProfile
			if name == "trace" {
				start, stop = trace.Start, trace.Stop
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
			if err := start(w); err != nil {
				Error(w, r, steward.Errorf(steward.ECONFLICT, "a %s is already being recorded: %v", name, err))
				return
			}
			t := time.NewTimer(time.Duration(secs) * time.Second)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
			stop()
			return
		}
		p := pprof.Lookup(name)
		if p == nil {
			var known []string
			for _, p := range pprof.Profiles() {
				known = append(known, p.Name())
			}
			known = append(known, "profile", "trace")
			slices.Sort(known)
			e := steward.Errorf(steward.ENOTFOUND, "no profile %q: the profiles are %s", name, strings.Join(known, ", "))
			e.Field = "profile"
			Error(w, r, e)
			return
		}
		if q.Get("gc") == "1" && name == "heap" {
			runtime.GC()
		}
		if debug > 0 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		}
		_ = p.WriteTo(w, debug)
	})
}

// queryInt parses an integer query parameter within [lo, hi]; empty is def.
func queryInt(v, field string, lo, hi, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, steward.FieldError(field, "must be an integer from %d to %d, got %q", lo, hi, v)
	}
	return n, nil
}
