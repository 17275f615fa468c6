package store

import (
	"fmt"
	"math"
	"testing"
)

func TestMoney(t *testing.T) {
	for _, tt := range []struct {
		in   int64
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {100, "1.00"}, {999950, "9999.50"}, {-150, "-1.50"}, {-5, "-0.05"},
		{math.MaxInt64, "92233720368547758.07"}, {math.MinInt64, "-92233720368547758.08"},
	} {
		if got := Money(tt.in); got != tt.want {
			t.Errorf("Money(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzMoney(f *testing.F) {
	for _, v := range []int64{0, 1, 99, 100, -1, -101, math.MaxInt64, math.MinInt64 + 1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		if v == math.MinInt64 {
			return
		}
		a := v
		neg := ""
		if a < 0 {
			neg, a = "-", -a
		}
		if got, want := Money(v), fmt.Sprintf("%s%d.%02d", neg, a/100, a%100); got != want {
			t.Errorf("Money(%d) = %q, want %q", v, got, want)
		}
	})
}
