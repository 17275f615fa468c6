package httpd

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"appliance/store"
)

// The widget chunk lives at a content-hashed URL that the core learnt when
// it was built, and a binary embeds only its own chunk. A page that still
// runs an earlier version's core after the appliance is upgraded (a tab
// left open, a page back from the back/forward cache, a proxy that keeps
// cs.min.js past its five minutes) imports that version's chunk when the
// visitor opens a form or the chat; answered 404, the form does not open
// and the lead is lost, until the page is loaded again. (The core tries
// the import again at the next call, from the same URL.)
//
// So the store keeps the chunks the binaries over it have served
// (store.KeptAssetKey), and a binary serves the earlier ones beside its
// own, with the same headers and encodings. An earlier chunk runs with the
// earlier core that imported it (the two share their shortened property
// names, so only the pair works), and it talks to the appliance through
// that core: the /t/v1 tracker protocol, which later versions keep.
//
// At each start the binary's own chunk is written if the store lacks it,
// every other one still marked as served is marked retired now, and a
// retired chunk is kept for keepRetiredFor after it was, at most the
// keepRetiredMax retired last. A page that imports an earlier chunk was
// loaded before that chunk's binary was replaced: it has been open since
// at least the retirement, and few pages stay open for weeks without a
// reload, while an owner who tries several versions in a day keeps the
// chunks of each. Each is some 50 KB, and its compressed forms stay in
// the asset cache with it.

// keptWidgetRoute is the route of the kept chunks; the binary's own chunk
// has its exact route, which the router prefers.
const keptWidgetRoute = "/static/cs-widget.*"

const (
	// keptAssetVersion is the version byte of a kept chunk's record:
	// version, when it was retired (uint64 BE, Unix ms; 0 while it is the
	// running binary's own), the file.
	keptAssetVersion = 1

	keepRetiredFor = 30 * 24 * time.Hour
	keepRetiredMax = 5
)

// widgetName is the file name of a widget chunk: its content's hash, as
// appliance/internal/snippetbuild names it (which the server does not
// link: it is the build's, with esbuild).
func widgetName(body []byte) string {
	sum := sha256.Sum256(body)
	return "cs-widget." + hex.EncodeToString(sum[:4]) + ".js"
}

// keptChunk is one widget chunk the store keeps.
type keptChunk struct {
	name    string // e.g. "cs-widget.3f9a0c1b.js"
	retired int64  // Unix ms; 0 while it is the running binary's own
	body    []byte
}

// encodeKept is the record of a kept chunk.
func encodeKept(retired int64, body []byte) []byte {
	b := make([]byte, 0, 9+len(body))
	b = append(b, keptAssetVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(retired))
	return append(b, body...)
}

// decodeKept reads a kept chunk's record; ok is false for a record of
// another version or a short one. body is part of v.
func decodeKept(v []byte) (retired int64, body []byte, ok bool) {
	if len(v) < 9 || v[0] != keptAssetVersion {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(v[1:9])), v[9:], true
}

// keepWidgets records sn's widget chunk in db as the one served, retires
// the others, deletes those kept long enough, and returns the chunks still
// kept other than sn's own, by path, compressed through c (before c
// finishes, so that their cached forms stay). A record that does not read,
// or whose file is not named by its hash, is deleted. The records are
// written durably before New returns; a failure to write is logged and the
// chunks read are served anyway: the server starts without it, and the
// next start tries again.
func keepWidgets(ctx context.Context, db *store.DB, c *assetCache, sn *snippet, now time.Time, log *slog.Logger) (map[string]script, error) {
	own := sn.widgetPath[len("/static/"):]
	ownBody := sn.widget.encodings[encIdentity].body
	prefix := store.KeptAssetPrefix()
	var (
		retired []keptChunk
		set     = map[string][]byte{}
		del     [][]byte
		ownKept bool
	)
	err := db.ScanPrefix(ctx, prefix, false, 0, func(k, v []byte) bool {
		name := string(k[len(prefix):])
		at, body, ok := decodeKept(v)
		switch {
		case !ok || widgetName(body) != name:
			del = append(del, bytes.Clone(k))
		case name == own:
			ownKept = at == 0
		default:
			if at == 0 {
				at = now.UnixMilli()
				set[name] = encodeKept(at, body)
			}
			retired = append(retired, keptChunk{name: name, retired: at, body: bytes.Clone(body)})
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read kept widget chunks: %w", err)
	}
	if !ownKept {
		set[own] = encodeKept(0, ownBody)
	}
	// The latest retired first; the name breaks a tie, for a stable order.
	slices.SortFunc(retired, func(a, b keptChunk) int {
		return cmp.Or(cmp.Compare(b.retired, a.retired), cmp.Compare(a.name, b.name))
	})
	kept := map[string]script{}
	for i, k := range retired {
		if i >= keepRetiredMax || now.Sub(time.UnixMilli(k.retired)) >= keepRetiredFor {
			delete(set, k.name)
			del = append(del, store.KeptAssetKey(k.name))
			continue
		}
		sc, err := newScript(c, k.body, cacheImmutable)
		if err != nil {
			return nil, err
		}
		kept["/static/"+k.name] = sc
	}
	if len(set) == 0 && len(del) == 0 {
		return kept, nil
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		for name, v := range set {
			tx.Set(store.KeptAssetKey(name), v)
		}
		for _, k := range del {
			tx.Delete(k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrClosed) && ctx.Err() == nil {
		log.Warn("keep widget chunks for pages of earlier versions", "err", err)
	}
	return kept, nil
}
