package numbers

import (
	"hash/maphash"
	"math/bits"
	"strings"
)

// List is a list of short strings (a pool's numbers, their written forms)
// kept in one string: 4 bytes a string beside its bytes, where a []string
// costs 16 and an allocation of each string's bytes, and one object for
// the garbage collector where a []string holds a pointer per string. A
// server holds tens of thousands of pool numbers (issue 15: RSS with 16
// pools of 5,000). The zero List is empty; a List is immutable and safe
// for concurrent use.
type List struct {
	s    string
	ends []uint32 // ends[i] is where string i ends in s; it starts where i-1 ends
}

// ListOf returns a List of ss.
func ListOf(ss ...string) List {
	var b ListBuilder
	b.Grow(len(ss), 0)
	for _, s := range ss {
		b.Add(s)
	}
	return b.List()
}

// Len returns the number of strings in l.
func (l List) Len() int { return len(l.ends) }

// At returns string i of l; it aliases l's one string and allocates
// nothing.
func (l List) At(i int) string {
	lo := uint32(0)
	if i > 0 {
		lo = l.ends[i-1]
	}
	return l.s[lo:l.ends[i]]
}

// Strings returns l as a []string; the strings alias l.
func (l List) Strings() []string {
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

// Equal reports whether l and m hold the same strings in the same order.
func (l List) Equal(m List) bool {
	if len(l.ends) != len(m.ends) || l.s != m.s {
		return false
	}
	for i := range l.ends {
		if l.ends[i] != m.ends[i] {
			return false
		}
	}
	return true
}

// ListBuilder makes a List. Its zero value is ready to use.
type ListBuilder struct {
	b    strings.Builder
	ends []uint32
}

// Grow makes room for n more strings of size bytes in all.
func (b *ListBuilder) Grow(n, size int) {
	b.b.Grow(size)
	if cap(b.ends)-len(b.ends) < n {
		ends := make([]uint32, len(b.ends), len(b.ends)+n)
		copy(ends, b.ends)
		b.ends = ends
	}
}

// Add appends s to the list; it panics when the list passes 4 GiB.
func (b *ListBuilder) Add(s string) {
	b.b.WriteString(s)
	if b.b.Len() > 1<<32-1 {
		panic("numbers: list too long")
	}
	b.ends = append(b.ends, uint32(b.b.Len()))
}

// AddBytes appends the string of p to the list.
func (b *ListBuilder) AddBytes(p []byte) {
	b.b.Write(p)
	if b.b.Len() > 1<<32-1 {
		panic("numbers: list too long")
	}
	b.ends = append(b.ends, uint32(b.b.Len()))
}

// List returns the list built; the builder must not be used after.
func (b *ListBuilder) List() List {
	l := List{s: b.b.String(), ends: b.ends}
	if cap(l.ends) > len(l.ends) {
		l.ends = append([]uint32(nil), l.ends...)
	}
	*b = ListBuilder{}
	return l
}

// listIndex finds a string's place in a List: an open-addressing table of
// place+1 (0: empty), at least a third empty, keyed by a hash of the
// string's bytes and checked against the list. At 5,000 numbers it is
// 8,192 int32s, 6.5 bytes a number where a map[string]int took ~41.
type listIndex struct {
	seed  maphash.Seed
	table []int32
}

// newListIndex indexes l; when a string is in l twice, the first place
// is indexed and dups lists the others, in order.
func newListIndex(l List) (x listIndex, dups []int) {
	n := l.Len()
	x = listIndex{seed: maphash.MakeSeed(), table: make([]int32, 1<<bits.Len(uint(max(4, n+n/2)-1)))}
	mask := uint64(len(x.table) - 1)
	for i := range n {
		s := l.At(i)
		for j := maphash.String(x.seed, s) & mask; ; j = (j + 1) & mask {
			e := x.table[j]
			if e == 0 {
				x.table[j] = int32(i + 1)
				break
			}
			if l.At(int(e-1)) == s {
				dups = append(dups, i)
				break
			}
		}
	}
	return x, dups
}

// find returns the place of s in l, the List x indexes; -1 when s is not
// in it.
func (x *listIndex) find(l List, s string) int {
	if len(x.table) == 0 {
		return -1
	}
	mask := uint64(len(x.table) - 1)
	for j := maphash.String(x.seed, s) & mask; ; j = (j + 1) & mask {
		e := x.table[j]
		if e == 0 {
			return -1
		}
		if l.At(int(e-1)) == s {
			return int(e - 1)
		}
	}
}
