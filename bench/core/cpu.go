package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/steward-nhi/steward/sqlstore"
)

// CPU time spent on a phase, on both sides of the connection: the
// benchmark's own process (Steward's library code, the harness's share is
// small during a timed phase) and, for a PostgreSQL server on this
// machine, every backend of that server. Wall rates on a shared machine
// follow the load; CPU per unit of work does not, or far less.

// processCPU is this process's user plus system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's CPU times
// (100 on every architecture Go supports).
const clockTicks = 100

// serverCPU reads the CPU time of a local PostgreSQL server: its
// postmaster's exited children plus the live ones. ok is false when the
// server is not on this machine (or /proc is unreadable).
type serverCPU struct{ postmaster int }

// newServerCPU finds the postmaster of s's server through a backend's
// parent process.
func newServerCPU(ctx context.Context, s *sqlstore.Store) (*serverCPU, error) {
	var backend int
	if err := s.DB().QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return nil, err
	}
	f, err := procStat(backend)
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL server is not on this machine: %w", err)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return nil, fmt.Errorf("backend %d: parent %q", backend, f[1])
	}
	return &serverCPU{postmaster: ppid}, nil
}

// total is the server's CPU time so far: what its exited backends used
// (the postmaster's cutime and cstime) and what the live ones have used.
func (c *serverCPU) total() (time.Duration, error) {
	f, err := procStat(c.postmaster)
	if err != nil {
		return 0, err
	}
	ticks := field(f, 13) + field(f, 14) // cutime, cstime
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", c.postmaster, c.postmaster))
	if err != nil {
		return 0, err
	}
	for _, k := range strings.Fields(string(kids)) {
		pid, _ := strconv.Atoi(k)
		if kf, err := procStat(pid); err == nil {
			ticks += field(kf, 11) + field(kf, 12) // utime, stime
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// procStat is /proc/PID/stat's fields after the command name: [0] is the
// state, [1] the parent, [11] utime, [12] stime, [13] cutime, [14] cstime.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	return strings.Fields(s[end+1:]), nil
}

func field(f []string, k int) int64 {
	if k >= len(f) {
		return 0
	}
	n, _ := strconv.ParseInt(f[k], 10, 64)
	return n
}

// read is total, or 0 for no server (nil) or an unreadable one.
func (c *serverCPU) read() time.Duration {
	if c == nil {
		return 0
	}
	d, _ := c.total()
	return d
}

// perIdentity is d per identity in microseconds.
func perIdentity(d time.Duration, n int) float64 {
	return float64(d) / float64(time.Microsecond) / float64(n)
}
