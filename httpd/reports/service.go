package reports

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"appliance/store"
)

// Options tune a Service; the zero value is what serve uses.
type Options struct {
	// Now is the clock (a range's default "today"); default time.Now.
	Now func() time.Time
}

// Sites is what the reports need of the site registry.
type Sites interface {
	ByKey(key string) (*store.Site, error)
	ByID(id uint32) (*store.Site, error)
	Location(s *store.Site) *time.Location
}

// Service counts what the reports show as it is written, and answers
// reports from those counts. Its Count* methods run inside the durable
// write of what they count (a store.DB.Update function): they only read
// and add to that write.
type Service struct {
	db    *store.DB
	sites Sites
	o     Options
}

// New returns a Service over db for the sites of sites.
func New(db *store.DB, sites Sites, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{db: db, sites: sites, o: o}
}

// Location is the zone of a site's days.
func (s *Service) Location(site *store.Site) *time.Location { return s.sites.Location(site) }

// SiteByKey finds a site by its key (a SiteFunc).
func (s *Service) SiteByKey(key string) (*store.Site, error) { return s.sites.ByKey(key) }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.o.Now() }

func (s *Service) counter(tx *store.Tx, site *store.Site) *counter {
	return &counter{l: txLedger{tx}, tx: tx, db: s.db, site: site.ID, loc: s.sites.Location(site)}
}

// CountSession counts a session of site as it starts, in the write tx
// that stores it: newVisitor is true when the visitor was first seen with
// it. A bot's session is not counted. known, when hasKnown, is the
// visitor's touch as this service last wrote it (CountSession's result),
// which spares reading it; the result is the touch written, when written.
// The session and the touch come by value, so that the hit's own stay on
// its stack (handing an interface a pointer moves what it points to to the
// heap).
func (s *Service) CountSession(tx *store.Tx, site *store.Site, sess store.Session, newVisitor bool, known store.Touch, hasKnown bool) (store.Touch, bool, error) {
	c := s.counter(tx, site)
	var k *store.Touch
	if hasKnown {
		k = &known
	}
	t, written, err := c.session(&sess, newVisitor, k)
	if err != nil {
		return t, false, fmt.Errorf("count session %d: %w", sess.ID, err)
	}
	return t, written, nil
}

// CountEvent counts an event at (Unix ms) of a session of site, in the
// write that stores it.
func (s *Service) CountEvent(tx *store.Tx, site *store.Site, sess *store.Session, at int64) error {
	s.counter(tx, site).event(sess, at)
	return nil
}

// CountLead counts a lead of site in the write that stores it.
func (s *Service) CountLead(tx *store.Tx, site *store.Site, l *store.Lead) error {
	if err := s.counter(tx, site).lead(l); err != nil {
		return fmt.Errorf("count lead %d: %w", l.ID, err)
	}
	return nil
}

// CountCallback counts a callback request of site in the write that
// stores it.
func (s *Service) CountCallback(tx *store.Tx, site *store.Site, cb *store.Callback) error {
	if err := s.counter(tx, site).callback(cb); err != nil {
		return fmt.Errorf("count callback %d: %w", cb.ID, err)
	}
	return nil
}

// CountCall counts a call stored for site (by id; 0, a number no site has,
// is not counted) in the write that stores it.
func (s *Service) CountCall(tx *store.Tx, siteID uint32, c *store.Call) error {
	return s.countCall(tx, siteID, c, (*counter).call)
}

// CountCallChange counts what a later report of a call changed, prev as
// the call was counted and c as it is now (tracking.CallInput.Changed), in
// the write that stores the change: a call now answered.
func (s *Service) CountCallChange(tx *store.Tx, siteID uint32, prev, c *store.Call) error {
	if !c.Answered || prev.Answered {
		return nil
	}
	return s.countCall(tx, siteID, c, (*counter).answered)
}

// countCall has count count c on site siteID's counter in tx; a call of
// site 0 (a number no site has) is not counted.
func (s *Service) countCall(tx *store.Tx, siteID uint32, c *store.Call, count func(*counter, *store.Call) error) error {
	if siteID == 0 {
		return nil
	}
	site, err := s.sites.ByID(siteID)
	if err != nil {
		return fmt.Errorf("count call %d: %w", c.ID, err)
	}
	if err := count(s.counter(tx, site), c); err != nil {
		return fmt.Errorf("count call %d: %w", c.ID, err)
	}
	return nil
}

// CountChat counts a chat that began at (Unix ms) on site in the visit a
// (its visitor, 0 unknown, its session and the traffic source stored with
// the chat, credited when the visitor has no session to credit), in the
// write that stores it: the chats column. Compute and Rebuild read the
// chat records (their Created and Attribution) the same way.
func (s *Service) CountChat(tx *store.Tx, site *store.Site, a store.Attribution, at int64) error {
	if err := s.counter(tx, site).chat(&a, at); err != nil {
		return fmt.Errorf("count chat: %w", err)
	}
	return nil
}

// touchWith adds session id, s, of a visitor, to their touch t as of a
// record stored at at: a person's session that began by then (a bot's
// is never credited), in id order.
func touchWith(t *store.Touch, id uint64, s *store.Session, at int64) {
	if s.Bot || s.Started > at {
		return
	}
	if t.First == 0 {
		t.First = id
	}
	t.Last, t.LastStarted = id, s.Started
	if src := s.TrafficSource(); !dimsOf(&src).direct {
		t.LastNonDirect = id
	}
}

// txLedger counts in a write.
type txLedger struct{ tx *store.Tx }

// touchAsOf is visitor's touch as their sessions of site with ids below
// before (counted before the record of that id) that began by at (Unix
// ms) make it, read from db; bots' sessions and sessions gone are left
// out. The context is the background's: a visitor has few sessions.
func touchAsOf(db store.Reader, site uint32, visitor, before uint64, at int64) (store.Touch, error) {
	var t store.Touch
	err := eachSession(db, site, visitor, before, func(id uint64, s *store.Session) { touchWith(&t, id, s, at) })
	return t, err
}

// eachSession calls fn with each of visitor's sessions of site whose id
// is below before, in id order; sessions gone are left out.
func eachSession(db store.Reader, site uint32, visitor, before uint64, fn func(id uint64, s *store.Session)) error {
	var derr error
	err := db.ScanPrefix(context.Background(), store.VisitorItemPrefix(visitor, store.ItemSession), false, 0, func(k, _ []byte) bool {
		id, ok := store.IDFromKey(k)
		if !ok || id >= before {
			return ok
		}
		b, err := db.Get(store.SessionKey(site, id))
		if errors.Is(err, store.ErrNotFound) {
			return true
		}
		if err != nil {
			derr = err
			return false
		}
		s, err := store.DecodeSession(b)
		if err != nil {
			derr = fmt.Errorf("session %d: %w", id, err)
			return false
		}
		fn(id, &s)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("sessions of visitor %d: %w", visitor, err)
	}
	return nil
}

func (l txLedger) add(key []byte, lanes *[numLanes]int64) { addLanes(l.tx, key, lanes) }

// addLanes adds lanes to the roll-up key in tx, as one merge operand
// without the trailing zero lanes.
func addLanes(tx *store.Tx, key []byte, lanes *[numLanes]int64) {
	n := numLanes
	for n > 0 && lanes[n-1] == 0 {
		n--
	}
	tx.AddLanes(key, lanes[:n])
}

func (l txLedger) touch(visitor uint64) (store.Touch, bool, error) {
	b, err := l.tx.Get(store.TouchKey(visitor))
	if errors.Is(err, store.ErrNotFound) {
		return store.Touch{}, false, nil
	}
	if err != nil {
		return store.Touch{}, false, err
	}
	t, err := store.DecodeTouch(b)
	if err != nil {
		return store.Touch{}, false, fmt.Errorf("touch of visitor %d: %w", visitor, err)
	}
	return t, true, nil
}

func (l txLedger) setTouch(visitor uint64, t store.Touch) {
	l.tx.Set(store.TouchKey(visitor), t.Encode())
}

func (l txLedger) sessionDims(site uint32, id uint64) (dims, bool, error) {
	b, err := l.tx.Get(store.SessionKey(site, id))
	if errors.Is(err, store.ErrNotFound) {
		return dims{}, false, nil
	}
	if err != nil {
		return dims{}, false, err
	}
	s, err := store.DecodeSession(b)
	if err != nil {
		return dims{}, false, fmt.Errorf("session %d: %w", id, err)
	}
	if s.Bot {
		return dims{}, false, nil
	}
	src := s.TrafficSource()
	return dimsOf(&src), true, nil
}

func (l txLedger) firstCall(site uint32, caller string, id uint64) (bool, error) {
	k := store.CallerKey(site, caller)
	_, err := l.tx.Get(k)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	var v [8]byte
	for i := range v {
		v[i] = byte(id >> (56 - 8*i))
	}
	l.tx.Set(k, v[:])
	return true, nil
}

// Credits are the credits of a visitor's outcomes on a site under the
// default model (ModelLastNonDirect), from the visitor's sessions read
// once (Service.Credits): a page that says where the reports count each
// of many leads and calls reads them once, not once an outcome.
type Credits struct {
	db       store.Reader
	site     uint32
	ids      []uint64 // in id order
	sessions []store.Session
}

// Credit is where the reports credit an outcome (Credits.Of).
type Credit struct {
	// Session is the visitor's session credited and Source its source;
	// 0 when none is: the outcome is counted with the source stored
	// with it, or, when Direct, without one.
	Session uint64
	Source  store.Source
	// Direct: no session is credited and the outcome came from a
	// crawler's session, whose source the reports do not count: it is
	// counted as direct (ownCounted), not with the source stored with it.
	Direct bool
}

// Credits reads visitor's sessions of site for Of; none for visitor 0.
func (s *Service) Credits(site uint32, visitor uint64) (*Credits, error) {
	c := &Credits{db: s.db, site: site}
	if visitor == 0 {
		return c, nil
	}
	err := eachSession(s.db, site, visitor, math.MaxUint64, func(id uint64, sess *store.Session) {
		c.ids, c.sessions = append(c.ids, id), append(c.sessions, *sess)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Of is where the reports credit the outcome of id stored at at (Unix
// ms) that came from session (0: none known): the rule Compute replays
// (touchAsOf, touchWith, and ownCounted when no session is credited: no
// person's session of the visitor before it, or the session gone).
func (c *Credits) Of(id uint64, at int64, session uint64) (Credit, error) {
	var t store.Touch
	for i, sid := range c.ids {
		if sid >= id {
			break
		}
		touchWith(&t, sid, &c.sessions[i], at)
	}
	credited := t.LastNonDirect
	if credited == 0 {
		credited = t.Last
	}
	if i, ok := slices.BinarySearch(c.ids, credited); ok && credited != 0 {
		return Credit{Session: credited, Source: c.sessions[i].TrafficSource()}, nil
	}
	counted, err := ownCounted(c.db, c.site, session)
	if err != nil {
		return Credit{}, err
	}
	return Credit{Direct: !counted}, nil
}
