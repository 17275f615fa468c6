package callbacks

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"appliance/store"
)

// batch is how many due calls one look at the schedule takes.
const batch = 256

// workers is how many scheduled calls are sent at once.
const workers = 4

// Run sends scheduled calls as they come due until ctx ends: it looks at
// the schedule every Tick and whenever Notify or a finished send wakes it.
// On return every send it started has finished and been recorded (a send
// is not cut short by ctx: see send), so a call is never made twice by a
// clean restart.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(s.o.Tick)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, workers)
	for {
		if err := s.dispatch(ctx, &wg, slots); err != nil && ctx.Err() == nil {
			s.o.Log.Error("callbacks: read schedule", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
		}
	}
}

// Notify wakes Run to look at the schedule now. It never blocks.
func (s *Service) Notify() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// due is a schedule entry.
type due struct {
	site uint32
	id   uint64
	at   int64
}

// dispatch starts a send for each due call not being sent, while a worker
// slot is free.
func (s *Service) dispatch(ctx context.Context, wg *sync.WaitGroup, slots chan struct{}) error {
	var list []due
	err := s.db.Scan(ctx, store.CallbackDuePrefix(), store.CallbackDueBefore(s.o.Now().UnixMilli()), false, batch,
		func(k, v []byte) bool {
			at, id, ok := store.ParseCallbackDueKey(k)
			if ok && len(v) == 4 {
				list = append(list, due{site: binary.BigEndian.Uint32(v), id: id, at: at})
			}
			return true
		})
	if err != nil {
		return err
	}
	for _, d := range list {
		if ctx.Err() != nil {
			return nil
		}
		select {
		case slots <- struct{}{}:
		default:
			return nil // all workers busy: a finished one wakes us
		}
		if !s.tryInflight(d.id) {
			<-slots
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots; s.Notify() }()
			defer s.setInflight(d.id, false)
			if err := s.fire(ctx, d); err != nil {
				s.o.Log.Error("callbacks: send", "callback", d.id, "err", err)
			}
		}()
	}
	return nil
}

// fire sends one due call of the schedule.
func (s *Service) fire(ctx context.Context, d due) error {
	site := &store.Site{ID: d.site}
	if v, err := s.db.Get(store.SiteKey(d.site)); err == nil {
		if rec, err := store.DecodeSite(v); err == nil {
			site = &rec
		}
	}
	_, err := s.send(ctx, site, d.at, d.id, true)
	return err
}
