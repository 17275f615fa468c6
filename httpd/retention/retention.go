// Package retention deletes what the appliance no longer needs to keep, by
// each site's retention (store.Site.RetentionDays, 0 keeps everything):
// raw visits (sessions with their page views and events), delivered
// webhook deliveries and the lease history of the site's tracking numbers
// older than that many days. Expired captchas go whatever the sites say.
// What the reports show stays: their roll-ups are separate records, and
// visitors, leads, callbacks, calls and chats are never pruned.
//
// Prune runs on demand (appliance prune, with a dry run that only counts)
// and, through Run, once an hour while the server serves.
package retention

import (
	"context"
	"log/slog"
	"time"

	"appliance/store"
)

// Counts is how many records of each kind a prune deleted (or, dry, would).
type Counts struct {
	Sessions   int64 `json:"sessions"`
	PageViews  int64 `json:"page_views"`
	Events     int64 `json:"events"`
	Deliveries int64 `json:"webhook_deliveries"`
	Leases     int64 `json:"lease_history"`
	Captchas   int64 `json:"expired_captchas"`
}

// Pruner prunes one store. Its fields are its dependencies, set once.
type Pruner struct {
	DB *store.DB
	// Sites lists the sites whose data is pruned (by their retention).
	Sites func() []*store.Site
	// SiteOf names the site a tracking number belongs to now (ok false:
	// no site, and its lease history stays).
	SiteOf func(number string) (site uint32, ok bool)
	// Captchas removes expired captchas (captcha.Store.PruneExpired); nil
	// when there are none to prune.
	Captchas func(dry bool) int
	Now      func() time.Time
	Log      *slog.Logger
}

// Prune deletes what is past its site's retention at p.Now(); with dry set
// it deletes nothing and says what would go.
func (p *Pruner) Prune(ctx context.Context, dry bool) (Counts, error) {
	var c Counts
	now := p.Now()
	cutoffs := map[uint32]time.Time{}
	for _, s := range p.Sites() {
		if s.RetentionDays == 0 {
			continue
		}
		before := now.AddDate(0, 0, -int(s.RetentionDays))
		cutoffs[s.ID] = before
		v, err := p.DB.PruneSessions(ctx, s.ID, before.UnixMilli(), dry)
		c.Sessions += v.Sessions
		c.PageViews += v.Hits
		c.Events += v.Events
		if err != nil {
			return c, err
		}
		n, err := p.DB.PruneDeliveries(ctx, s.ID, before.UnixMilli(), dry)
		c.Deliveries += n
		if err != nil {
			return c, err
		}
	}
	if len(cutoffs) > 0 {
		n, err := p.DB.PruneLeases(ctx, func(number string) (int64, bool) {
			site, ok := p.SiteOf(number)
			if !ok {
				return 0, false
			}
			before, ok := cutoffs[site]
			return before.UnixNano(), ok
		}, dry)
		c.Leases += n
		if err != nil {
			return c, err
		}
	}
	if p.Captchas != nil {
		c.Captchas = int64(p.Captchas(dry))
	}
	return c, nil
}

// Run prunes every interval until ctx ends, logging what went and any
// failure (the next run tries again).
func (p *Pruner) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c, err := p.Prune(ctx, false)
			switch {
			case err != nil && ctx.Err() == nil:
				p.Log.Error("retention sweep", "err", err)
			case c != Counts{}:
				p.Log.Info("retention sweep", "sessions", c.Sessions, "page_views", c.PageViews, "events", c.Events,
					"webhook_deliveries", c.Deliveries, "lease_history", c.Leases, "expired_captchas", c.Captchas)
			}
		}
	}
}
