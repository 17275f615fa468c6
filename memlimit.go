package main

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"appliance/store"
)

// MinMemoryLimit is the least soft memory limit serve sets by default.
const MinMemoryLimit = 64 << 20

// DefaultMemoryLimit is serve's soft limit of the Go runtime's memory when
// --memory-limit is auto: a 16th of the machine's memory (or of the
// container's limit), at least MinMemoryLimit. Without one the Go heap
// grows to twice what it holds live before it collects: at load, 16 pools
// of 5,000 numbers keep ~57 MB live and the heap reached 106 MB (RSS
// 167-177 MB, TestPoolLoad). With the limit the collector runs sooner as
// the heap nears it, so a small VPS stays small (1 GiB: 64 MiB); on a
// larger machine the limit is far above what serve uses and changes
// nothing. It is soft: when the live heap alone is above it, the runtime
// lets the heap grow rather than spend more than half the CPU collecting.
func DefaultMemoryLimit() int64 { return max(store.MachineMemory()/16, MinMemoryLimit) }

// memoryLimitFlag adds --memory-limit to cmd.
func memoryLimitFlag(cmd *cobra.Command, s *byteSize) {
	cmd.Flags().Var(s, "memory-limit", "soft limit of the Go runtime's memory, e.g. 128M; 0 or auto, the default: a 16th of the machine's memory (or of the container's limit), at least 64M; GOMEMLIMIT, when set, wins (env APPLIANCE_MEMORY_LIMIT)")
}

// setMemoryLimit applies --memory-limit unless GOMEMLIMIT is set (the
// runtime has applied that one) and returns the limit in force.
func setMemoryLimit(s byteSize) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	limit := int64(s)
	if limit <= 0 {
		limit = DefaultMemoryLimit()
	}
	debug.SetMemoryLimit(limit)
	return limit
}
