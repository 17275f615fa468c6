package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable/block"

	"appliance/internal/cputime"
)

// pointReadSessions is how many sessions BenchmarkPointRead's store holds
// (APPLIANCE_BENCH_SESSIONS overrides it).
const pointReadSessions = 200_000

// legacyOptions are the pebble options before bloom filters and a sized
// cache: pebble's 8 MiB cache, no filters, zstd on the two deepest levels.
// BenchmarkPointRead keeps them as its baseline.
func legacyOptions(readOnly bool, _ int64) *pebble.Options {
	opts := &pebble.Options{Merger: counterMerger, ReadOnly: readOnly, FormatMajorVersion: pebble.FormatNewest, Logger: quietLogger{}}
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionGood })
	opts.EnsureDefaults()
	for i := len(opts.Levels) - 2; i < len(opts.Levels); i++ {
		opts.Levels[i].BlockSize = 32 << 10
	}
	return opts
}

// BenchmarkPointRead measures the store's side of a returning visitor's
// hit when the session is not in memory: read and decode the session the
// visitor's ci names, then the visitor, from a store of many sessions
// (their hits, visitors and visitor index beside them, written as the hit
// path writes them and left in the shape flushes and compactions gave
// it). Every round opens the store afresh, so the block cache starts cold;
// sessions are picked at random, as returning visitors come back. The
// variants are the old options and serve's, built side by side and read
// in alternated rounds:
//
//	go test -run '^$' -bench PointRead -benchtime 20000x ./store/
//
// With APPLIANCE_BENCH_CACHES (sizes in MiB, e.g. 8,16,64) the variants are
// serve's options with each block cache size instead, on one store; with
// -benchtime of more reads than the store has sessions, a round's later
// reads meet the cache the earlier ones filled.
func BenchmarkPointRead(b *testing.B) {
	n := pointReadSessions
	if s := os.Getenv("APPLIANCE_BENCH_SESSIONS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	variants := []struct {
		name string
		opts func(readOnly bool, cacheSize int64) *pebble.Options
	}{
		{"before", legacyOptions},
		{"after", pebbleOptions},
		{"after-minlz", func(readOnly bool, cacheSize int64) *pebble.Options {
			o := pebbleOptions(readOnly, cacheSize)
			o.ApplyCompressionSettings(func() pebble.DBCompressionSettings {
				return pebble.UniformDBCompressionSettings(block.MinLZCompression)
			})
			return o
		}},
	}
	const cacheSize = 64 << 20
	caches := make([]int64, len(variants))
	for i := range caches {
		caches[i] = cacheSize
	}
	list := os.Getenv("APPLIANCE_BENCH_CACHES")
	if list != "" {
		variants, caches = variants[1:2], nil
		for _, f := range strings.Split(list, ",") {
			mib, err := strconv.Atoi(f)
			if err != nil || mib <= 0 {
				b.Fatalf("APPLIANCE_BENCH_CACHES %q: want sizes in MiB, e.g. 8,16,64", list)
			}
			caches = append(caches, int64(mib)<<20)
		}
		for range caches[1:] {
			variants = append(variants, variants[0])
		}
		for i := range variants {
			variants[i].name = fmt.Sprintf("after-cache%dM", caches[i]>>20)
		}
	}
	dirs := make([]string, len(variants))
	var sessions []sessionRef
	for i, v := range variants {
		if i > 0 && list != "" {
			dirs[i] = dirs[0] // one store, read with each cache size
			continue
		}
		dirs[i] = b.TempDir()
		var size uint64
		var shape string
		sessions, size, shape = buildSessionStore(b, dirs[i], func() *pebble.Options { return v.opts(false, cacheSize) }, n)
		b.Logf("%s: %d sessions, %.1f MiB on disk (%.0f B a session with its hits); %s", v.name, len(sessions), float64(size)/(1<<20), float64(size)/float64(len(sessions)), shape)
	}
	for round := range 3 {
		for i, v := range variants {
			b.Run(v.name, func(b *testing.B) {
				pdb, err := pebble.Open(dirs[i], v.opts(true, caches[i]))
				if err != nil {
					b.Fatal(err)
				}
				defer pdb.Close()
				d := &DB{db: pdb}
				r := rand.New(rand.NewPCG(uint64(round), 7))
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cputime.Process()
				for range b.N {
					s := sessions[r.IntN(len(sessions))]
					v, err := d.Get(SessionKey(s.site, s.id))
					if err != nil {
						b.Fatal(err)
					}
					sess, err := DecodeSession(v)
					if err != nil {
						b.Fatal(err)
					}
					v, err = d.Get(VisitorKey(sess.Visitor))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := DecodeVisitor(v); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
				// Each block cache miss is a block read and decompressed:
				// unlike the time, a count the machine's load cannot blur.
				m := pdb.Metrics()
				b.ReportMetric(float64(m.BlockCache.Misses)/float64(b.N), "block-reads/op")
			})
		}
	}
}

type sessionRef struct {
	site uint32
	id   uint64
}

// buildSessionStore writes n sessions of 4 sites into a pebble store in
// dir: a third of them of returning visitors, each with 1 to 8 hits and
// its visitor's index entry, in batches of 500 sessions (unsynced: the
// shape of the store, not the cost of writing it, is what counts). The
// first 98% are compacted; the newest 2% are flushed with compactions off,
// so that they lie in a few files of level 0, as the recent writes of a
// live server do, above the older ones. It returns the
// sessions, the store's size on disk and its files by level.
func buildSessionStore(b *testing.B, dir string, opts func() *pebble.Options, n int) ([]sessionRef, uint64, string) {
	b.Helper()
	pdb, err := pebble.Open(dir, opts())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { pdb.Close() }()
	r := rand.New(rand.NewPCG(1, 2))
	var (
		refs     = make([]sessionRef, 0, n)
		visitors []Visitor
		id       uint64
		now      = int64(1_767_225_600_000) // 2026-01-01
	)
	agents := [...]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	}
	batch := pdb.NewBatch()
	for len(refs) < n {
		now += int64(r.IntN(20_000))
		var v Visitor
		if len(visitors) > 0 && r.IntN(3) == 0 {
			v = visitors[r.IntN(len(visitors))]
		} else {
			id++
			v = Visitor{ID: id, Site: uint32(1 + r.IntN(4)), Created: now}
			if len(visitors) < 200_000 {
				visitors = append(visitors, v)
			}
		}
		v.LastSeen = now
		id++
		s := Session{ID: id, Visitor: v.ID, Started: now, LastHit: now, Hits: uint32(1 + r.IntN(4) + r.IntN(5)*r.IntN(2)),
			Channel: "organic", Referrer: "https://yandex.ru/", UserAgent: agents[r.IntN(len(agents))],
			Landing: fmt.Sprintf("https://shop%d.example.com/catalog/item-%d?color=%d", v.Site, r.IntN(5000), r.IntN(8))}
		if r.IntN(3) == 0 {
			s.Channel, s.UTMSource, s.UTMMedium, s.UTMCampaign, s.Click, s.ClickID = "ad", "yandex", "cpc", fmt.Sprintf("autumn-%d", r.IntN(5)), "yclid", strconv.FormatUint(r.Uint64()>>12, 10)
		}
		for range s.Hits {
			id++
			h := Hit{ID: id, Session: s.ID, Time: s.LastHit, URL: fmt.Sprintf("https://shop%d.example.com/catalog/item-%d?color=%d", v.Site, r.IntN(5000), r.IntN(8)),
				Title: fmt.Sprintf("Товар %d — купить в интернет-магазине Shop", r.IntN(5000))}
			s.LastHit += int64(60_000 + r.IntN(60_000))
			batch.Set(HitKey(v.Site, s.ID, h.ID), h.Encode(), nil)
		}
		batch.Set(SessionKey(v.Site, s.ID), s.Encode(), nil)
		batch.Set(VisitorKey(v.ID), v.Encode(), nil)
		batch.Set(VisitorItemKey(v.ID, ItemSession, s.ID), nil, nil)
		refs = append(refs, sessionRef{v.Site, s.ID})
		if len(refs)%500 == 0 || len(refs) == n {
			if err := batch.Commit(pebble.NoSync); err != nil {
				b.Fatal(err)
			}
			batch = pdb.NewBatch()
		}
		if len(refs) == n-n/50 {
			// Compact what is written, as a server that has run a
			// while has, then write the newest sessions into level 0.
			if err := pdb.Compact(context.Background(), []byte{0}, []byte{0xff, 0xff}, true); err != nil {
				b.Fatal(err)
			}
			if err := pdb.Close(); err != nil {
				b.Fatal(err)
			}
			o := opts()
			o.DisableAutomaticCompactions = true
			o.L0StopWritesThreshold = 1000
			o.MemTableSize = 2 << 20
			if pdb, err = pebble.Open(dir, o); err != nil {
				b.Fatal(err)
			}
			batch = pdb.NewBatch()
		}
	}
	if err := pdb.Flush(); err != nil {
		b.Fatal(err)
	}
	m := pdb.Metrics()
	shape := ""
	for i, l := range m.Levels {
		if l.TablesCount > 0 {
			shape += fmt.Sprintf(" L%d: %d files", i, l.TablesCount)
		}
	}
	return refs, m.DiskSpaceUsage(), "files by level:" + shape
}
