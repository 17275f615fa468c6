//go:build race

package sites

// raceEnabled: the race detector is on, and sync.Pool drops what is put
// in it at random, so pooled signers are built again.
const raceEnabled = true
