package numbers

import (
	"net"
	"sync"
)

// DefaultAddrCap is the address cap of a pool (Pool.SetAddrCap) unless its
// owner sets another: more visitors of one small business's site at once
// behind one office's NAT are rare, while a script from one address that
// views pages as new visitors would otherwise hold every number of the
// pool for the reservation time (its real visitors then get the fallback,
// and their calls lose their source).
const DefaultAddrCap = 10

// AddrKey is the key AcquireFrom caps by of the client address ip: an
// IPv4 address whole, an IPv6 one by its /64 (one subscriber's network,
// whose addresses it picks freely). 0 for nil or loopback: no cap (a
// server behind a proxy it does not trust sees every visitor come from
// the proxy, often on loopback).
func AddrKey(ip net.IP) uint64 {
	if ip == nil || ip.IsLoopback() {
		return 0
	}
	if v4 := ip.To4(); v4 != nil {
		// Above every IPv6 /64 a client comes from (ff00::/8 is
		// multicast).
		return 0xffffffff<<32 | uint64(v4[0])<<24 | uint64(v4[1])<<16 | uint64(v4[2])<<8 | uint64(v4[3])
	}
	if len(ip) != net.IPv6len {
		return 0
	}
	var k uint64
	for _, b := range ip[:8] {
		k = k<<8 | uint64(b)
	}
	if k == 0 || k == 0xffffffff<<32 {
		return 1 // never 0 (no cap), nor an IPv4 key
	}
	return k
}

// addrs counts the live leases of a pool by the address their claim came
// from (AddrKey). An address has an entry while its visitors hold a lease
// claimed through AcquireFrom, or are claiming one; an entry holds at most
// the cap's number of holdings, and the map is swept of lapsed ones
// whenever it has grown to twice the pool's size, so it stays within a
// few times the pool's live leases. It is only touched by claims, under a
// lock of its own; renews never see it.
type addrs struct {
	mu    sync.Mutex
	m     map[uint64]*addrLeases
	sweep int // the size of m at which enter sweeps it
}

type addrLeases struct {
	hs      []*holding // the leases claimed from the address, live when last looked at
	pending int        // claims under way
}

// prune drops the holdings not live at t: lapsed, retired by a claimer,
// or ended by Release.
func (a *addrLeases) prune(t int64) {
	hs := a.hs[:0]
	for _, h := range a.hs {
		if h.until.Load() > t {
			hs = append(hs, h)
		}
	}
	clear(a.hs[len(hs):])
	a.hs = hs
}

// enter reserves a lease for addr at t unless its visitors hold limit
// live leases (those under way included); size is the pool's.
func (s *addrs) enter(addr uint64, limit int, t int64, size int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[uint64]*addrLeases)
	}
	a := s.m[addr]
	if a == nil {
		if len(s.m) >= s.sweep {
			for k, b := range s.m {
				if b.prune(t); len(b.hs) == 0 && b.pending == 0 {
					delete(s.m, k)
				}
			}
			s.sweep = max(2*len(s.m), 2*size, 64)
		}
		a = &addrLeases{}
		s.m[addr] = a
	}
	if len(a.hs)+a.pending >= limit {
		a.prune(t)
		if len(a.hs)+a.pending >= limit {
			return false
		}
	}
	a.pending++
	return true
}

// leave ends the claim enter reserved for addr: c is the holding it
// claimed, nil when it claimed none.
func (s *addrs) leave(addr uint64, c *holding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.m[addr]
	a.pending--
	if c != nil {
		a.hs = append(a.hs, c)
	}
	if len(a.hs) == 0 && a.pending == 0 {
		delete(s.m, addr)
	}
}

// count returns the leases counted for addr, and whether it has an entry.
func (s *addrs) count(addr uint64) (n int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.m[addr]
	if a == nil {
		return 0, false
	}
	return len(a.hs) + a.pending, true
}
