package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"appliance/store"
)

// BackfillResult is what Backfill queued, by kind.
type BackfillResult struct {
	Hits, Events, Visitors, Leads, Callbacks, Calls, Chats, ChatMessages int
}

// Total is every message queued.
func (r BackfillResult) Total() int {
	return r.Hits + r.Events + r.Visitors + r.Leads + r.Callbacks + r.Calls + r.Chats + r.ChatMessages
}

// backfillChunk is how many marks one durable write of Backfill holds.
const backfillChunk = 1000

// Backfill queues, in the export log of db, the records of site from the
// Unix millisecond from on: the hits and events of the sessions that
// began since (session by session), the visitors of those sessions who
// left a name, phone, email or property, and the leads, callbacks, calls,
// chats and chat messages since. The exporter publishes them with the same
// dedup ids as when they were new, so JetStream drops those it still
// remembers (within its duplicate window).
//
// It keeps the backlog under half its bound, waiting (polling every poll)
// for the exporter to drain it; ctx ends the wait. Export must be enabled
// on db.
func Backfill(ctx context.Context, db *store.DB, site uint32, from int64, poll time.Duration) (BackfillResult, error) {
	var res BackfillResult
	if !db.ExportStats().On {
		return res, errors.New("export: backfill needs --export")
	}
	type mark struct {
		key []byte
		at  int64
	}
	var chunk []mark
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			s := db.ExportStats()
			if s.Backlog+uint64(len(chunk)) <= s.Max/2 || s.Backlog == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		err := db.Update(ctx, func(tx *store.Tx) error {
			for _, m := range chunk {
				tx.Export(m.key, m.at)
			}
			return nil
		})
		chunk = chunk[:0]
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		return nil
	}
	add := func(key []byte, at int64, n *int) error {
		chunk = append(chunk, mark{append([]byte(nil), key...), at})
		*n++
		if len(chunk) >= backfillChunk {
			return flush()
		}
		return nil
	}
	// scan collects the keys of a range first, then marks them: a mark
	// may wait for the exporter, which must not hold an iterator open.
	scan := func(prefix []byte, fn func(k, v []byte) error) error {
		type kv struct{ k, v []byte }
		var all []kv
		err := db.ScanPrefix(ctx, prefix, false, 0, func(k, v []byte) bool {
			all = append(all, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
			return true
		})
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		for _, e := range all {
			if err := fn(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	}

	visitors := map[uint64]bool{}
	err := scan(store.SessionPrefix(site), func(k, v []byte) error {
		s, err := store.DecodeSession(v)
		if err != nil || s.Started < from {
			return nil
		}
		if err := scan(store.HitPrefix(site, s.ID), func(k, v []byte) error { return add(k, 0, &res.Hits) }); err != nil {
			return err
		}
		if err := scan(store.EventPrefix(site, s.ID), func(k, v []byte) error { return add(k, 0, &res.Events) }); err != nil {
			return err
		}
		if visitors[s.Visitor] {
			return nil
		}
		visitors[s.Visitor] = true
		b, err := db.Get(store.VisitorKey(s.Visitor))
		if err != nil {
			return nil
		}
		vis, err := store.DecodeVisitor(b)
		if err != nil || (vis.Name == "" && len(vis.Phones) == 0 && len(vis.Emails) == 0 && vis.Properties == 0) {
			return nil
		}
		return add(store.VisitorKey(vis.ID), vis.LastSeen, &res.Visitors)
	})
	if err != nil {
		return res, err
	}
	err = scan(store.LeadPrefix(site), func(k, v []byte) error {
		id, _ := store.IDFromKey(k)
		if l, err := store.DecodeLead(id, v); err == nil && l.Time >= from {
			return add(k, l.Time, &res.Leads)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	err = scan(store.CallbackPrefix(site), func(k, v []byte) error {
		id, _ := store.IDFromKey(k)
		if c, err := store.DecodeCallback(id, v); err == nil && c.Time >= from {
			return add(k, max(c.Time, c.LastTry), &res.Callbacks)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	err = scan(store.CallPrefix(site), func(k, v []byte) error {
		id, _ := store.IDFromKey(k)
		if c, err := store.DecodeCall(id, v); err == nil && c.Time >= from {
			return add(k, c.Time, &res.Calls)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	err = scan(store.ChatPrefix(site), func(k, v []byte) error {
		id, _ := store.IDFromKey(k)
		c, err := store.DecodeChat(site, id, v)
		if err != nil || c.Created < from {
			return nil
		}
		at := c.Created
		if c.Closed != 0 {
			at = c.Closed
		}
		if err := add(k, at, &res.Chats); err != nil {
			return err
		}
		return scan(store.ChatMessagePrefix(site, id), func(k, v []byte) error { return add(k, 0, &res.ChatMessages) })
	})
	if err != nil {
		return res, err
	}
	return res, flush()
}
