package main

import "testing"

func TestByteSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"auto", 0, true},
		{"4096", 4096, true},
		{"512K", 512 << 10, true},
		{"64M", 64 << 20, true},
		{"64MB", 64 << 20, true},
		{"64MiB", 64 << 20, true},
		{"2g", 2 << 30, true},
		{" 1 G ", 1 << 30, true},
		{"", 0, false},
		{"M", 0, false},
		{"-1M", 0, false},
		{"1.5G", 0, false},
		{"10X", 0, false},
		{"99999999999T", 0, false},
	} {
		var s byteSize
		err := s.Set(c.in)
		if (err == nil) != c.ok || (c.ok && int64(s) != c.want) {
			t.Errorf("Set(%q) = %d, %v; want %d, ok %v", c.in, s, err, c.want, c.ok)
		}
	}
}

// FuzzByteSize: Set never panics, accepts no negative size, and what
// String prints sets the same size.
func FuzzByteSize(f *testing.F) {
	for _, s := range []string{"0", "auto", "64M", "1GiB", "512kb", "-3", "9223372036854775807", "1T"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var s byteSize
		if err := s.Set(in); err != nil {
			return
		}
		if s < 0 {
			t.Fatalf("Set(%q) = %d", in, s)
		}
		var back byteSize
		if err := back.Set(s.String()); err != nil || back != s {
			t.Fatalf("Set(%q) = %d prints %q, which sets %d (%v)", in, s, s.String(), back, err)
		}
	})
}
