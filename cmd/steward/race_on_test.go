//go:build race

package main

// raceEnabled reports a -race build: browser tests then run in the
// separate non-race pass of scripts/test instead (the race detector slows
// the in-process server several times over and makes them flaky).
const raceEnabled = true
