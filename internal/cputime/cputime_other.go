//go:build !unix

package cputime

import "time"

// Process is not measured here: benchmarks report 0.
func Process() time.Duration { return 0 }

// System is not measured either.
func System() time.Duration { return 0 }
