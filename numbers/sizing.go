package numbers

import (
	"math"
	"time"
)

// TargetBlocking is the share of visitors a pool may turn away to its
// fallback number at the busy hour when EstimateSize sizes it.
const TargetBlocking = 0.01

// maxSize bounds the search in PoolSize, so absurd input cannot loop for long.
const maxSize = 1 << 20

// Sizing is a pool size estimate from observed busy-hour traffic.
type Sizing struct {
	// Concurrency is the mean number of leases held at once, by Little's
	// law: arrival rate times mean holding time (in Erlangs).
	Concurrency float64
	// Size is the smallest pool that turns away at most TargetBlocking of
	// visitors, by Erlang B.
	Size int
	// Blocking is the share of visitors turned away with Size numbers.
	Blocking float64
}

// EstimateSize sizes a pool from the claims per hour at the busy hour and
// the mean time a lease is held (the visitor's activity plus the
// reservation time). Leases are the "calls" of Erlang's model: a visitor who
// finds every number held is lost to the fallback number, not queued.
func EstimateSize(claimsPerHour float64, hold time.Duration) Sizing {
	a := claimsPerHour * hold.Hours()
	if !(a > 0) || math.IsInf(a, 0) {
		return Sizing{}
	}
	n := PoolSize(a, TargetBlocking)
	return Sizing{Concurrency: a, Size: n, Blocking: ErlangB(n, a)}
}

// ErlangB returns the probability that an arrival finds all n servers busy
// when a Erlangs of traffic are offered, by the recursion
// B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)), which stays within [0, 1] and
// neither overflows nor loses precision the way the factorial form does.
func ErlangB(n int, a float64) float64 {
	b := 1.0
	for k := 1; k <= n; k++ {
		ab := a * b
		b = ab / (float64(k) + ab)
	}
	return b
}

// PoolSize returns the smallest n for which ErlangB(n, a) <= blocking. It
// returns 0 when no traffic is offered, and caps the answer at 2^20.
func PoolSize(a, blocking float64) int {
	if !(a > 0) || !(blocking > 0) {
		return 0
	}
	b := 1.0
	for k := 1; k < maxSize; k++ {
		ab := a * b
		b = ab / (float64(k) + ab)
		if b <= blocking {
			return k
		}
	}
	return maxSize
}
