package reports

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"time"

	"appliance/httpd/visits"
	"appliance/numbers/tracking"
	"appliance/store"
)

// Computed is every roll-up of one site computed from its raw records
// (Compute): what the live writes should have added, to answer reports
// from (the baseline the roll-ups are measured against, and their oracle
// in tests) or to write over the roll-ups (Rebuild).
type Computed struct {
	site    uint32
	loc     *time.Location
	rollups map[string]*[numLanes]int64
	touches map[uint64]store.Touch
	callers map[string]uint64
	// callDays are the calls page's daily counters (numbers/tracking's
	// MetricCalls: calls, attributed, answered) by the site's day, which
	// Rebuild moves into the site's zone with the roll-ups.
	callDays map[uint32]*[numLanes]int64
	// trafficDays are the site page's daily traffic counters (httpd/visits'
	// MetricTraffic: hits, sessions, visitors, new visitors, events, the
	// bots' own, sessions by channel) by the site's day, which Rebuild
	// moves with the roll-ups.
	trafficDays map[uint32]*[numLanes]int64

	// What the replay needs while it runs.
	dimsIndex map[string]uint32
	dimsList  []dims
	sessions  map[uint64]uint32 // session of a person -> its dims' index
	visitors  map[uint64]struct{}
	owners    map[uint64]uint64      // session of a person -> its visitor
	seenDays  map[[2]uint64]struct{} // (visitor, day) of a person's hit: counted in the day's visitors
	keys      []string               // rollups' keys, sorted (after Compute)
}

// Compute replays the site's sessions, events, leads, callbacks, calls and chats
// from the store in the order they were stored (their ids) through the
// same counting the live writes do, into memory. It reads every record of
// the site: its time grows with the site's history, not the range asked.
func Compute(ctx context.Context, db *store.DB, site *store.Site, loc *time.Location) (*Computed, error) {
	return compute(ctx, db, site, loc, nil)
}

// progressEvery is how many sessions a replay counts between two calls of
// its progress function.
const progressEvery = 1000

// compute is Compute that, when progress is not nil, first counts the
// site's sessions, then calls progress with the sessions replayed and that
// total every progressEvery sessions and at the end.
func compute(ctx context.Context, db store.Reader, site *store.Site, loc *time.Location, progress func(done, total int64)) (*Computed, error) {
	var total, done int64
	if progress != nil {
		err := db.ScanPrefix(ctx, store.SessionPrefix(site.ID), false, 0, func(_, _ []byte) bool {
			total++
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("compute reports: %w", err)
		}
		progress(0, total)
	}
	m := &Computed{site: site.ID, loc: loc, rollups: map[string]*[numLanes]int64{},
		touches: map[uint64]store.Touch{}, callers: map[string]uint64{}, callDays: map[uint32]*[numLanes]int64{},
		trafficDays: map[uint32]*[numLanes]int64{}, dimsIndex: map[string]uint32{}, sessions: map[uint64]uint32{},
		visitors: map[uint64]struct{}{}, owners: map[uint64]uint64{}, seenDays: map[[2]uint64]struct{}{}}
	c := &counter{l: m, db: db, site: site.ID, loc: loc}

	// Outcomes are few beside sessions: read them all, then replay them
	// between the sessions by id.
	type outcome struct {
		id    uint64
		count func() error
	}
	var outs []outcome
	var derr error
	// Leads and callback requests staff marked spam are not counted.
	spamLeads, err := spamIDs(ctx, db, site.ID, store.MarkLead)
	if err != nil {
		return nil, fmt.Errorf("compute reports: %w", err)
	}
	spamCallbacks, err := spamIDs(ctx, db, site.ID, store.MarkCallback)
	if err != nil {
		return nil, fmt.Errorf("compute reports: %w", err)
	}
	scan := func(prefix []byte, fn func(id uint64, v []byte) error) error {
		err := db.ScanPrefix(ctx, prefix, false, 0, func(k, v []byte) bool {
			id, _ := store.IDFromKey(k)
			if err := fn(id, v); err != nil {
				derr = err
				return false
			}
			return true
		})
		if err == nil {
			err = derr
		}
		return err
	}
	err = scan(store.LeadPrefix(site.ID), func(id uint64, v []byte) error {
		if _, spam := spamLeads[id]; spam {
			return nil
		}
		l, err := store.DecodeLead(id, v)
		if err != nil {
			return fmt.Errorf("lead %d: %w", id, err)
		}
		outs = append(outs, outcome{id, func() error { return c.lead(&l) }})
		return nil
	})
	if err == nil {
		err = scan(store.CallbackPrefix(site.ID), func(id uint64, v []byte) error {
			if _, spam := spamCallbacks[id]; spam {
				return nil
			}
			cb, err := store.DecodeCallback(id, v)
			if err != nil {
				return fmt.Errorf("callback %d: %w", id, err)
			}
			outs = append(outs, outcome{id, func() error { return c.callback(&cb) }})
			return nil
		})
	}
	if err == nil {
		err = scan(store.CallPrefix(site.ID), func(id uint64, v []byte) error {
			call, err := store.DecodeCall(id, v)
			if err != nil {
				return fmt.Errorf("call %d: %w", id, err)
			}
			m.countCallDay(&call)
			outs = append(outs, outcome{id, func() error { return c.call(&call) }})
			return nil
		})
	}
	if err == nil {
		err = scan(store.ChatPrefix(site.ID), func(id uint64, v []byte) error {
			ch, err := store.DecodeChat(site.ID, id, v)
			if err != nil {
				return fmt.Errorf("chat %d: %w", id, err)
			}
			outs = append(outs, outcome{id, func() error { return c.chat(&ch.Attribution, ch.Created) }})
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("compute reports: %w", err)
	}
	slices.SortFunc(outs, func(a, b outcome) int { return cmp.Compare(a.id, b.id) })
	next := 0
	err = scan(store.SessionPrefix(site.ID), func(id uint64, v []byte) error {
		for ; next < len(outs) && outs[next].id < id; next++ {
			if err := outs[next].count(); err != nil {
				return err
			}
		}
		if done++; progress != nil && done%progressEvery == 0 {
			progress(done, max(total, done))
		}
		s, err := store.DecodeSession(v)
		if err != nil {
			return fmt.Errorf("session %d: %w", id, err)
		}
		_, seen := m.visitors[s.Visitor]
		m.visitors[s.Visitor] = struct{}{}
		day := m.trafficDay(s.Started)
		if s.Bot {
			day[visits.LaneBotSessions]++
			return nil
		}
		day[visits.LaneSessions]++
		if !seen {
			day[visits.LaneNewVisitors]++
		}
		if l := slices.Index(visits.Channels(), visits.Channel(s.Channel)); l >= 0 {
			day[visits.LaneChannels+l]++
		}
		m.owners[s.ID] = s.Visitor
		src := s.TrafficSource()
		m.sessions[s.ID] = m.intern(dimsOf(&src))
		_, _, err = c.session(&s, !seen, nil)
		return err
	})
	for ; err == nil && next < len(outs); next++ {
		err = outs[next].count()
	}
	if err != nil {
		return nil, fmt.Errorf("compute reports: %w", err)
	}
	if progress != nil {
		progress(done, done)
	}
	// Events count on their session's rows: their order does not matter.
	err = db.ScanPrefix(ctx, store.SiteEventPrefix(site.ID), false, 0, func(k, v []byte) bool {
		sid, id, _ := store.SessionItemIDs(k)
		ev, err := store.DecodeEvent(sid, id, v)
		if err != nil {
			derr = fmt.Errorf("event %d: %w", id, err)
			return false
		}
		di, ok := m.sessions[sid]
		if !ok {
			m.trafficDay(ev.Time)[visits.LaneBotEvents]++ // a bot's (or its session is gone, as a bot's is never)
			return true
		}
		m.trafficDay(ev.Time)[visits.LaneEvents]++
		var lanes [numLanes]int64
		lanes[laneEvents] = 1
		t := time.UnixMilli(ev.Time)
		c.addDay(modelTraffic, uint32(DayOf(t, loc)), &m.dimsList[di], &lanes)
		c.row(dimHour, modelTraffic, hourOf(t, loc), nil, &lanes) // as counter.event
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("compute reports: %w", err)
	}
	// Page views: the day's hits, and its visitors (each person seen that
	// day once, as the tracker counts them: by their page views).
	err = db.ScanPrefix(ctx, store.SiteHitPrefix(site.ID), false, 0, func(k, v []byte) bool {
		sid, id, _ := store.SessionItemIDs(k)
		h, err := store.DecodeHit(sid, id, v)
		if err != nil {
			derr = fmt.Errorf("hit %d: %w", id, err)
			return false
		}
		day := m.trafficDay(h.Time)
		visitor, person := m.owners[sid]
		if !person {
			day[visits.LaneBotHits]++
			return true
		}
		day[visits.LaneHits]++
		seen := [2]uint64{visitor, uint64(DayOf(time.UnixMilli(h.Time), loc))}
		if _, ok := m.seenDays[seen]; !ok {
			m.seenDays[seen] = struct{}{}
			day[visits.LaneVisitors]++
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("compute reports: %w", err)
	}
	m.dimsIndex, m.dimsList, m.sessions, m.visitors, m.owners, m.seenDays = nil, nil, nil, nil, nil, nil
	m.keys = make([]string, 0, len(m.rollups))
	for k := range m.rollups {
		m.keys = append(m.keys, k)
	}
	sort.Strings(m.keys)
	return m, nil
}

// countCallDay adds call to the calls page's counter of its day, as
// numbers/tracking's RecordCall and a later report that it was answered
// add to it.
func (m *Computed) countCallDay(call *store.Call) {
	day := uint32(DayOf(time.UnixMilli(call.Time), m.loc))
	l := m.callDays[day]
	if l == nil {
		l = new([numLanes]int64)
		m.callDays[day] = l
	}
	l[tracking.LaneCalls]++
	if call.Attributed {
		l[tracking.LaneCallsAttributed]++
	}
	if call.Answered {
		l[tracking.LaneCallsAnswered]++
	}
}

// trafficDay is the site page's traffic counter of the day of at (Unix
// ms).
func (m *Computed) trafficDay(at int64) *[numLanes]int64 {
	day := uint32(DayOf(time.UnixMilli(at), m.loc))
	l := m.trafficDays[day]
	if l == nil {
		l = new([numLanes]int64)
		m.trafficDays[day] = l
	}
	return l
}

func (m *Computed) intern(d dims) uint32 {
	k := binary.AppendUvarint(nil, uint64(len(d.term)))
	k = append(k, d.term...)
	k = binary.AppendUvarint(k, uint64(len(d.landing)))
	k = append(k, d.landing...)
	k = append(k, d.ref...)
	if i, ok := m.dimsIndex[string(k)]; ok {
		return i
	}
	i := uint32(len(m.dimsList))
	m.dimsIndex[string(k)] = i
	m.dimsList = append(m.dimsList, d)
	return i
}

// The ledger of a replay.

func (m *Computed) add(key []byte, lanes *[numLanes]int64) {
	v := m.rollups[string(key)]
	if v == nil {
		v = new([numLanes]int64)
		m.rollups[string(key)] = v
	}
	for i, x := range lanes {
		v[i] += x
	}
}

func (m *Computed) touch(visitor uint64) (store.Touch, bool, error) {
	t, ok := m.touches[visitor]
	return t, ok, nil
}

func (m *Computed) setTouch(visitor uint64, t store.Touch) { m.touches[visitor] = t }

func (m *Computed) sessionDims(_ uint32, id uint64) (dims, bool, error) {
	i, ok := m.sessions[id]
	if !ok {
		return dims{}, false, nil
	}
	return m.dimsList[i], true, nil
}

func (m *Computed) firstCall(_ uint32, caller string, id uint64) (bool, error) {
	if _, ok := m.callers[caller]; ok {
		return false, nil
	}
	m.callers[caller] = id
	return true, nil
}

// scan is the view of the computed roll-ups.
func (m *Computed) scan(_ context.Context, lower, upper []byte, fn func(key []byte, lanes []int64) error) error {
	i := sort.SearchStrings(m.keys, string(lower))
	for ; i < len(m.keys) && m.keys[i] < string(upper); i++ {
		if err := fn([]byte(m.keys[i]), m.rollups[m.keys[i]][:]); err != nil {
			return err
		}
	}
	return nil
}
