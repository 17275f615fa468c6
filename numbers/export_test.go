package numbers

// ParseWritten is parseWritten, for FuzzParsePhone: the digits as written,
// before an international call prefix is read as "+".
var ParseWritten = parseWritten

// SplitNumber is splitNumber, for FuzzParsePhone.
var SplitNumber = splitNumber

// AddrCount is the count of live leases the pool keeps for addr, and
// whether addr has an entry.
func (p *Pool) AddrCount(addr uint64) (int, bool) { return p.addrs.count(addr) }
