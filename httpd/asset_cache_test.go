package httpd

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"appliance/assets"
	"appliance/httpd/i18n"
	"appliance/store"
	"appliance/store/storetest"
)

// Pages are parsed when first shown: every page of the dashboard parses
// in every language (what start-up checked when it parsed them all).
func TestEveryPageParses(t *testing.T) {
	p, err := loadPages("RU", &assetCache{db: storetest.Open(t), stored: map[string][]byte{}, used: map[string][]byte{}})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(assets.FS, "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range i18n.Langs() {
		for _, region := range []string{"", "KZ"} {
			for _, e := range entries {
				name, ok := strings.CutSuffix(e.Name(), ".html")
				if !ok || name == "layout" || name == "partials" {
					continue
				}
				tm, err := p.page(l, region, name)
				if err != nil || tm == nil || tm.Lookup("content") == nil {
					t.Errorf("page %s in %s/%s: %v, %v", name, l, region, tm, err)
				}
				again, _ := p.page(l, region, name)
				if again != tm {
					t.Errorf("page %s in %s/%s parsed twice", name, l, region)
				}
				n++
			}
		}
	}
	if n < 20 {
		t.Errorf("%d pages parsed", n)
	}
	if _, err := p.page(i18n.En, "", "no-such-page"); err == nil {
		t.Error("a page that does not exist: no error")
	}
}

// The compressed forms of the static files are made once, kept in the
// store, read back at the next start, and checked against the file: an
// entry that is wrong is made again, and entries of files no longer built
// are deleted.
func TestAssetCache(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	body := bytes.Repeat([]byte("function track(){return 'hello, visitor'}\n"), 200)
	start := func(files ...[]byte) (*assetCache, []*asset) {
		t.Helper()
		c, err := openAssetCache(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var as []*asset
		for _, f := range files {
			a, err := c.newAsset(f, "text/javascript", 11)
			if err != nil {
				t.Fatal(err)
			}
			as = append(as, a)
		}
		<-c.finish(ctx, slog.New(slog.DiscardHandler))
		return c, as
	}
	check := func(a *asset, want []byte) {
		t.Helper()
		<-a.brotliReady
		if got := decompress(t, a.encodings[encGzip].body, true); !bytes.Equal(got, want) {
			t.Errorf("gzip form is not the file")
		}
		if got := decompress(t, a.encodings[encBrotli].body, false); !bytes.Equal(got, want) {
			t.Errorf("brotli form is not the file")
		}
		if !bytes.Equal(a.encodings[encIdentity].body, want) {
			t.Errorf("identity form is not the file")
		}
	}
	entries := func() map[string][]byte {
		t.Helper()
		m := map[string][]byte{}
		if err := db.ScanPrefix(ctx, store.CompressedPrefix(), false, 0, func(k, v []byte) bool {
			m[string(k)] = bytes.Clone(v)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}

	c, as := start(body)
	if len(c.later) != 1 {
		t.Fatalf("first start: %d files compressed, want 1", len(c.later))
	}
	check(as[0], body)
	stored := entries()
	if len(stored) != 1 {
		t.Fatalf("%d entries stored, want 1", len(stored))
	}

	c, as = start(body)
	if len(c.later) != 0 {
		t.Errorf("second start: %d files compressed again, want 0", len(c.later))
	}
	check(as[0], body)

	// A wrong entry (here: another file's forms under this file's key)
	// is not served: the file is compressed again and the entry mended.
	other := append(bytes.Clone(body), "// another version\n"...)
	_, as = start(other)
	check(as[0], other)
	for k := range stored {
		otherEntry := entries()
		if len(otherEntry) != 1 {
			t.Fatalf("%d entries after a new version, want 1 (the old one deleted)", len(otherEntry))
		}
		for _, v := range otherEntry {
			if err := db.Set(ctx, []byte(k), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, as = start(body)
	if len(c.later) != 1 {
		t.Errorf("a wrong entry: %d files compressed, want 1", len(c.later))
	}
	check(as[0], body)
	if got := entries(); len(got) != 1 || !bytes.Equal(got[string(store.CompressedKey(sha256Of(body), 11))], stored[string(store.CompressedKey(sha256Of(body), 11))]) {
		t.Errorf("the wrong entry was not mended: %d entries", len(got))
	}
	for _, v := range [][]byte{nil, {}, {compressedVersion}, {compressedVersion, 200}, {2, 0}} {
		if _, _, ok := checkCompressed(v, body); ok {
			t.Errorf("checkCompressed(%x) ok", v)
		}
	}
}

func sha256Of(b []byte) [32]byte { return sha256.Sum256(b) }

// decompress is b gunzipped (gz) or unbrotlied.
func decompress(t *testing.T, b []byte, gz bool) []byte {
	t.Helper()
	var r io.Reader = brotli.NewReader(bytes.NewReader(b))
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
