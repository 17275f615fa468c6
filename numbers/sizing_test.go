package numbers

import (
	"math"
	"testing"
	"time"
)

func TestErlangB(t *testing.T) {
	for _, c := range []struct {
		n    int
		a    float64
		want float64
	}{
		{0, 3, 1},
		{1, 1, 0.5},
		{2, 1, 0.2},
		{10, 5, 0.018385},
		{10, 10, 0.214582},
		// Published 1% points of the Erlang B table.
		{10, 4.461, 0.0100},
		{15, 8.108, 0.0100},
		{20, 12.031, 0.0100},
		{50, 37.90, 0.0100},
		{100, 84.06, 0.0100},
	} {
		if got := ErlangB(c.n, c.a); math.Abs(got-c.want) > 5e-6+c.want*1e-3 {
			t.Errorf("ErlangB(%d, %v) = %.6f, want %.6f", c.n, c.a, got, c.want)
		}
	}
}

// Blocking probabilities as printed in Erlang B tables (to 4 decimals).
func TestErlangBTable(t *testing.T) {
	for _, c := range []struct {
		n    int
		a    float64
		want float64
	}{
		{3, 1, 0.0625},
		{4, 2, 0.0952},
		{5, 3, 0.1101},
		{7, 3, 0.0219},
		{10, 5, 0.0184},
		{20, 15, 0.0456},
		{30, 20, 0.0085},
	} {
		if got := ErlangB(c.n, c.a); math.Abs(got-c.want) > 5e-5 {
			t.Errorf("ErlangB(N=%d, A=%v) = %.5f, want %.4f", c.n, c.a, got, c.want)
		}
	}
}

func TestPoolSize(t *testing.T) {
	// Either side of the published 1% points: 4.461 Erlangs need 10 lines,
	// 8.108 need 15, 12.031 need 20, 84.06 need 100.
	for _, c := range []struct {
		a    float64
		want int
	}{
		{0, 0},
		{-1, 0},
		{math.NaN(), 0},
		{0.0101, 1},
		{0.0102, 2},
		{4.46, 10},
		{4.47, 11},
		{8.10, 15},
		{8.11, 16},
		{12.03, 20},
		{12.04, 21},
		{84.05, 100},
		{84.07, 101},
		{math.Inf(1), maxSize},
	} {
		if got := PoolSize(c.a, TargetBlocking); got != c.want {
			t.Errorf("PoolSize(%v, 1%%) = %d, want %d", c.a, got, c.want)
		}
	}
}

func TestEstimateSize(t *testing.T) {
	// 24 claims an hour, each held 25 minutes: 10 leases at once on average
	// (Little's law), 18 numbers for 1% blocking.
	s := EstimateSize(24, 25*time.Minute)
	if math.Abs(s.Concurrency-10) > 1e-9 || s.Size != 18 || s.Blocking > TargetBlocking || ErlangB(s.Size-1, 10) <= TargetBlocking {
		t.Fatalf("EstimateSize = %+v", s)
	}
	if got := EstimateSize(0, time.Hour); got != (Sizing{}) {
		t.Fatalf("no traffic: %+v", got)
	}
}
