package tracking

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"appliance/numbers"
	"appliance/store"
)

// Type says how a visitor got a replacement number.
type Type string

// Types of replacement, as getPhones/getReplacedPhones name them.
const (
	Static  Type = "static"  // a static number, or a pool's fallback
	Dynamic Type = "dynamic" // a number leased to the visitor
)

// Replacement is the number shown in place of one site number.
type Replacement struct {
	Site   numbers.Phone // the site's own number, as the page shows it
	Number numbers.Phone // the number shown instead
	Type   Type
	Pool   string    // the pool it is from (its fallback included); "" for a static number
	Until  time.Time // when the lease lapses unless renewed; zero unless Dynamic
}

// Assignment is what one page view of a visitor is shown: the replacement
// of each site number that a rule covers, and the writes that record the
// leases behind them ([Assignment.Persist]).
type Assignment struct {
	Replacements []Replacement
	Selectors    []string // extra CSS selectors of the site; shared, do not modify
	// TTL is how long the answer may be applied again from the visitor's
	// cache: until the first of its leases lapses, or SessionLifetime when
	// it holds none.
	TTL time.Duration
	// Renew is how often a page kept visible should renew the leases; zero
	// when there are none.
	Renew time.Duration

	site    uint32
	visitor uint64
	session uint64
	visit   numbers.Visit
	now     time.Time
	loc     *time.Location // the site's, for the day and hour counted
	leases  []leaseWrite
	misses  []uint32    // pools that were full
	limited []uint32    // pools whose address cap refused the visitor
	sealed  *sealedFlag // the tracker's: Persist deletes the sealed leases while it is set
}

// assignSpace holds the replacements and leases of an assignment of a
// site with up to two site numbers and one pool.
type assignSpace struct {
	reps   [2]Replacement
	leases [1]leaseWrite
}

// leaseWrite is one lease of the assignment as Persist writes it.
type leaseWrite struct {
	pool  uint32
	from  *numbers.Pool // that gave the lease, to mark its claim recorded
	lease numbers.Lease
}

// Assigns reports whether Assign may give site's visitors numbers: false
// when the site has no site numbers to replace (Assign then answers an
// empty assignment), so a hit on it need not prepare one.
func (t *Tracker) Assigns(site uint32) bool {
	ss := t.state.Load().sites[site]
	return ss != nil && len(ss.numbers) > 0
}

// Assign decides the numbers a page view of visitor (in session, coming
// from visit) on site is shown, at now. For each site number, the matching
// rule of the highest priority, then the most specific, decides: a static
// number, or a pool, from which the visitor leases a number (or renews the
// one it holds; one lease per pool however many site numbers it replaces).
// A bot never leases: it is shown the pool's fallback. A full pool gives
// its fallback, and the miss is counted; so does a pool whose numbers
// visitors from the visitor's address already hold their share of
// (AssignIn), counted apart as limited. A site number no rule covers is
// left alone, unless the visitor holds a live lease of a pool that
// replaces it: the visitor keeps that number across sessions (a return by
// a bookmark shows it again and renews it).
//
// The leases are live in memory when Assign returns; the caller makes them
// durable by calling Persist in the write that records the page view, and
// answers only after it. A site without numbers gets an empty Assignment.
func (t *Tracker) Assign(site uint32, visitor, session uint64, visit numbers.Visit, bot bool, now time.Time) (Assignment, error) {
	return t.AssignIn(nil, site, visitor, session, 0, visit, bot, now)
}

// keepLease adds the lease l of pool p to the assignment's writes (room
// made for the site's pools, n) and returns the shortest reservation of
// its pools, given minReserve of those before (0: none).
func (a *Assignment) keepLease(p *pool, l numbers.Lease, n int, minReserve time.Duration) time.Duration {
	if cap(a.leases) == 0 {
		a.leases = make([]leaseWrite, 0, n)
	}
	a.leases = append(a.leases, leaseWrite{pool: p.cfg.ID, from: p.live, lease: l})
	if r := p.live.Reserve(); minReserve == 0 || r < minReserve {
		return r
	}
	return minReserve
}

// AssignSpace is room for an Assignment's replacements and leases of the
// usual site (a number or two, one pool), which a caller that keeps the
// Assignment in an object of its own (the hit's numbers hook) holds there:
// one allocation less a page view.
type AssignSpace struct{ s assignSpace }

// AssignIn is Assign, the assignment's replacements and leases in space
// when they fit (nil: in an allocation of their own), of a visitor coming
// from addr (numbers.AddrKey of its address; 0: unknown), whose claims
// each pool's address cap limits. The Assignment refers to space: space
// must live as long as it and hold no other.
func (t *Tracker) AssignIn(space *AssignSpace, site uint32, visitor, session, addr uint64, visit numbers.Visit, bot bool, now time.Time) (Assignment, error) {
	if visitor == 0 {
		return Assignment{}, fmt.Errorf("assign numbers: %w", ErrVisitor)
	}
	ss := t.state.Load().sites[site]
	if ss == nil || len(ss.numbers) == 0 {
		return Assignment{}, nil
	}
	a := Assignment{Selectors: ss.cfg.Selectors, site: site, visitor: visitor, session: session, visit: visit, now: now, loc: t.location(site), sealed: &t.sealedLive}
	// One answer per pool, however many site numbers it replaces.
	type got struct {
		p     *pool
		lease numbers.Lease
		err   error
	}
	var buf [4]got // on the stack for the usual few pools
	pools := buf[:0]
	if len(ss.numbers) <= 2 && len(ss.pools) <= 1 {
		// The usual site, with a number or two and a pool: one
		// allocation for the answer and its lease.
		if space == nil {
			space = new(AssignSpace)
		}
		sp := &space.s
		a.Replacements, a.leases = sp.reps[:0:len(ss.numbers)], sp.leases[:0:len(ss.pools)]
	} else {
		a.Replacements = make([]Replacement, 0, len(ss.numbers))
	}
	var minReserve time.Duration
	for i, sn := range ss.numbers {
		j := numbers.Choose(ss.ranked[i], visit)
		if j < 0 {
			// No rule covers this page view (the visitor came back by a
			// bookmark, or typed the address): one who still holds a
			// number of a pool that replaces this site number keeps it,
			// across sessions, and renews it; the lease stays the visit's
			// that claimed it, which a call is attributed to.
			if bot {
				continue
			}
			for _, c := range ss.cands[i] {
				p := c.pool
				if p == nil {
					continue
				}
				k := 0
				for k < len(pools) && pools[k].p != p {
					k++
				}
				if k == len(pools) {
					l, ok := p.live.Renew(visitor, now)
					if !ok {
						continue
					}
					pools = append(pools, got{p, l, nil})
					minReserve = a.keepLease(p, l, len(ss.pools), minReserve)
				}
				if g := pools[k]; g.err == nil {
					a.Replacements = append(a.Replacements, Replacement{Site: sn, Number: p.phone(g.lease.Slot), Type: Dynamic,
						Pool: p.cfg.Name, Until: g.lease.Until})
					break
				}
			}
			continue
		}
		c := ss.cands[i][j]
		if c.static != nil {
			a.Replacements = append(a.Replacements, Replacement{Site: sn, Number: c.static.phone, Type: Static})
			continue
		}
		p := c.pool
		if bot {
			if p.fallback != nil {
				a.Replacements = append(a.Replacements, Replacement{Site: sn, Number: *p.fallback, Type: Static, Pool: p.cfg.Name})
			}
			continue
		}
		k := 0
		for k < len(pools) && pools[k].p != p {
			k++
		}
		if k == len(pools) {
			l, err := p.live.AcquireFrom(visitor, addr, now)
			pools = append(pools, got{p, l, err})
			switch {
			case errors.Is(err, numbers.ErrExhausted):
				a.misses = append(a.misses, p.cfg.ID)
			case errors.Is(err, numbers.ErrAddrCap):
				a.limited = append(a.limited, p.cfg.ID)
			case err != nil:
				return Assignment{}, fmt.Errorf("assign numbers of pool %q: %w", p.cfg.Name, err)
			default:
				minReserve = a.keepLease(p, l, len(ss.pools), minReserve)
			}
		}
		if g := pools[k]; g.err == nil {
			a.Replacements = append(a.Replacements, Replacement{Site: sn, Number: p.phone(g.lease.Slot), Type: Dynamic,
				Pool: p.cfg.Name, Until: g.lease.Until})
		} else if p.fallback != nil {
			a.Replacements = append(a.Replacements, Replacement{Site: sn, Number: *p.fallback, Type: Static, Pool: p.cfg.Name})
		}
	}
	a.TTL = SessionLifetime
	for _, r := range a.Replacements {
		if r.Type == Dynamic {
			a.TTL = min(a.TTL, r.Until.Sub(now))
		}
	}
	if minReserve > 0 {
		// Often enough that a page kept open never loses its number, rarely
		// enough to cost nothing.
		a.Renew = min(max(minReserve/4, time.Minute), 10*time.Minute)
		a.TTL = min(a.TTL, minReserve) // a lease a visitor stops renewing
	}
	return a, nil
}

// Roll-up metrics of call tracking (store.RollupKey), per site and UTC day.
const (
	// MetricPool + pool id ("n.3") has the lanes LanePool*, and is the
	// high-water mark (store.HighKey) of the day's peak in lane 0.
	MetricPool = "n."
	// MetricCalls has the lanes LaneCall*.
	MetricCalls = "call"
)

// Lanes of a pool's daily counter, which claims and misses wrote beside
// their hour's until they went to the hour's counter alone (a memtable
// entry a claim less); reports add both.
const (
	LanePoolClaims = iota // leases claimed
	LanePoolMisses        // page views that found the pool full
	// LanePoolPeak was the most leases live at once, raised by a claim
	// that read the counter; days written since are in the high-water
	// mark, raised blindly.
	LanePoolPeak
)

// Lanes of a pool's hourly counter (poolHourMetric). An hour written
// before the daily counter's lanes moved there has only its demand.
const (
	LaneHourDemand = iota // claims and misses: the hour's demand
	LaneHourClaims        // leases claimed
	LaneHourMisses        // page views that found the pool full
	// LaneHourLimited counts page views refused a number because visitors
	// from their address held the pool's address cap; not demand (an
	// attack would size the pool for itself).
	LaneHourLimited
)

// Lanes of MetricCalls.
const (
	LaneCalls = iota
	LaneCallsAttributed
	LaneCallsAnswered
)

// poolMetric is the metric of a pool's daily counter; poolHourMetric, of
// one hour's demand (claims and misses) in lane 0, for the busy hour.
func poolMetric(pool uint32) string {
	var b [24]byte
	return string(appendPoolMetric(b[:0], pool))
}

func poolHourMetric(pool uint32, hour int) string {
	var b [24]byte
	return string(appendPoolHourMetric(b[:0], pool, hour))
}

// PoolMetric is the metric of a pool's daily counter and high-water mark
// (a rebuild of the reports moves them into the site's zone).
func PoolMetric(pool uint32) string { return poolMetric(pool) }

// PoolHourMetric is the metric of a pool's counter of an hour (0-23) of a
// day.
func PoolHourMetric(pool uint32, hour int) string { return poolHourMetric(pool, hour) }

// appendPoolMetric appends poolMetric(pool) to b: a claim writes two
// keys named by it (the high-water mark, the hour's counter), built on
// the stack.
func appendPoolMetric(b []byte, pool uint32) []byte {
	return strconv.AppendUint(append(b, MetricPool...), uint64(pool), 10)
}

// appendPoolHourMetric appends poolHourMetric(pool, hour) (hour 0-23).
func appendPoolHourMetric(b []byte, pool uint32, hour int) []byte {
	b = append(appendPoolMetric(b, pool), ".h"...)
	if hour < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(hour), 10)
}

// Day is the roll-up day of t in loc: the date t has there, as days from
// 1970-01-01 to it. A site's counters are kept by its own days.
func Day(t time.Time, loc *time.Location) uint32 {
	y, m, d := t.In(loc).Date()
	return uint32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Persist writes the assignment's leases to the lease history in tx, the
// write that records the page view: the claim of a fresh lease, the until
// of every lease (merged by the later, so never moved back whatever order
// concurrent page views of one visitor are written in), and the day's pool
// counters. It reads nothing (every write is blind), so it costs the same
// wherever the store is. A renew writes one 8-byte merge operand; it writes
// a copy of the claim too while the claim's own write is not known durable,
// so that no order of writes keeps a renew without its claim; the claim's
// own record wins over the copy whichever is written first (store.Tx.KeepClaim). The first lease a
// tracker writes deletes the leases a clean shutdown sealed (Seal).
func (a *Assignment) Persist(tx *store.Tx) error {
	if len(a.leases) == 0 && len(a.misses) == 0 && len(a.limited) == 0 {
		return nil
	}
	if len(a.leases) > 0 {
		unseal(tx, a.sealed)
	}
	local := a.now.In(a.loc)
	day, hour := Day(local, a.loc), local.Hour()
	var key [2 + store.MaxLeaseNumber + 9]byte
	var metric, hourMetric [24]byte
	for _, w := range a.leases {
		l := w.lease
		since := l.Since.UnixNano()
		if l.Fresh || !l.Recorded {
			rec := a.leaseRecord(w.pool)
			var buf [512]byte // the batch copies it
			if l.Fresh {
				tx.Set(store.LeaseClaimKey(l.Number, since), rec.AppendEncode(buf[:0]))
			} else {
				// A copy, from this page view's session, which never
				// replaces the claim's own record: a renew from another
				// session (a return by a bookmark) written after the claim
				// rewrote the claim's source and session with its own.
				tx.KeepClaim(store.LeaseClaimKey(l.Number, since), rec.AppendEncode(buf[:0]))
			}
			from := w.from
			tx.AfterCommit(func() { from.MarkRecorded(l) })
		}
		tx.ExtendLease(store.AppendLeaseKey(key[:0], l.Number, since, true), l.Until.UnixNano())
		if l.Fresh {
			tx.AddLanes(store.RollupKey(a.site, day, string(appendPoolHourMetric(hourMetric[:0], w.pool, hour))), []int64{LaneHourDemand: 1, LaneHourClaims: 1})
			tx.Raise(store.HighKey(a.site, day, string(appendPoolMetric(metric[:0], w.pool))), 0, int64(l.Live))
		}
	}
	for _, p := range a.misses {
		tx.AddLanes(store.RollupKey(a.site, day, string(appendPoolHourMetric(hourMetric[:0], p, hour))), []int64{LaneHourDemand: 1, LaneHourMisses: 1})
	}
	for _, p := range a.limited {
		tx.AddLanes(store.RollupKey(a.site, day, string(appendPoolHourMetric(hourMetric[:0], p, hour))), []int64{LaneHourLimited: 1})
	}
	return nil
}

func (a *Assignment) leaseRecord(pool uint32) store.Lease {
	v := a.visit
	return store.Lease{Site: a.site, Pool: pool, Visitor: a.visitor, Session: a.session, Source: store.Source{
		Channel: v.Channel, UTMSource: v.UTMSource, UTMMedium: v.UTMMedium, UTMCampaign: v.UTMCampaign,
		UTMTerm: v.UTMTerm, UTMContent: v.UTMContent, Click: v.Click, Referrer: v.Referrer, Landing: v.Landing}}
}

// VisitOf is what the rules look at in a session: its traffic source and
// landing page.
func VisitOf(s *store.Session) numbers.Visit {
	return numbers.Visit{UTMSource: s.UTMSource, UTMMedium: s.UTMMedium, UTMCampaign: s.UTMCampaign,
		UTMTerm: s.UTMTerm, UTMContent: s.UTMContent, Click: s.Click, Channel: s.Channel,
		Referrer: s.Referrer, Landing: s.Landing}
}

// AssignSession assigns the numbers of a page view in sess (of visitor
// sess.Visitor, a bot when sess.Bot) and makes them durable in a write of
// their own. It is for requests that record nothing else, such as the
// snippet's lease heartbeat; a page view calls Assign and Persist in its
// own write.
func (t *Tracker) AssignSession(ctx context.Context, site uint32, sess *store.Session, now time.Time) (Assignment, error) {
	a, err := t.Assign(site, sess.Visitor, sess.ID, VisitOf(sess), sess.Bot, now)
	if err != nil {
		return Assignment{}, err
	}
	if len(a.leases) == 0 && len(a.misses) == 0 && len(a.limited) == 0 {
		return a, nil
	}
	if err := t.db.Update(ctx, a.Persist); err != nil {
		return Assignment{}, fmt.Errorf("persist numbers of session %d: %w", sess.ID, err)
	}
	return a, nil
}

// Heartbeat renews the leases of visitor's page in session on site, as a
// page kept visible does, and returns the assignment (a lease that lapsed
// meanwhile is claimed anew). A pool it finds full is not counted as a
// miss: that is counted by page views. ErrNoSession when the session is not the
// visitor's on the site. addr is the visitor's address, as AssignIn takes
// it: a lapsed lease claimed anew is under the address cap.
func (t *Tracker) Heartbeat(ctx context.Context, site uint32, visitor, session, addr uint64, now time.Time) (Assignment, error) {
	b, err := t.db.Get(store.SessionKey(site, session))
	if errors.Is(err, store.ErrNotFound) {
		return Assignment{}, ErrNoSession.Errorf("heartbeat of session %d", session)
	}
	if err != nil {
		return Assignment{}, fmt.Errorf("heartbeat of session %d: %w", session, err)
	}
	s, err := store.DecodeSession(b)
	if err != nil {
		return Assignment{}, fmt.Errorf("heartbeat of session %d: %w", session, err)
	}
	if s.Visitor != visitor {
		return Assignment{}, ErrNoSession.Errorf("heartbeat of session %d", session)
	}
	a, err := t.AssignIn(nil, site, s.Visitor, s.ID, addr, VisitOf(&s), s.Bot, now)
	if err != nil {
		return Assignment{}, err
	}
	// A heartbeat is no page view: a pool full when it comes (the page
	// shows its fallback) was counted when the page was viewed, not again
	// every few minutes it stays open.
	a.misses, a.limited = nil, nil
	if len(a.leases) == 0 {
		return a, nil
	}
	if err := t.db.Update(ctx, a.Persist); err != nil {
		return Assignment{}, fmt.Errorf("persist numbers of session %d: %w", s.ID, err)
	}
	return a, nil
}

// Preview is what a visit would be shown for one site number, and why,
// without leasing anything: the rule test of the dashboard.
type Preview struct {
	Site     numbers.Phone
	Number   string // the static number, or "" for a pool (its number is leased on the visit)
	Pool     string // the pool that would lease one, and its fallback when full
	Fallback string
	Rule     string // the deciding rule's text; "" matches all traffic
	Priority int64
	Type     Type // "" when no rule covers the site number
	Free     int  // numbers of the pool free now
}

// Preview tells, for each site number of site, which rule decides a visit
// and what it would show, at now. Nothing is leased or counted.
func (t *Tracker) Preview(site uint32, v numbers.Visit, now time.Time) []Preview {
	ss := t.state.Load().sites[site]
	if ss == nil {
		return nil
	}
	out := make([]Preview, 0, len(ss.numbers))
	for i, sn := range ss.numbers {
		p := Preview{Site: sn}
		if j := numbers.Choose(ss.ranked[i], v); j >= 0 {
			switch c := ss.cands[i][j]; {
			case c.static != nil:
				p.Number, p.Rule, p.Priority, p.Type = c.static.phone.Digits, c.static.cfg.Rule, c.static.cfg.Priority, Static
			default:
				p.Pool, p.Rule, p.Priority, p.Type = c.pool.cfg.Name, c.pool.cfg.Rule, c.pool.cfg.Priority, Dynamic
				p.Fallback = c.pool.cfg.Fallback
				p.Free = c.pool.live.Size() - c.pool.live.Live(now)
			}
		}
		out = append(out, p)
	}
	return out
}
