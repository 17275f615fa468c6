package numbers

import (
	"fmt"
	"slices"
	"testing"
)

func TestList(t *testing.T) {
	for _, ss := range [][]string{nil, {""}, {"a", "", "bc"}, testNumbers(5000)} {
		l := ListOf(ss...)
		if got, want := l.Len(), len(ss); got != want {
			t.Fatalf("Len %d, want %d", got, want)
		}
		for i, s := range ss {
			if got := l.At(i); got != s {
				t.Fatalf("At(%d) = %q, want %q", i, got, s)
			}
		}
		if got := l.Strings(); !slices.Equal(got, ss) && len(ss) > 0 {
			t.Fatalf("Strings %q, want %q", got, ss)
		}
		if !l.Equal(ListOf(ss...)) {
			t.Fatalf("%q not equal to itself", ss)
		}
	}
	if ListOf("ab", "c").Equal(ListOf("a", "bc")) {
		t.Fatal("ab,c equal to a,bc")
	}
	var b ListBuilder
	b.AddBytes([]byte("x1"))
	b.Add("y")
	if got := b.List().Strings(); !slices.Equal(got, []string{"x1", "y"}) {
		t.Fatalf("built %q", got)
	}
}

// The pool finds each of its numbers' slots, and no other number's; a
// duplicate keeps the first slot.
func TestPoolSlot(t *testing.T) {
	for _, n := range []int{1, 2, 7, 100, 5000} {
		nums := testNumbers(n)
		p := NewPool(1, append(slices.Clone(nums), nums[0], nums[n-1]), DefaultReserve)
		if got := p.Size(); got != n {
			t.Fatalf("%d numbers and 2 duplicates: size %d", n, got)
		}
		for i, s := range nums {
			if got := p.Slot(s); got != i {
				t.Fatalf("Slot(%s) = %d, want %d", s, got, i)
			}
			if got := p.Number(i); got != s {
				t.Fatalf("Number(%d) = %s, want %s", i, got, s)
			}
		}
		for _, s := range []string{"", "7", nums[0] + "0", fmt.Sprint(n)} {
			if got := p.Slot(s); got != -1 {
				t.Fatalf("Slot(%q) = %d, want -1", s, got)
			}
		}
	}
}
