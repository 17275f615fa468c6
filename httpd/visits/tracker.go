package visits

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"appliance/internal/memo"
	"appliance/numbers"
	"appliance/store"
)

// Roll-up metrics (store.RollupKey) kept by the tracker, one value per site
// and UTC day.
const (
	// MetricTraffic has the lanes Lane*.
	MetricTraffic = "t"
	// MetricChannels has one lane per channel, in Channels() order:
	// sessions of people (not bots) by channel. Written before the
	// channels moved into MetricTraffic's lanes from LaneChannels on
	// (one merge operand a session rather than two); read still, and
	// added to those, for the days it holds.
	MetricChannels = "c"
)

// Lanes of MetricTraffic. Hits, sessions, visitors and events are of
// people; bots are counted in their own lanes only.
const (
	LaneHits        = iota
	LaneSessions    // sessions started
	LaneVisitors    // distinct visitors seen that day
	LaneNewVisitors // visitors first seen that day
	LaneEvents
	LaneBotHits
	LaneBotSessions
	LaneBotEvents
	// LaneChannels is the first of the lanes of the sessions of people by
	// channel, one a channel in Channels() order.
	LaneChannels
)

// Tracker records page views, events, visitor info and properties of
// sites in the store, and reads them back for the dashboard. Every write
// returns only once it is durable (store.DB.Update).
type Tracker struct {
	db      *store.DB
	now     func() time.Time
	region  string                           // visitors' phones without a country code are read in it
	counter Counter                          // nil: nothing else counts
	zone    func(*store.Site) *time.Location // nil: UTC days
	active  *active                          // visitors seen lately (active.go)
	bots    memo.Cache[bool]                 // IsBot's answers per user agent (Max maxBotCache)
}

// Counter is told, inside the durable write, of each session a hit starts
// and each event stored, so that what it counts is written with them or
// not at all (the reports' roll-ups: reports.Service). Its methods must be
// quick and must not block. CountEvent runs in the store's writer;
// CountSession runs in the hit's prepared write (store.DB.Prepare), in
// the handler's goroutine with the session's visitor locked: it may read
// what only that visitor's sessions write (its touch), not what other
// visitors' writes change. CountSession returns the visitor's touch it
// wrote (written false: none), which the tracker remembers with the
// visitor and hands back as known on the visitor's next session (hasKnown
// false when it does not remember it), so that the counter need not read
// it. The session and the touch are passed by value, so that the hit's own
// stay on its stack. A touch
// written by anything else must be followed by Tracker.Forget.
type Counter interface {
	CountSession(tx *store.Tx, site *store.Site, s store.Session, newVisitor bool, known store.Touch, hasKnown bool) (touch store.Touch, written bool, err error)
	CountEvent(tx *store.Tx, site *store.Site, s *store.Session, at int64) error
}

// Forget drops everything the tracker remembers of its visitors (their
// next hits read the store): for a change of what it remembers made
// outside it, such as the reports' rebuild of the touches its Counter
// wrote.
func (t *Tracker) Forget() { t.active.forgetAll() }

// CountWith makes c the tracker's Counter. Call it before the tracker
// records anything (when the server is built).
func (t *Tracker) CountWith(c Counter) { t.counter = c }

// ZoneWith makes zone the function that says a site's time zone: the
// day roll-ups (the site page's "today") count the site's days. Without
// it days are UTC days. Call it before the tracker records anything.
func (t *Tracker) ZoneWith(zone func(*store.Site) *time.Location) { t.zone = zone }

// location is the zone whose days site's roll-ups count.
func (t *Tracker) location(site *store.Site) *time.Location {
	if t.zone == nil {
		return time.UTC
	}
	return t.zone(site)
}

// NewTracker returns a tracker over db. now is its clock, time.Now when
// nil; tests pass their own to move time without sleeping. A visitor's
// phone without a country code is read in region (numbers.DefaultRegion
// when ""). A store has one tracker that writes: it remembers the visitors
// it writes and locks them (active.go), so a second one writing beside it
// would decide from records the first has changed.
func NewTracker(db *store.DB, now func() time.Time, region string) *Tracker {
	if now == nil {
		now = time.Now
	}
	if region == "" {
		region = numbers.DefaultRegion
	}
	return &Tracker{db: db, now: now, region: region, active: &active{}, bots: memo.Cache[bool]{Max: maxBotCache}}
}

// PageView is one hit as the snippet reports it.
type PageView struct {
	CI       string // the visitor's compound id, "" on a first visit
	URL      string // location.href
	Referrer string // document.referrer, or the previous URL of an SPA
	Title    string
	// UserAgent may alias a buffer of the request (fasthttp's header):
	// nothing keeps it past Hit's return uncopied (the batch copies what
	// it writes, the active visitors pack their strings into one of their
	// own, the bot cache clones its keys), so a new session's user agent
	// needs no copy of its own.
	UserAgent string
	// Page, when not nil, is URL as ParsePageURL("u", MendURL(URL)) parsed
	// it (the handler did, to check the page's origin): it is not parsed
	// again. Hit mends URL and Referrer (MendURL): the snippet cuts them.
	Page *url.URL
	// Also, when set, runs inside the hit's durable write, after the hit's
	// own writes, with the hit's result: its writes join the hit's batch
	// and its error fails the hit (nothing of it is stored). It runs in the
	// hit's prepared write (store.DB.Prepare), in the handler's goroutine
	// with the visitor locked, so its writes must be blind (Set, merges):
	// a read would not see what other visitors' hits are writing.
	Also HitHook
}

// HitHook is what PageView.Also runs in a hit's write: an interface
// rather than a func, so that the caller's state and its hook are one
// allocation.
type HitHook interface {
	InHit(tx *store.Tx, res HitResult) error
}

// HitResult is the outcome of a hit.
type HitResult struct {
	CI         CI // the visitor's compound id from now on
	Hit        uint64
	NewSession bool
	NewVisitor bool
	Session    store.Session // the session after the hit
}

// pageView is a validated PageView.
type pageView struct {
	ci    CI     // zero on a first visit
	src   Source // without Channel and Network: a hit that starts a session classifies it
	title string
	ua    string
	bot   bool
}

func preparePageView(site *store.Site, pv PageView) (pageView, error) {
	var p pageView
	if pv.CI != "" {
		ci, err := ParseCI(pv.CI)
		if err != nil {
			return p, err
		}
		p.ci = ci
	}
	pv.URL, pv.Referrer = MendURL(pv.URL), MendURL(pv.Referrer)
	pu := pv.Page
	if pu == nil {
		u, err := ParsePageURL("u", pv.URL)
		if err != nil {
			return p, err
		}
		pu = u
	}
	src, err := readSource("r", pu, pv.URL, pv.Referrer, site.Domains)
	if err != nil {
		return p, err
	}
	// The title is the page's, not the visitor's: a control character in
	// it is dropped rather than losing the page view.
	title := stripControl(pv.Title)
	if err := checkText("t", title, MaxTitle); err != nil {
		return p, err
	}
	p.src, p.title = src, title
	p.ua = cutUTF8(pv.UserAgent, MaxUserAgent)
	return p, nil
}

// Hit records a page view on site: it continues the visitor's session or
// starts a new one (and a new visitor when the ci names none of this
// site), stores the hit and counts it in the day's roll-ups.
//
// It decides in the caller's goroutine, from what the tracker remembers of
// the visitor (else from the store), with the ci's visitor locked until
// the write is durable, and hands the store's writer a prepared write.
func (t *Tracker) Hit(ctx context.Context, site *store.Site, pv PageView) (HitResult, error) {
	p, err := preparePageView(site, pv)
	if err != nil {
		return HitResult{}, err
	}
	p.bot = t.bots.Get(p.ua, IsBot)
	now, loc := t.now(), t.location(site)
	var known activeVisitor
	if p.ci.Visitor != 0 {
		defer t.active.lockVisitor(p.ci.Visitor).Unlock()
		known, _ = t.active.get(site.ID, p.ci.Visitor)
	}
	tx := t.db.Prepare()
	res, seen, err := t.hitTx(tx, site.ID, &p, &known, now, loc)
	if err == nil && res.NewSession && t.counter != nil {
		seen.touch, seen.hasTouch, err = t.counter.CountSession(tx, site, res.Session, res.NewVisitor, seen.touch, seen.hasTouch)
	}
	if err == nil && pv.Also != nil {
		err = pv.Also.InHit(tx, res)
	}
	if err != nil {
		tx.Discard()
		return HitResult{}, fmt.Errorf("record hit: %w", err)
	}
	if err := t.db.Commit(ctx, tx, nil); err != nil {
		if p.ci.Visitor != 0 {
			t.active.forget(p.ci.Visitor)
		}
		return HitResult{}, fmt.Errorf("record hit: %w", err)
	}
	t.active.put(res.Session.Visitor, seen)
	return res, nil
}

// hitTx prepares the writes of one hit in tx, from what is known of the
// ci's visitor (else read from the store), and returns what the visitor's
// state is once they are written. The caller holds the ci visitor's lock.
func (t *Tracker) hitTx(tx *store.Tx, site uint32, p *pageView, known *activeVisitor, now time.Time, loc *time.Location) (HitResult, activeVisitor, error) {
	nowMs := now.UnixMilli()
	dayOf := func(ms int64) uint32 { return dayIn(ms, loc) }
	today := dayOf(nowMs)
	// The hit's counts of the day's traffic and its session's channel,
	// written as one merge operand (one memtable entry rather than up to
	// five).
	var traffic [LaneChannels + len(channelLanes)]int64
	var res HitResult
	seen := activeVisitor{site: site}
	if known.hasVisitor {
		seen.visitor, seen.hasVisitor = known.visitor, true
	}

	sess, ok, err := t.continuedSession(tx, site, p, known, now)
	if err != nil {
		return res, seen, err
	}
	if ok {
		if dayOf(sess.LastHit) != today && !sess.Bot {
			// First hit of a new day in a session that spans midnight:
			// count the visitor for today.
			v, err := t.visitor(tx, sess.Visitor, known)
			if err != nil {
				return res, seen, err
			}
			if dayOf(v.LastSeen) != today {
				traffic[LaneVisitors]++
				v.LastSeen = nowMs
				tx.Set(store.VisitorKey(v.ID), v.Encode())
			}
			seen.visitor, seen.hasVisitor = v, true
		}
		sess.LastHit = max(sess.LastHit, nowMs)
		sess.Hits++
		res.CI = CI{Visitor: sess.Visitor, Session: sess.ID, First: p.ci.First}
	} else {
		v, isNew, err := t.visitorFor(tx, site, p, known, nowMs)
		if err != nil {
			return res, seen, err
		}
		p.src.Channel, p.src.Network = classify(p.src)
		switch {
		case p.bot:
			traffic[LaneBotSessions]++
		default:
			traffic[LaneSessions]++
			if isNew || dayOf(v.LastSeen) != today {
				traffic[LaneVisitors]++
			}
			if isNew {
				traffic[LaneNewVisitors]++
			}
			if l := p.src.Channel.lane(); l >= 0 {
				traffic[LaneChannels+l]++
			}
		}
		v.LastSeen = nowMs
		tx.Set(store.VisitorKey(v.ID), v.Encode())
		s := p.src
		sess = store.Session{
			ID: t.db.NextID(), Visitor: v.ID, Started: nowMs, LastHit: nowMs, Hits: 1,
			Channel: string(s.Channel), UTMSource: s.UTM.Source, UTMMedium: s.UTM.Medium,
			UTMCampaign: s.UTM.Campaign, UTMTerm: s.UTM.Term, UTMContent: s.UTM.Content,
			Click: s.Click, ClickID: s.ClickID, Referrer: s.Referrer, Landing: s.Landing,
			UserAgent: p.ua, Bot: p.bot,
		}
		store.IndexVisitorItem(tx, v.ID, store.ItemSession, sess.ID)
		res.CI = CI{Visitor: v.ID, Session: sess.ID, First: v.Created / 1000}
		res.NewSession, res.NewVisitor = true, isNew
		seen.visitor, seen.hasVisitor = v, true
	}
	if sess.Bot {
		traffic[LaneBotHits]++
	} else {
		traffic[LaneHits]++
	}
	n := len(traffic)
	for traffic[n-1] == 0 {
		n--
	}
	tx.AddLanes(store.RollupKey(site, today, MetricTraffic), traffic[:n])
	res.Hit = t.db.NextID()
	h := store.Hit{ID: res.Hit, Session: sess.ID, Time: nowMs, URL: p.src.Landing, Title: p.title}
	// Both encoded on the stack: the batch and the export entry copy them.
	var buf [1024]byte
	hv := h.AppendEncode(buf[:0])
	sv := sess.AppendEncode(hv[len(hv):])
	hk := store.HitKey(site, sess.ID, h.ID)
	tx.Set(hk, hv)
	// The hit's export entry carries the hit and its session as it is
	// after the hit: the exporter then reads nothing back from the store
	// for it.
	tx.ExportValue(hk, nowMs, hv, sv)
	if res.NewSession {
		tx.Set(store.SessionKey(site, sess.ID), sv)
	} else {
		// The session is stored (it was read, or remembered from its
		// write): the hit writes what it changes, its tail, not the
		// whole record again.
		tx.ContinueSession(site, &sess)
	}
	res.Session = sess
	switch {
	case res.NewSession:
		seen.session, seen.latest = sess, true // the newest id
	case sess.ID < known.session.ID:
		// An older session of the visitor (another tab's): the one
		// remembered stays.
		seen.session, seen.latest = known.session, known.latest
	default:
		seen.session, seen.latest = sess, known.latest && sess.ID == known.session.ID
	}
	if known.hasTouch && res.CI.Visitor == p.ci.Visitor {
		// The counter's touch of the ci's visitor (a new visitor has none).
		seen.touch, seen.hasTouch = known.touch, true
	}
	return res, seen, nil
}

// continuedSession returns the session the hit continues, if any: the ci's
// session on this site, of the ci's visitor, by the rule of Continues; when
// that one does not go on, the visitor's latest session if it is later and
// does (the hit of another tab opened it a moment ago: two pages opened at
// once from one ad make one session, not two). A session is read from the
// store unless it is the one remembered.
func (t *Tracker) continuedSession(tx *store.Tx, site uint32, p *pageView, known *activeVisitor, now time.Time) (store.Session, bool, error) {
	if p.ci.Session == 0 {
		return store.Session{}, false, nil
	}
	goesOn := func(s *store.Session) bool {
		return s.Visitor == p.ci.Visitor && Continues(time.UnixMilli(s.LastHit), sessionCampaign(s), now, p.src.Campaign())
	}
	s, found, err := t.session(tx, site, p.ci.Session, known)
	if err != nil || (found && goesOn(&s)) {
		return s, found, err
	}
	latest := known.session.ID
	if !known.latest {
		if latest, err = t.latestSession(site, p.ci.Visitor); err != nil {
			return store.Session{}, false, err
		}
	}
	if latest <= p.ci.Session {
		return store.Session{}, false, nil
	}
	s, found, err = t.session(tx, site, latest, known)
	if err != nil || !found || !goesOn(&s) {
		return store.Session{}, false, err
	}
	return s, true, nil
}

// session is session id of site, as remembered or read from the store;
// found is false when there is none.
func (t *Tracker) session(tx *store.Tx, site uint32, id uint64, known *activeVisitor) (s store.Session, found bool, err error) {
	if known.session.ID == id {
		return known.session, true, nil
	}
	b, err := tx.Get(store.SessionKey(site, id))
	if errors.Is(err, store.ErrNotFound) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("read session: %w", err)
	}
	// b is this read's own copy, never changed: the session's strings
	// may alias it rather than be copied one by one.
	if s, err = store.DecodeSessionView(b); err != nil {
		return s, false, fmt.Errorf("read session %d: %w", id, err)
	}
	return s, true, nil
}

// latestSession is the id of visitor's latest session on site from the
// store's visitor index; 0 when none is indexed.
func (t *Tracker) latestSession(site uint32, visitor uint64) (uint64, error) {
	var id uint64
	prefix := store.VisitorItemPrefix(visitor, store.ItemSession)
	err := t.db.Scan(context.Background(), prefix, store.PrefixEnd(prefix), true, 1, func(k, _ []byte) bool {
		if len(k) >= 8 {
			id = binary.BigEndian.Uint64(k[len(k)-8:])
		}
		return false
	})
	if err != nil {
		return 0, fmt.Errorf("latest session of visitor %d: %w", visitor, err)
	}
	return id, nil
}

// visitorFor is the ci's visitor when it is one of this site, else a new
// visitor (not yet stored).
func (t *Tracker) visitorFor(tx *store.Tx, site uint32, p *pageView, known *activeVisitor, nowMs int64) (store.Visitor, bool, error) {
	if p.ci.Visitor != 0 {
		v, err := t.visitor(tx, p.ci.Visitor, known)
		switch {
		case err == nil && v.Site == site:
			v.Bot = v.Bot || p.bot
			return v, false, nil
		case err != nil && !errors.Is(err, ErrUnknown):
			return v, false, err
		}
	}
	return store.Visitor{ID: t.db.NextID(), Site: site, Created: nowMs, Bot: p.bot}, true, nil
}

// visitor is the visitor id as known, else read from the store.
func (t *Tracker) visitor(tx *store.Tx, id uint64, known *activeVisitor) (store.Visitor, error) {
	if known.hasVisitor && known.visitor.ID == id {
		return known.visitor, nil
	}
	return getVisitor(tx, id)
}

// getVisitor reads a visitor; ErrUnknown when there is none.
func getVisitor(tx *store.Tx, id uint64) (store.Visitor, error) {
	b, err := tx.Get(store.VisitorKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return store.Visitor{}, ErrUnknown.Errorf("no visitor %d", id)
	}
	if err != nil {
		return store.Visitor{}, fmt.Errorf("read visitor: %w", err)
	}
	v, err := store.DecodeVisitor(b)
	if err != nil {
		return store.Visitor{}, fmt.Errorf("read visitor %d: %w", id, err)
	}
	return v, nil
}

// siteVisitor reads the ci's visitor and checks that it is of site.
func siteVisitor(tx *store.Tx, site uint32, ci CI) (store.Visitor, error) {
	v, err := getVisitor(tx, ci.Visitor)
	if err != nil {
		return v, err
	}
	if v.Site != site {
		return v, ErrUnknown.Errorf("no visitor %d on this site", ci.Visitor)
	}
	return v, nil
}

// siteSession reads the ci's session and checks that it is the ci
// visitor's.
func siteSession(tx *store.Tx, site uint32, ci CI) (store.Session, error) {
	b, err := tx.Get(store.SessionKey(site, ci.Session))
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrUnknown.Errorf("no session %d on this site", ci.Session)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("read session: %w", err)
	}
	s, err := store.DecodeSession(b)
	if err != nil {
		return s, fmt.Errorf("read session %d: %w", ci.Session, err)
	}
	if s.Visitor != ci.Visitor {
		return s, ErrUnknown.Errorf("session %d is not visitor %d's", ci.Session, ci.Visitor)
	}
	return s, nil
}

// sessionCampaign is the campaign identity a session started with.
func sessionCampaign(s *store.Session) Campaign {
	return Campaign{
		UTM:   UTM{Source: s.UTMSource, Medium: s.UTMMedium, Campaign: s.UTMCampaign, Term: s.UTMTerm, Content: s.UTMContent},
		Click: s.Click, ClickID: s.ClickID,
	}
}

// dayOf is the UTC day number (days since 1970-01-01) of a Unix millisecond.
// dayIn is the number of the day, counted from 1 January 1970, that
// holds the instant ms (Unix milliseconds) in loc.
func dayIn(ms int64, loc *time.Location) uint32 {
	if ms < 0 {
		return 0
	}
	y, m, d := time.UnixMilli(ms).In(loc).Date()
	return uint32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / (24 * 3600))
}

// EventIn is one Comagic.trackEvent call.
type EventIn struct {
	Hit      uint64 // the page view it happened on, a hit of the ci's session
	Category string // required
	Action   string // required
	Name     string
	Value    string
}

// Event records a custom event on a hit of the ci's session and returns
// its id.
func (t *Tracker) Event(ctx context.Context, site *store.Site, ci CI, in EventIn) (uint64, error) {
	if strings.TrimSpace(in.Category) == "" || strings.TrimSpace(in.Action) == "" {
		return 0, invalid("event category (c) and action (a) are required")
	}
	for _, f := range []struct {
		name, v   string
		max       int
		multiline bool
	}{{"c", in.Category, MaxEventCategory, false}, {"a", in.Action, MaxEventCategory, false}, {"n", in.Name, MaxEventName, false}, {"v", in.Value, MaxEventValue, true}} {
		if err := CheckText(f.name, f.v, f.max, f.multiline); err != nil {
			return 0, err
		}
	}
	if in.Hit == 0 {
		return 0, invalid("hi (the hit id) is required")
	}
	if in.Hit > maxID {
		return 0, invalid("hi is no hit id: ids are below 2^53")
	}
	now, loc := t.now().UnixMilli(), t.location(site)
	var id uint64
	defer t.active.lockVisitor(ci.Visitor).Unlock()
	defer t.active.forget(ci.Visitor) // its session's events changed
	err := t.db.Update(ctx, func(tx *store.Tx) error {
		s, err := siteSession(tx, site.ID, ci)
		if err != nil {
			return err
		}
		if _, err := tx.Get(store.HitKey(site.ID, s.ID, in.Hit)); errors.Is(err, store.ErrNotFound) {
			return ErrUnknown.Errorf("hi %d is no hit of session %d", in.Hit, s.ID)
		} else if err != nil {
			return fmt.Errorf("read hit: %w", err)
		}
		id = t.db.NextID()
		ev := store.Event{ID: id, Session: s.ID, Hit: in.Hit, Time: now,
			Category: in.Category, Action: in.Action, Name: in.Name, Value: in.Value}
		ek, evv := store.EventKey(site.ID, s.ID, id), ev.Encode()
		tx.Set(ek, evv)
		s.Events++
		sv := s.Encode()
		tx.ExportValue(ek, now, evv, sv)
		tx.Set(store.SessionKey(site.ID, s.ID), sv)
		lane := LaneEvents
		if s.Bot {
			lane = LaneBotEvents
		}
		tx.Add(store.RollupKey(site.ID, dayIn(now, loc), MetricTraffic), lane, 1)
		if t.counter != nil {
			return t.counter.CountEvent(tx, site, &s, now)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("record event: %w", err)
	}
	return id, nil
}

// Info is what Comagic.addVisitorInfo (and /vc/s/) tells about a visitor.
type Info struct {
	Name  string // replaces the visitor's name
	Phone string // added to the visitor's phones, normalised
	Email string // added to the visitor's emails, lower case
}

// AddInfo stores what in tells about the ci's visitor: the name replaces
// the old one, phone and email join the visitor's sets (deduplicated). At
// least one field must be given. A phone or an email that does not parse
// is kept as typed (PhonesTyped, EmailsTyped), as a lead keeps it, never a
// reason to refuse the call and lose the name with it; only text over its
// limit, not UTF-8 or with control characters is refused.
func (t *Tracker) AddInfo(ctx context.Context, site *store.Site, ci CI, in Info) error {
	name := strings.TrimSpace(in.Name)
	if err := checkText("name", name, MaxName); err != nil {
		return err
	}
	var phone, email, phoneTyped, emailTyped string
	if typed := strings.TrimSpace(in.Phone); typed != "" {
		if err := checkText("phone", typed, MaxPhone); err != nil {
			return err
		}
		if p, err := numbers.ParsePhone(typed, site.Region(t.region)); err == nil {
			phone = p.Digits
		} else {
			phoneTyped = typed
		}
	}
	if typed := strings.TrimSpace(in.Email); typed != "" {
		if err := checkText("email", typed, MaxEmail); err != nil {
			return err
		}
		var err error
		if email, err = NormalizeEmail(typed); err != nil {
			email, emailTyped = "", typed
		}
	}
	if name == "" && phone == "" && email == "" && phoneTyped == "" && emailTyped == "" {
		return invalid("give at least one of name, phone, email")
	}
	now := t.now().UnixMilli()
	defer t.active.lockVisitor(ci.Visitor).Unlock()
	defer t.active.forget(ci.Visitor) // its record changed
	err := t.db.Update(ctx, func(tx *store.Tx) error {
		v, err := siteVisitor(tx, site.ID, ci)
		if err != nil {
			return err
		}
		if name != "" {
			v.Name = name
		}
		if v.Phones, err = addUnique(v.Phones, phone, MaxPhones, "phones"); err != nil {
			return err
		}
		if v.Emails, err = addUnique(v.Emails, email, MaxEmails, "emails"); err != nil {
			return err
		}
		if v.PhonesTyped, err = addUnique(v.PhonesTyped, phoneTyped, MaxPhones, "phones"); err != nil {
			return err
		}
		if v.EmailsTyped, err = addUnique(v.EmailsTyped, emailTyped, MaxEmails, "emails"); err != nil {
			return err
		}
		tx.Set(store.VisitorKey(v.ID), v.Encode())
		tx.Export(store.VisitorKey(v.ID), now)
		store.IndexPhone(tx, site.ID, phone, store.PhoneVisitor{Visitor: v.ID, Session: ci.Session, Time: now})
		store.IndexEmail(tx, site.ID, email, v.ID)
		store.IndexContacts(tx, &v)
		return nil
	})
	if err != nil {
		return fmt.Errorf("add visitor info: %w", err)
	}
	return nil
}

// addUnique adds s to set unless it is empty or there already.
func addUnique(set []string, s string, limit int, what string) ([]string, error) {
	if s == "" {
		return set, nil
	}
	for _, x := range set {
		if x == s {
			return set, nil
		}
	}
	if len(set) >= limit {
		return set, invalid("the visitor has %d %s already, the most kept", limit, what)
	}
	return append(set, s), nil
}

func checkPropertyName(name string) error {
	if name == "" {
		return invalid("the property name is required")
	}
	return checkText("name", name, MaxPropertyName)
}

// findProperty looks up the property name of visitor in a store
// (a *store.DB or a *store.Tx). Names match without regard to case, as the
// reference's own example has it (set 'Тип посетителя', delete
// 'тип посетителя'): the key holds the name lower-cased (Unicode-aware), and
// a version 1 record, keyed by the name as written, is found by that name.
// found is false when it is not set; key is where it is or is to be written.
func findProperty(db interface{ Get([]byte) ([]byte, error) }, visitor uint64, name string) (key []byte, p store.Property, found bool, err error) {
	key = store.PropertyKey(visitor, strings.ToLower(name))
	keys := [][]byte{key}
	if old := store.PropertyKey(visitor, name); !bytes.Equal(old, key) {
		keys = append(keys, old)
	}
	for _, k := range keys {
		b, err := db.Get(k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return key, p, false, fmt.Errorf("read property: %w", err)
		}
		if p, err = store.DecodeProperty(b); err != nil {
			return key, p, false, fmt.Errorf("read property: %w", err)
		}
		if p.Name == "" {
			p.Name = name // version 1: the key's name
		}
		return k, p, true, nil
	}
	return key, p, false, nil
}

// SetProperty sets a property of the ci's visitor (Comagic.setProperty); a
// property set without a value has the value "". The name is matched
// without regard to case and keeps the case it was first written in.
func (t *Tracker) SetProperty(ctx context.Context, site *store.Site, ci CI, name, value string) error {
	if err := checkPropertyName(name); err != nil {
		return err
	}
	if err := CheckText("value", value, MaxPropertyValue, true); err != nil {
		return err
	}
	now := t.now().UnixMilli()
	defer t.active.lockVisitor(ci.Visitor).Unlock()
	defer t.active.forget(ci.Visitor) // its record's property count changed
	err := t.db.Update(ctx, func(tx *store.Tx) error {
		v, err := siteVisitor(tx, site.ID, ci)
		if err != nil {
			return err
		}
		key, old, found, err := findProperty(tx, v.ID, name)
		if err != nil {
			return err
		}
		p := store.Property{Name: name, Value: value, Updated: now}
		if found {
			p.Name = old.Name
			if folded := store.PropertyKey(v.ID, strings.ToLower(name)); !bytes.Equal(key, folded) {
				tx.Delete(key) // a version 1 record moves to its folded key
				key = folded
			}
		} else {
			if v.Properties >= MaxProperties {
				return invalid("the visitor has %d properties already, the most kept", MaxProperties)
			}
			v.Properties++
			tx.Set(store.VisitorKey(v.ID), v.Encode())
		}
		tx.Set(key, p.Encode())
		tx.Export(store.VisitorKey(v.ID), now)
		return nil
	})
	if err != nil {
		return fmt.Errorf("set property: %w", err)
	}
	return nil
}

// DeleteProperty removes a property of the ci's visitor, whatever the case
// of its name; removing one that is not set does nothing.
func (t *Tracker) DeleteProperty(ctx context.Context, site *store.Site, ci CI, name string) error {
	if err := checkPropertyName(name); err != nil {
		return err
	}
	defer t.active.lockVisitor(ci.Visitor).Unlock()
	defer t.active.forget(ci.Visitor) // its record's property count changed
	now := t.now().UnixMilli()
	err := t.db.Update(ctx, func(tx *store.Tx) error {
		v, err := siteVisitor(tx, site.ID, ci)
		if err != nil {
			return err
		}
		key, _, found, err := findProperty(tx, v.ID, name)
		if err != nil || !found {
			return err
		}
		tx.Delete(key)
		if v.Properties > 0 {
			v.Properties--
		}
		tx.Set(store.VisitorKey(v.ID), v.Encode())
		tx.Export(store.VisitorKey(v.ID), now)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete property: %w", err)
	}
	return nil
}

// Property returns the value of a property of the ci's visitor, whatever
// the case of its name; ok is false when it is not set (or the ci names no
// visitor of site).
func (t *Tracker) Property(site *store.Site, ci CI, name string) (value string, ok bool, err error) {
	if err := checkPropertyName(name); err != nil {
		return "", false, err
	}
	vb, err := t.db.Get(store.VisitorKey(ci.Visitor))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get property: %w", err)
	}
	if v, err := store.DecodeVisitor(vb); err != nil {
		return "", false, fmt.Errorf("get property: %w", err)
	} else if v.Site != site.ID {
		return "", false, nil
	}
	_, p, found, err := findProperty(t.db, ci.Visitor, name)
	if err != nil {
		return "", false, fmt.Errorf("get property: %w", err)
	}
	return p.Value, found, nil
}

// VisitorSite returns the id of the site a visitor belongs to; ErrUnknown
// when there is no such visitor.
func (t *Tracker) VisitorSite(visitor uint64) (uint32, error) {
	b, err := t.db.Get(store.VisitorKey(visitor))
	if errors.Is(err, store.ErrNotFound) {
		return 0, ErrUnknown.Errorf("no visitor %d", visitor)
	}
	if err != nil {
		return 0, fmt.Errorf("visitor site: %w", err)
	}
	v, err := store.DecodeVisitor(b)
	if err != nil {
		return 0, fmt.Errorf("visitor site: %w", err)
	}
	return v.Site, nil
}

// Attribute ties what visitor left in session (a lead, a callback) to
// them and, when their records are there, to hit (0: unknown) and the
// session's traffic source. page is the page the request named; the hit's
// URL when "". A missing or foreign session or hit is not an error: what a
// visitor leaves is kept even when the session it came from is gone.
func (t *Tracker) Attribute(site uint32, visitor, session, hit uint64, page string) (store.Attribution, error) {
	a := store.Attribution{Visitor: visitor, Session: session, PageURL: page}
	sess, h, err := t.sessionAndHit(site, visitor, session, hit)
	if err != nil {
		return store.Attribution{}, err
	}
	if h != nil {
		a.Hit = h.ID
		if a.PageURL == "" {
			a.PageURL = h.URL
		}
	}
	if sess != nil {
		a.Source = sess.TrafficSource()
	}
	return a, nil
}

// sessionAndHit reads the session of visitor and its hit; either is nil
// when its record is not there (or the session is another visitor's).
func (t *Tracker) sessionAndHit(site uint32, visitor, session, hitID uint64) (*store.Session, *store.Hit, error) {
	var sess *store.Session
	v, err := t.db.Get(store.SessionKey(site, session))
	switch {
	case err == nil:
		ss, err := store.DecodeSession(v)
		if err != nil {
			return nil, nil, fmt.Errorf("session %d: %w", session, err)
		}
		if ss.Visitor == visitor {
			sess = &ss
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, nil, fmt.Errorf("session %d: %w", session, err)
	}
	if sess == nil || hitID == 0 {
		return sess, nil, nil
	}
	v, err = t.db.Get(store.HitKey(site, session, hitID))
	if errors.Is(err, store.ErrNotFound) {
		return sess, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("hit %d: %w", hitID, err)
	}
	h, err := store.DecodeHit(session, hitID, v)
	if err != nil {
		return nil, nil, fmt.Errorf("hit %d: %w", hitID, err)
	}
	return sess, &h, nil
}
