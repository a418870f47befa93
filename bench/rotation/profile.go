package main

import (
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
)

// profile starts the requested profiles; stop writes them.
func profile(cpu, mutex, block string) (stop func() error, err error) {
	var f *os.File
	if cpu != "" {
		if f, err = os.Create(cpu); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
	}
	if mutex != "" {
		runtime.SetMutexProfileFraction(1)
	}
	if block != "" {
		runtime.SetBlockProfileRate(int(1e5)) // one sample per 100 µs blocked
	}
	write := func(name, path string) error {
		if path == "" {
			return nil
		}
		out, err := os.Create(path)
		if err != nil {
			return err
		}
		return errors.Join(pprof.Lookup(name).WriteTo(out, 0), out.Close())
	}
	return func() error {
		var errs []error
		if f != nil {
			pprof.StopCPUProfile()
			errs = append(errs, f.Close())
		}
		errs = append(errs, write("mutex", mutex), write("block", block))
		return errors.Join(errs...)
	}, nil
}
