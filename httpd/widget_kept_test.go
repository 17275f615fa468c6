package httpd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"appliance/assets"
	"appliance/store"
	"appliance/store/storetest"
)

// snippetBuild is a build of the snippet as another appliance version has it:
// the real core and widget chunk, the chunk changed by a comment, so that
// its name (its hash) differs, and the core importing it by that name.
type snippetBuild struct {
	dist   fstest.MapFS
	name   string // the chunk's file name
	widget []byte
}

// snippetVersion is the built snippet with the widget chunk marked tag.
func snippetVersion(t *testing.T, tag string) snippetBuild {
	t.Helper()
	core, err := fs.ReadFile(assets.FS, path.Join(snippetDist, "cs.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := fs.Glob(assets.FS, path.Join(snippetDist, "cs-widget.*.js"))
	if err != nil || len(chunks) != 1 {
		t.Fatalf("built widget chunks %v %v", chunks, err)
	}
	widget, err := fs.ReadFile(assets.FS, chunks[0])
	if err != nil {
		t.Fatal(err)
	}
	widget = append(bytes.Clone(widget), "\n// version "+tag+"\n"...)
	name := widgetName(widget)
	core = bytes.ReplaceAll(core, []byte("static/"+path.Base(chunks[0])), []byte("static/"+name))
	return snippetBuild{
		dist:   fstest.MapFS{"cs.min.js": {Data: core}, name: {Data: widget}},
		name:   name,
		widget: widget,
	}
}

// serveVersion starts the server of v on the store in dir, as serve does
// after an upgrade: the store opened anew, the clock at now. It returns
// once the asset cache is stored. stop stops it and closes the store.
func serveVersion(t *testing.T, dir string, v snippetBuild, now time.Time) (base string, stop func()) {
	t.Helper()
	db := storetest.OpenAt(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Listen: ln.Addr().String(), Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }, snippetDist: v.dist}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, db, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, nil) }()
	// As a server that ran for a moment: the compressed forms the asset
	// cache lacked are stored (a stop before cancels their write).
	<-s.assetsDone
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		db.Close()
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// fetchAsset fetches url with the request headers, the body as it came.
func fetchAsset(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity") // or Go's transport asks for gzip and unpacks it
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

var coreWidgetRe = regexp.MustCompile(`static/cs-widget\.[0-9a-f]{8}\.js`)

// coreWidget is the chunk path the core served at base imports.
func coreWidget(t *testing.T, base string) string {
	t.Helper()
	resp, core := fetchAsset(t, base+snippetCorePath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("core: status %d", resp.StatusCode)
	}
	p := coreWidgetRe.Find(core)
	if p == nil {
		t.Fatal("the core names no widget chunk")
	}
	return "/" + string(p)
}

// A page that loaded the core before an upgrade imports that core's widget
// chunk after it: the upgraded server answers it from the store as the
// earlier one did (same bytes in every encoding, same ETags, immutable,
// CORS for the page's import), beside its own chunk, and after its own
// restart; a chunk no version served is still the JSON 404. A downgrade
// serves the later chunk the same way.
func TestWidgetChunkKeptAcrossUpgrade(t *testing.T) {
	dir := t.TempDir()
	v1, v2 := snippetVersion(t, "1"), snippetVersion(t, "2")
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

	base, stop := serveVersion(t, dir, v1, now)
	old := coreWidget(t, base)
	if old != "/static/"+v1.name {
		t.Fatalf("v1's core imports %s, want %s", old, v1.name)
	}
	etags := map[string]string{}
	for _, enc := range []string{"identity", "gzip", "br"} {
		resp, _ := fetchAsset(t, base+old, "Accept-Encoding", enc)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("v1's own chunk (%s): status %d", enc, resp.StatusCode)
		}
		etags[enc] = resp.Header.Get("ETag")
	}
	stop()

	base, stop = serveVersion(t, dir, v2, now.Add(time.Hour))
	if got := coreWidget(t, base); got != "/static/"+v2.name {
		t.Fatalf("v2's core imports %s, want %s", got, v2.name)
	}
	checkChunk := func(base, p string, want []byte, etags map[string]string) {
		t.Helper()
		for _, enc := range []string{"identity", "gzip", "br"} {
			resp, body := fetchAsset(t, base+p, "Accept-Encoding", enc, "Origin", "https://shop.example")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s (%s): status %d %s", p, enc, resp.StatusCode, body)
			}
			switch enc {
			case "gzip":
				body = decompress(t, body, true)
			case "br":
				body = decompress(t, body, false)
			}
			if got := resp.Header.Get("Content-Encoding"); got != strings.TrimPrefix(enc, "identity") {
				t.Errorf("%s (%s): Content-Encoding %q", p, enc, got)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("%s (%s): %d bytes, not the chunk of its version (%d bytes)", p, enc, len(body), len(want))
			}
			h := resp.Header
			if got, want := h.Get("Cache-Control"), cacheImmutable; got != want {
				t.Errorf("%s (%s): Cache-Control %q, want %q", p, enc, got, want)
			}
			if got := h.Get("ETag"); etags != nil && got != etags[enc] {
				t.Errorf("%s (%s): ETag %q, the version that built it gave %q", p, enc, got, etags[enc])
			}
			if got := h.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
				t.Errorf("%s (%s): Content-Type %q", p, enc, got)
			}
			if got := h.Get("Access-Control-Allow-Origin") + " " + h.Get("Access-Control-Allow-Credentials"); got != "https://shop.example true" {
				t.Errorf("%s (%s): the page's import gets Access-Control-Allow-Origin and -Credentials %q", p, enc, got)
			}
			if got := h.Get("Vary"); got != "Accept-Encoding, Origin" {
				t.Errorf("%s (%s): Vary %q", p, enc, got)
			}
		}
		resp, _ := fetchAsset(t, base+p, "If-None-Match", etags["br"])
		if etags != nil && resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidated: status %d, want 304", p, resp.StatusCode)
		}
	}
	checkChunk(base, old, v1.widget, etags)
	checkChunk(base, "/static/"+v2.name, v2.widget, nil)

	for _, p := range []string{"/static/cs-widget.00000000.js", "/static/cs-widget.", "/static/cs-widget.x/y.js"} {
		resp, body := fetchAsset(t, base+p)
		var e struct {
			Success bool
			Error   string
		}
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal(body, &e) != nil || e.Success || e.Error != "no such page: "+p {
			t.Errorf("%s: %d %s %s, want the JSON 404 of an unknown path", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	stop()

	// A second start of v2 keeps v1's chunk (it was retired once, not at
	// every start).
	base, stop = serveVersion(t, dir, v2, now.Add(2*time.Hour))
	checkChunk(base, old, v1.widget, etags)
	stop()

	// Back to v1: v2's chunk is kept for the pages v2 served.
	base, stop = serveVersion(t, dir, v1, now.Add(3*time.Hour))
	checkChunk(base, "/static/"+v2.name, v2.widget, nil)
	checkChunk(base, old, v1.widget, etags)
	stop()
}

// Retired chunks are kept for keepRetiredFor after their version was
// replaced, at most keepRetiredMax of them (the last retired): older ones
// are deleted with their compressed forms, and answered 404.
func TestWidgetChunksPruned(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var vs []snippetBuild
	for i := range keepRetiredMax + 2 {
		vs = append(vs, snippetVersion(t, string(rune('a'+i))))
	}
	status := func(base string, v snippetBuild) int {
		t.Helper()
		resp, _ := fetchAsset(t, base+"/static/"+v.name)
		return resp.StatusCode
	}
	count := func(prefix []byte) int {
		t.Helper()
		db := storetest.OpenAt(t, dir)
		defer db.Close()
		n := 0
		if err := db.ScanPrefix(context.Background(), prefix, false, 0, func(k, v []byte) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		return n
	}

	_, stop := serveVersion(t, dir, vs[0], now)
	stop()
	compressed := count(store.CompressedPrefix()) // the dashboard's files, the core, one chunk

	// One upgrade a day: the first version's chunk is the one too many.
	var base string
	for i, v := range vs[1:] {
		base, stop = serveVersion(t, dir, v, now.Add(time.Duration(i+1)*24*time.Hour))
		if i < len(vs)-2 {
			stop()
		}
	}
	if got := status(base, vs[0]); got != http.StatusNotFound {
		t.Errorf("the chunk retired first of %d: status %d, want 404", keepRetiredMax+1, got)
	}
	for i, v := range vs[1 : len(vs)-1] {
		if got := status(base, v); got != http.StatusOK {
			t.Errorf("chunk %d of the %d retired last: status %d, want 200", i, keepRetiredMax, got)
		}
	}
	stop()
	if got, want := count(store.KeptAssetPrefix()), keepRetiredMax+1; got != want {
		t.Errorf("%d chunks kept, want %d: the served one and %d retired", got, want, keepRetiredMax)
	}
	if got, want := count(store.CompressedPrefix()), compressed+keepRetiredMax; got != want {
		t.Errorf("%d compressed files stored, want %d (those of the kept chunks)", got, want)
	}

	// The last one retired, a day before this start, is kept until
	// keepRetiredFor has passed since; then none is.
	last := vs[len(vs)-1]
	retiredLast := now.Add(time.Duration(len(vs)-1) * 24 * time.Hour)
	base, stop = serveVersion(t, dir, last, retiredLast.Add(keepRetiredFor-time.Minute))
	if got := status(base, vs[len(vs)-2]); got != http.StatusOK {
		t.Errorf("the chunk retired last, a minute before its time is up: status %d, want 200", got)
	}
	stop()
	base, stop = serveVersion(t, dir, last, retiredLast.Add(keepRetiredFor))
	for i, v := range vs[:len(vs)-1] {
		if got := status(base, v); got != http.StatusNotFound {
			t.Errorf("chunk %d, retired %d days or more ago: status %d, want 404", i, keepRetiredFor/(24*time.Hour), got)
		}
	}
	if got := status(base, last); got != http.StatusOK {
		t.Errorf("the version's own chunk: status %d", got)
	}
	stop()
	if got := count(store.KeptAssetPrefix()); got != 1 {
		t.Errorf("%d chunks kept, want 1: the served one", got)
	}
	if got := count(store.CompressedPrefix()); got != compressed {
		t.Errorf("%d compressed files stored, want %d", got, compressed)
	}
}

// A kept chunk's record reads back what was written, and no bytes make
// its decoder panic or take a record of another version.
func FuzzDecodeKept(f *testing.F) {
	f.Add(encodeKept(0, []byte("x")))
	f.Add(encodeKept(1733392800000, nil))
	f.Add([]byte{keptAssetVersion})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		retired, body, ok := decodeKept(v)
		if !ok {
			return
		}
		if v[0] != keptAssetVersion {
			t.Fatalf("version %d read", v[0])
		}
		if got := encodeKept(retired, body); !bytes.Equal(got, v) {
			t.Fatalf("%x read as %d, %x, written back as %x", v, retired, body, got)
		}
	})
}
