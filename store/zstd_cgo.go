//go:build cgo && !pebblegozstd

package store

// cgoZstd: pebble compresses zstd blocks through the C library here (see
// zstd_nocgo.go for the other case).
const cgoZstd = true
