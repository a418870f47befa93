package scan

import (
	re2 "github.com/wasilibs/go-re2"
)

// defaultCompile compiles rule regexes. Rules are written in the RE2 syntax
// that both Go's regexp and go-re2 accept.
var defaultCompile = compileStd

func compileRE2(expr string) (matcher, error) { return re2.Compile(expr) }

// WithRE2 runs rule regexes on go-re2 instead of the standard library.
func WithRE2() DetectorOption {
	return func(c *detectorConfig) { c.compile = compileRE2 }
}

// WithStdRegexp runs rule regexes on the standard library's regexp.
func WithStdRegexp() DetectorOption {
	return func(c *detectorConfig) { c.compile = compileStd }
}
