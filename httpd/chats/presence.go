package chats

import (
	"sort"
	"sync"
	"time"
)

// Operator is who acts on the operator side: a dashboard user (Name their
// email) or an API token's operator (Name the token's name, or its user's
// email). Sites limits the sites it may act on; nil: every site.
type Operator struct {
	Name  string
	Sites []uint32
}

// Allows reports whether op may act on site.
func (op Operator) Allows(site uint32) bool {
	if op.Sites == nil {
		return true
	}
	for _, s := range op.Sites {
		if s == site {
			return true
		}
	}
	return false
}

// opState is one operator's presence on one site.
type opState struct {
	conns    int       // console sockets open
	status   string    // what they chose: Online or Away; Offline once signed out
	left     time.Time // when conns fell to 0
	active   time.Time // the latest sign of life
	apiUntil time.Time // an API operator set online stays so until then
}

// online reports whether the operator counts as online at now.
func (st *opState) online(now time.Time, o Options) bool {
	if st.status != Online || now.Sub(st.active) >= o.Idle {
		return false
	}
	return st.conns > 0 || now.Sub(st.left) < o.Grace || now.Before(st.apiUntil)
}

func (st *opState) shown(now time.Time, o Options) string {
	switch {
	case st.online(now, o):
		return Online
	case st.status == Away && (st.conns > 0 || now.Before(st.apiUntil)):
		return Away
	}
	return Offline
}

// presence is every operator's status per site, in memory. A change of a
// site's status (some operator online, or none) is published to its
// visitors, an operator's change to the consoles.
type presence struct {
	o   Options
	hub *hub

	mu      sync.Mutex
	ops     map[uint32]map[string]*opState
	shown   map[uint32]map[string]string // what consoles were last told
	online  map[uint32]bool              // what visitors were last told
	lastOn  map[uint32]time.Time         // when the site last had an operator online
	started time.Time
}

func newPresence(o Options, h *hub) *presence {
	return &presence{o: o, hub: h, ops: map[uint32]map[string]*opState{}, shown: map[uint32]map[string]string{},
		online: map[uint32]bool{}, lastOn: map[uint32]time.Time{}, started: o.Now()}
}

func (p *presence) state(site uint32, name string) *opState {
	m := p.ops[site]
	if m == nil {
		m = map[string]*opState{}
		p.ops[site] = m
	}
	st := m[name]
	if st == nil {
		st = &opState{status: Offline}
		m[name] = st
	}
	return st
}

// change applies fn to the operator's state on each site, then publishes
// what changed.
func (p *presence) change(sites []uint32, name string, fn func(st *opState, now time.Time)) {
	now := p.o.Now()
	var evs []*Event
	p.mu.Lock()
	for _, site := range sites {
		fn(p.state(site, name), now)
		evs = p.settle(site, now, evs)
	}
	p.mu.Unlock()
	for _, ev := range evs {
		p.hub.publish(ev)
	}
}

// settle compares a site's statuses with what was last published and
// appends the events of the differences. p.mu is held.
func (p *presence) settle(site uint32, now time.Time, evs []*Event) []*Event {
	on := false
	if p.shown[site] == nil {
		p.shown[site] = map[string]string{}
	}
	for name, st := range p.ops[site] {
		s := st.shown(now, p.o)
		if s == Online {
			on = true
		}
		if p.shown[site][name] != s && !(s == Offline && p.shown[site][name] == "") {
			p.shown[site][name] = s
			evs = append(evs, &Event{Kind: EvOperator, Site: site, Name: name, Status: s})
		}
		if s == Offline && st.conns == 0 && !now.Before(st.apiUntil) {
			delete(p.ops[site], name)
			delete(p.shown[site], name)
		}
	}
	if on {
		p.lastOn[site] = now
	}
	if p.online[site] != on {
		if !on {
			p.lastOn[site] = now
		}
		p.online[site] = on
		evs = append(evs, &Event{Kind: EvSiteStatus, Site: site, Online: on})
	}
	return evs
}

// tick settles every site at now: graces and idle timeouts end.
func (p *presence) tick() {
	now := p.o.Now()
	var evs []*Event
	p.mu.Lock()
	for site := range p.ops {
		evs = p.settle(site, now, evs)
	}
	for site, on := range p.online {
		if on && len(p.ops[site]) == 0 {
			evs = p.settle(site, now, evs)
		}
	}
	p.mu.Unlock()
	for _, ev := range evs {
		p.hub.publish(ev)
	}
}

// siteOnline reports whether an operator of site is online now.
func (p *presence) siteOnline(site uint32) bool {
	now := p.o.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.ops[site] {
		if st.online(now, p.o) {
			return true
		}
	}
	return false
}

// offlineFor is how long site has had no operator online (since the
// server started, when none ever was); 0 while one is.
func (p *presence) offlineFor(site uint32) time.Duration {
	now := p.o.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.ops[site] {
		if st.online(now, p.o) {
			return 0
		}
	}
	since, ok := p.lastOn[site]
	if !ok {
		since = p.started
	}
	return now.Sub(since)
}

// isOnline reports whether operator name is online on the site now.
func (p *presence) isOnline(site uint32, name string) bool {
	now := p.o.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.ops[site][name]
	return st != nil && st.online(now, p.o)
}

// OperatorStatus is an operator's status on a site.
type OperatorStatus struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

func (p *presence) list(site uint32) []OperatorStatus {
	now := p.o.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []OperatorStatus
	for name, st := range p.ops[site] {
		out = append(out, OperatorStatus{Name: name, Status: st.shown(now, p.o)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Connect counts a console socket of op on the sites, with the status
// the console asked for (Online or Away), and returns its release, to call
// once when the socket closes: the operator stays online for the grace
// after their last socket closed.
func (s *Service) Connect(op Operator, sites []uint32, status string) (release func()) {
	if status != Away {
		status = Online
	}
	s.presence.change(sites, op.Name, func(st *opState, now time.Time) {
		st.conns++
		st.status, st.active = status, now
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			s.presence.change(sites, op.Name, func(st *opState, now time.Time) {
				st.conns--
				st.left = now
			})
		})
	}
}

// SetStatus sets op's status on the sites: Online, Away, or Offline (signed
// out: offline at once, whatever sockets are open). It also counts as
// activity. For an API operator (api true), Online and Away last for the
// idle time from the latest call.
func (s *Service) SetStatus(op Operator, sites []uint32, status string, api bool) error {
	if status != Online && status != Away && status != Offline {
		return ErrNotOperator.Errorf("status must be online, away or offline, not %q", status)
	}
	s.presence.change(sites, op.Name, func(st *opState, now time.Time) {
		st.status, st.active = status, now
		switch {
		case status == Offline:
			st.apiUntil, st.left = time.Time{}, time.Time{}
		case api:
			st.apiUntil = now.Add(s.o.Idle)
		}
	})
	return nil
}

// Active records a sign of life of op's console (keeps the idle timeout
// away).
func (s *Service) Active(op Operator, sites []uint32) {
	s.presence.change(sites, op.Name, func(st *opState, now time.Time) { st.active = now })
}

// SignOut makes the user offline on every site at once.
func (s *Service) SignOut(name string) {
	s.presence.mu.Lock()
	var sites []uint32
	for site, m := range s.presence.ops {
		if m[name] != nil {
			sites = append(sites, site)
		}
	}
	s.presence.mu.Unlock()
	s.presence.change(sites, name, func(st *opState, now time.Time) {
		st.status, st.apiUntil, st.left = Offline, time.Time{}, time.Time{}
	})
}

// SiteOnline reports whether at least one operator of the site is online:
// Comagic.getOperatorStatus(). Memory only; cheap.
func (s *Service) SiteOnline(site uint32) bool { return s.presence.siteOnline(site) }

// Operators lists the operators of a site with their status.
func (s *Service) Operators(site uint32) []OperatorStatus { return s.presence.list(site) }
