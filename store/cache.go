package store

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Block cache bounds: DefaultCacheSize is a 64th of the machine's memory
// (or of the cgroup's limit, in a container), at least MinCacheSize and at
// most MaxDefaultCacheSize. The cache holds decompressed blocks of the
// store's files, so a point read that finds its block there costs no read
// and no decompression. It takes memory only as it fills: on a store
// smaller than the cache, about the store's size.
//
// MaxDefaultCacheSize is a budget, not a share of the machine (it was
// 1 GiB, 377 MiB on a 24 GiB machine, where it would grow the server's RSS
// past issue 15's 100 MB as the store grows): BenchmarkPointRead, a
// returning visitor's session and visitor read from a 200,000-session store
// (28 MiB on disk) with serve's options, block reads and CPU per read at a
// cache of 8, 16, 32, 64, 384 MiB: 0.96, 0.78, 0.42, 0.02, 0.02 and 66-70,
// 54-59, 45-52, 25-33, 26-29 µs (load 18): 64 MiB holds that store's
// blocks, more buys nothing there. A larger store wants --cache-size.
const (
	MinCacheSize        = 16 << 20
	MaxDefaultCacheSize = 64 << 20
)

// DefaultCacheSize is the block cache size serve uses when none is given:
// a 64th of MachineMemory, between MinCacheSize and MaxDefaultCacheSize.
func DefaultCacheSize() int64 {
	return min(max(MachineMemory()/64, MinCacheSize), MaxDefaultCacheSize)
}

// MachineMemory is the memory this process may use: the cgroup's limit
// when one is set (a container), else the machine's total (MemTotal of
// /proc/meminfo); 1 GiB when neither can be read (not Linux).
func MachineMemory() int64 {
	total := memTotal()
	if lim := cgroupLimit(); lim > 0 && (total == 0 || lim < total) {
		return lim
	}
	if total > 0 {
		return total
	}
	return 1 << 30
}

// memTotal is MemTotal of /proc/meminfo in bytes, 0 when unknown.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		rest, ok := strings.CutPrefix(s.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// cgroupLimit is the memory limit of this process's cgroup (v2, then v1),
// 0 when there is none.
func cgroupLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		// "max" (v2) or a huge number (v1's unlimited) is no limit.
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0
		}
		return n
	}
	return 0
}
