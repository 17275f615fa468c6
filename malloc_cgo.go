//go:build linux && cgo

package main

/*
#include <malloc.h>

// tune_malloc bounds what the C allocator keeps of pebble's allocations
// outside the Go heap (block cache, memtables, zstd's contexts): at most
// two arenas rather than one for each thread that happened to call into C
// (up to 8 a core, each keeping what was freed in it), and allocations of
// 128 KiB and more mapped on their own and unmapped when freed, rather
// than the threshold rising to the largest block freed so far (a 4 MiB
// memtable) and such blocks staying in the arenas. musl has neither knob.
static void tune_malloc(void) {
#ifdef M_ARENA_MAX
	mallopt(M_ARENA_MAX, 2);
#endif
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}
*/
import "C"

// tuneCAllocator sets the C allocator's arenas and mapping threshold
// (tune_malloc) before the store allocates anything in C.
func tuneCAllocator() { C.tune_malloc() }
