package visits

import (
	"context"
	"errors"
	"fmt"
	"time"

	"appliance/store"
)

// Limits of what Recent reads per session.
const (
	MaxPagesShown  = 50
	MaxEventsShown = 50
)

// Visit is one session with what happened in it, for the dashboard.
type Visit struct {
	Session    store.Session
	Visitor    store.Visitor
	Pages      []store.Hit   // the first MaxPagesShown page views, in order
	Events     []store.Event // the first MaxEventsShown events, in order
	Properties []NamedProperty
}

// NamedProperty is a visitor property with its name.
type NamedProperty struct {
	Name  string
	Value string
}

// HasVisits reports whether site has any session stored: one seek.
func (t *Tracker) HasVisits(ctx context.Context, site uint32) (bool, error) {
	found := false
	err := t.db.ScanPrefix(ctx, store.SessionPrefix(site), true, 1, func(_, _ []byte) bool {
		found = true
		return false
	})
	if err != nil {
		return false, fmt.Errorf("any visit: %w", err)
	}
	return found, nil
}

// Recent returns the latest n sessions of a site, newest first, each with
// its pages, events, visitor and the visitor's properties.
func (t *Tracker) Recent(ctx context.Context, site uint32, n int) ([]Visit, error) {
	var visits []Visit
	var derr error
	err := t.db.ScanPrefix(ctx, store.SessionPrefix(site), true, n, func(_, v []byte) bool {
		s, err := store.DecodeSession(v)
		if err != nil {
			derr = err
			return false
		}
		visits = append(visits, Visit{Session: s})
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("recent visits: %w", err)
	}
	for i := range visits {
		if err := t.fill(ctx, site, &visits[i]); err != nil {
			return nil, fmt.Errorf("recent visits: session %d: %w", visits[i].Session.ID, err)
		}
	}
	return visits, nil
}

// ErrNoSession is Visit's answer for a session the site does not have.
var ErrNoSession = errors.New("visits: no such session")

// Visit returns one session of a site with its pages, events, visitor and
// the visitor's properties, as Recent does for the latest ones.
func (t *Tracker) Visit(ctx context.Context, site uint32, session uint64) (Visit, error) {
	b, err := t.db.Get(store.SessionKey(site, session))
	if errors.Is(err, store.ErrNotFound) {
		return Visit{}, ErrNoSession
	}
	if err != nil {
		return Visit{}, fmt.Errorf("visit %d: %w", session, err)
	}
	s, err := store.DecodeSession(b)
	if err != nil {
		return Visit{}, fmt.Errorf("visit %d: %w", session, err)
	}
	v := Visit{Session: s}
	if err := t.fill(ctx, site, &v); err != nil {
		return Visit{}, fmt.Errorf("visit %d: %w", session, err)
	}
	return v, nil
}

// fill reads a visit's pages, events, visitor and properties.
func (t *Tracker) fill(ctx context.Context, site uint32, v *Visit) error {
	sid := v.Session.ID
	var derr error
	err := t.db.ScanPrefix(ctx, store.HitPrefix(site, sid), false, MaxPagesShown, func(k, b []byte) bool {
		_, id, _ := store.SessionItemIDs(k)
		h, err := store.DecodeHit(sid, id, b)
		if err != nil {
			derr = err
			return false
		}
		v.Pages = append(v.Pages, h)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("pages: %w", err)
	}
	err = t.db.ScanPrefix(ctx, store.EventPrefix(site, sid), false, MaxEventsShown, func(k, b []byte) bool {
		_, id, _ := store.SessionItemIDs(k)
		e, err := store.DecodeEvent(sid, id, b)
		if err != nil {
			derr = err
			return false
		}
		v.Events = append(v.Events, e)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	b, err := t.db.Get(store.VisitorKey(v.Session.Visitor))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("visitor: %w", err)
	}
	if v.Visitor, err = store.DecodeVisitor(b); err != nil {
		return fmt.Errorf("visitor: %w", err)
	}
	prefix := store.PropertyPrefix(v.Visitor.ID)
	err = t.db.ScanPrefix(ctx, prefix, false, MaxProperties, func(k, b []byte) bool {
		p, err := store.DecodeProperty(b)
		if err != nil {
			derr = err
			return false
		}
		if p.Name == "" {
			p.Name = string(k[len(prefix):]) // version 1: the name as written
		}
		v.Properties = append(v.Properties, NamedProperty{Name: p.Name, Value: p.Value})
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("properties: %w", err)
	}
	return nil
}

// Totals are a site's roll-ups of one UTC day.
type Totals struct {
	Hits, Sessions, Visitors, NewVisitors, Events int64
	BotHits, BotSessions, BotEvents               int64
	Channels                                      map[Channel]int64 // sessions of people by channel
}

// Day returns a site's totals of the day that holds at, in the site's
// zone (ZoneWith; UTC without one).
func (t *Tracker) Day(site *store.Site, at time.Time) (Totals, error) {
	day := dayIn(at.UnixMilli(), t.location(site))
	tot := Totals{Channels: map[Channel]int64{}}
	lanes, err := t.counters(store.RollupKey(site.ID, day, MetricTraffic))
	if err != nil {
		return tot, err
	}
	for i, p := range []*int64{&tot.Hits, &tot.Sessions, &tot.Visitors, &tot.NewVisitors, &tot.Events,
		&tot.BotHits, &tot.BotSessions, &tot.BotEvents} {
		if i < len(lanes) {
			*p = lanes[i]
		}
	}
	for i, c := range channelLanes {
		if LaneChannels+i < len(lanes) {
			tot.Channels[c] = lanes[LaneChannels+i]
		}
	}
	// Days counted before the channels joined the traffic's lanes.
	lanes, err = t.counters(store.RollupKey(site.ID, day, MetricChannels))
	if err != nil {
		return tot, err
	}
	for i, c := range channelLanes {
		if i < len(lanes) {
			tot.Channels[c] += lanes[i]
		}
	}
	return tot, nil
}

func (t *Tracker) counters(key []byte) ([]int64, error) {
	b, err := t.db.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read roll-up: %w", err)
	}
	lanes, err := store.DecodeCounters(b)
	if err != nil {
		return nil, fmt.Errorf("read roll-up: %w", err)
	}
	return lanes, nil
}

// Now is the tracker's clock.
func (t *Tracker) Now() time.Time { return t.now() }
