package httpd

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"

	brotli "github.com/molecule-man/go-brrr"

	"appliance/store"
)

// assetCache keeps the compressed forms of the static files in the store
// (store.CompressedKey), keyed by each file's hash, so that a start
// compresses only the files that changed since the last one: brotli at
// quality 11 of the snippet was 40% of an empty server's start-up. A form
// read back is decompressed and compared with the file before it is
// served, so a wrong entry costs a compression, never a wrong answer.
//
// A file the cache lacks gets its gzip form at once and its brotli form
// in the background (finish): a request that asks for brotli before it is
// made waits for it (asset.serve), which happens only in the first
// moments after a new version starts.
type assetCache struct {
	db     *store.DB
	stored map[string][]byte // the entries in the store at start
	used   map[string][]byte // the entries of this start's files
	later  []laterBrotli
}

// laterBrotli is an asset whose brotli form finish makes.
type laterBrotli struct {
	a       *asset
	key     string
	quality int
}

// compressedVersion is the version byte of a cache entry: version,
// uvarint length of the gzip form, the gzip form, the brotli form.
const compressedVersion = 1

// openAssetCache reads the cache's entries from db.
func openAssetCache(ctx context.Context, db *store.DB) (*assetCache, error) {
	c := &assetCache{db: db, stored: map[string][]byte{}, used: map[string][]byte{}}
	err := db.ScanPrefix(ctx, store.CompressedPrefix(), false, 0, func(k, v []byte) bool {
		c.stored[string(k)] = bytes.Clone(v)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read compressed assets: %w", err)
	}
	return c, nil
}

// newAsset makes the asset of body, brotli at quality (0-11): the snippet,
// loaded by every visitor of every site, takes the best (11: tens of
// milliseconds for a few kilobytes, more under load); the dashboard's
// files, loaded by a few operators, a quality that costs about a
// millisecond and is some 8% larger.
func (c *assetCache) newAsset(body []byte, contentType string, quality int) (*asset, error) {
	sum := sha256.Sum256(body)
	tag := hexTag(sum)
	a := &asset{contentType: contentType, brotliReady: make(chan struct{})}
	a.encodings[encIdentity] = encoded{body: body, etag: `"` + tag + `"`}
	a.encodings[encGzip].etag = `"` + tag + `-gz"`
	a.encodings[encBrotli].etag = `"` + tag + `-br"`
	key := string(store.CompressedKey(sum, byte(quality)))
	if gz, br, ok := checkCompressed(c.stored[key], body); ok {
		a.encodings[encGzip].body, a.encodings[encBrotli].body = gz, br
		close(a.brotliReady)
		c.used[key] = c.stored[key]
		return a, nil
	}
	gz, err := gzipBest(body)
	if err != nil {
		return nil, err
	}
	a.encodings[encGzip].body = gz
	c.later = append(c.later, laterBrotli{a: a, key: key, quality: quality})
	return a, nil
}

// finish makes the brotli forms the cache lacked, then stores the new
// entries and deletes those of files no longer built; the channel is
// closed when it is done. A failure to store is logged: the next start
// compresses again.
func (c *assetCache) finish(ctx context.Context, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, l := range c.later {
			body := l.a.encodings[encIdentity].body
			br, err := brotliAt(body, l.quality)
			if err != nil {
				// Never the case writing to memory; the file is then
				// served as it is to clients that asked for brotli.
				log.Error("compress static file", "err", err)
				br = nil
			} else {
				c.used[l.key] = encodeCompressed(l.a.encodings[encGzip].body, br)
			}
			l.a.encodings[encBrotli].body = br
			close(l.a.brotliReady)
		}
		var stale [][]byte
		for k := range c.stored {
			if _, ok := c.used[k]; !ok {
				stale = append(stale, []byte(k))
			}
		}
		if len(c.later) == 0 && len(stale) == 0 {
			return
		}
		err := c.db.Update(ctx, func(tx *store.Tx) error {
			for k, v := range c.used {
				if !bytes.Equal(c.stored[k], v) {
					tx.Set([]byte(k), v)
				}
			}
			for _, k := range stale {
				tx.Delete(k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrClosed) && ctx.Err() == nil {
			log.Warn("store compressed static files", "err", err)
		}
	}()
	return done
}

// encodeCompressed is a cache entry of the gzip and brotli forms.
func encodeCompressed(gz, br []byte) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(gz)+len(br))
	b = append(b, compressedVersion)
	b = binary.AppendUvarint(b, uint64(len(gz)))
	return append(append(b, gz...), br...)
}

// checkCompressed splits a cache entry into its gzip and brotli forms
// when both decompress to body; ok is false otherwise (no entry, an
// entry of another version, a wrong one).
func checkCompressed(v, body []byte) (gz, br []byte, ok bool) {
	if len(v) < 1 || v[0] != compressedVersion {
		return nil, nil, false
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || n > uint64(len(v)-1-w) {
		return nil, nil, false
	}
	gz, br = v[1+w:1+w+int(n)], v[1+w+int(n):]
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil || !sameBytes(zr, body) {
		return nil, nil, false
	}
	if !sameBytes(brotli.NewReader(bytes.NewReader(br)), body) {
		return nil, nil, false
	}
	return gz, br, true
}

// sameBytes reports whether r reads exactly want, reading at most one
// byte more than it.
func sameBytes(r io.Reader, want []byte) bool {
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	return err == nil && bytes.Equal(got, want)
}

// gzipBest is body compressed with gzip at its best compression.
func gzipBest(body []byte) ([]byte, error) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression) // the level is valid
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return gz.Bytes(), nil
}

// brotliAt is body compressed with brotli at quality.
func brotliAt(body []byte, quality int) ([]byte, error) {
	var br bytes.Buffer
	// A window just big enough for the file: quality 11 with the default
	// window allocates a quarter gigabyte to compress a few kilobytes.
	bw, err := brotli.NewWriterOptions(&br, quality, brotli.WriterOptions{LGWin: brotliWindow(len(body)), SizeHint: uint(len(body))})
	if err != nil {
		return nil, fmt.Errorf("brotli: %w", err)
	}
	if _, err := bw.Write(body); err != nil {
		return nil, fmt.Errorf("brotli: %w", err)
	}
	if err := bw.Close(); err != nil {
		return nil, fmt.Errorf("brotli: %w", err)
	}
	return br.Bytes(), nil
}
