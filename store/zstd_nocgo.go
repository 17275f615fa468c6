//go:build !cgo || pebblegozstd

package store

// cgoZstd is false in a build without cgo (CGO_ENABLED=0, a static
// binary) or with the pebblegozstd tag: pebble's zstd is then the pure-Go
// one, which decompresses a block at 2.4 times the CPU of the C library's
// (BenchmarkPointRead, block-reads/op against cpu-ns/op in the two
// builds), so such a build keeps MinLZ on every level instead.
const cgoZstd = false
