package callbacks

import (
	"context"

	"appliance/httpd/outbox"
	"appliance/store"
)

// workers is how many scheduled calls are sent at once.
const workers = 4

// Run sends scheduled calls as they come due until ctx ends (see
// outbox.Queue.Run). On return every send it started has finished and been
// recorded (a send is not cut short by ctx: see send), so a call is never
// made twice by a clean restart.
func (s *Service) Run(ctx context.Context) { s.due.Run(ctx, workers, s.fire) }

// fire sends one due call of the schedule.
func (s *Service) fire(ctx context.Context, d outbox.Item) error {
	site := &store.Site{ID: d.Site}
	if v, err := s.db.Get(store.SiteKey(d.Site)); err == nil {
		if rec, err := store.DecodeSite(v); err == nil {
			site = &rec
		}
	}
	_, err := s.send(ctx, site, d.At, d.ID, true)
	return err
}
