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

// backfillProgressEvery is how many top-level records Backfill marks
// between two calls of its progress function.
const backfillProgressEvery = 100

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
//
// progress, when not nil, is told how many of the site's top-level records
// are done, of how many: its sessions (each with its hits, events and
// visitor), leads, callbacks, calls and chats (each with its messages),
// those before from too. It is called with (0, total) first, every
// backfillProgressEvery records, and with done == total at the end.
func Backfill(ctx context.Context, db *store.DB, site uint32, from int64, poll time.Duration, progress func(done, total int64)) (BackfillResult, error) {
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
	// collect reads the keys and values of a range, to mark them after: a
	// mark may wait for the exporter, which must not hold an iterator open.
	type kv struct{ k, v []byte }
	collect := func(prefix []byte) ([]kv, error) {
		var all []kv
		err := db.ScanPrefix(ctx, prefix, false, 0, func(k, v []byte) bool {
			all = append(all, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("backfill: %w", err)
		}
		return all, nil
	}
	each := func(all []kv, fn func(k, v []byte) error) error {
		for _, e := range all {
			if err := fn(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	}
	scan := func(prefix []byte, fn func(k, v []byte) error) error {
		all, err := collect(prefix)
		if err != nil {
			return err
		}
		return each(all, fn)
	}

	sessions, err := collect(store.SessionPrefix(site))
	if err != nil {
		return res, err
	}
	// The other top-level records are only counted here (not held), and
	// may grow before they are marked: total grows with done.
	done, total := int64(0), int64(len(sessions))
	if progress != nil {
		for _, prefix := range [][]byte{store.LeadPrefix(site), store.CallbackPrefix(site), store.CallPrefix(site), store.ChatPrefix(site)} {
			err := db.ScanPrefix(ctx, prefix, false, 0, func(_, _ []byte) bool {
				total++
				return true
			})
			if err != nil {
				return res, fmt.Errorf("backfill: %w", err)
			}
		}
		progress(0, total)
	}
	// counted is fn counting its record done.
	counted := func(fn func(k, v []byte) error) func(k, v []byte) error {
		return func(k, v []byte) error {
			if err := fn(k, v); err != nil {
				return err
			}
			if done++; progress != nil && done%backfillProgressEvery == 0 {
				progress(done, max(total, done))
			}
			return nil
		}
	}

	visitors := map[uint64]bool{}
	err = each(sessions, counted(func(k, v []byte) error {
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
		if err != nil || (vis.Name == "" && len(vis.Phones) == 0 && len(vis.Emails) == 0 && len(vis.PhonesTyped) == 0 && len(vis.EmailsTyped) == 0 && vis.Properties == 0) {
			return nil
		}
		return add(store.VisitorKey(vis.ID), vis.LastSeen, &res.Visitors)
	}))
	if err != nil {
		return res, err
	}
	err = scan(store.LeadPrefix(site), counted(func(k, v []byte) error {
		id, _ := store.IDFromKey(k)
		if l, err := store.DecodeLead(id, v); err == nil && l.Time >= from {
			return add(k, l.Time, &res.Leads)
		}
		return nil
	}))
	if err != nil {
		return res, err
	}
	err = scan(store.CallbackPrefix(site), counted(func(k, v []byte) error {
		id, _ := store.IDFromKey(k)
		if c, err := store.DecodeCallback(id, v); err == nil && c.Time >= from {
			return add(k, max(c.Time, c.LastTry), &res.Callbacks)
		}
		return nil
	}))
	if err != nil {
		return res, err
	}
	err = scan(store.CallPrefix(site), counted(func(k, v []byte) error {
		id, _ := store.IDFromKey(k)
		if c, err := store.DecodeCall(id, v); err == nil && c.Time >= from {
			return add(k, c.Time, &res.Calls)
		}
		return nil
	}))
	if err != nil {
		return res, err
	}
	err = scan(store.ChatPrefix(site), counted(func(k, v []byte) error {
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
	}))
	if err != nil {
		return res, err
	}
	if err := flush(); err != nil {
		return res, err
	}
	if progress != nil {
		progress(done, done)
	}
	return res, nil
}
