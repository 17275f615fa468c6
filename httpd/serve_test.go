package httpd

import "testing"

func TestConnsForFileLimit(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   int
	}{
		{0, 0},                // unknown: defaultMaxConns
		{256, 128},            // half stays for the store
		{1024, 512},           //
		{20000, 20000 - 1088}, // room for the store's 1,000 tables and more
		{200_000, 200_000 - 1088},
		{1 << 30, 256 << 10}, // fasthttp's default
	} {
		if got := connsForFileLimit(tc.nofile); got != tc.want {
			t.Errorf("connsForFileLimit(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
}
