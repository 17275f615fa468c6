package webhooks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"appliance/internal/detach"
	"appliance/internal/usererr"
)

// Policy decides which addresses the appliance's outbound requests may
// reach: webhook deliveries and callback scenarios, whose URLs a site's
// owner types in. The zero value allows only public addresses, so that a
// URL cannot make the server read its own loopback services (or any
// service of its own, through its public address), the cloud metadata
// endpoints (169.254.169.254; Oracle Cloud's 192.0.0.192) or the office
// network and show the answer in the delivery log.
//
// A URL is checked twice: when it is added (CheckURL: a literal address,
// or every address its name resolves to now, for a clear error at once),
// and again on every connection, by the dialer of Client, on the address
// actually dialled after DNS resolution, so that a name cannot resolve to
// a public address when added and to a private one later. A redirect is
// never followed (it is a failed attempt), so it cannot lead elsewhere.
type Policy struct {
	// AllowPrivate lets requests reach every address: for installs whose
	// PBX or CRM is on the local network (--webhook-allow-private).
	AllowPrivate bool
	// Allow lists networks that may be reached although they are not
	// public, e.g. 10.0.0.0/8 (--webhook-allow-cidr).
	Allow []netip.Prefix
}

// ParseCIDRs parses networks for Policy.Allow ("10.0.0.0/8",
// "fd00::/8"); a bare address stands for itself alone.
func ParseCIDRs(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("network %q: want an address or CIDR such as 10.0.0.0/8", s)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Check returns nil when ip may be reached, else an error wrapping
// ErrRefused that says what kind of address it is. An IPv4 address mapped
// into IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address.
func (p Policy) Check(ip netip.Addr) error {
	if what := p.refused(ip); what != "" {
		return ErrRefused.Errorf("address not allowed: %s is %s; to reach the local network, start the server with --webhook-allow-private or --webhook-allow-cidr",
			ip.Unmap(), usererr.P(what))
	}
	return nil
}

// refused says what kind of address ip is when p refuses it, or "".
func (p Policy) refused(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	to := embeddedIPv4(ip)
	what := nonPublic(to)
	if what == "" && !p.AllowPrivate {
		what = ownAddress(ip, to)
	}
	if what == "" || p.AllowPrivate {
		return ""
	}
	for _, n := range p.Allow {
		if n.Contains(ip) || n.Contains(to) {
			return ""
		}
	}
	return what
}

// IPv6 prefixes whose addresses carry an IPv4 address that the packets
// reach: NAT64's well-known prefix (RFC 6052: a gateway, as on IPv6-only
// cloud subnets, forwards 64:ff9b::a9fe:a9fe to 169.254.169.254), 6to4
// (RFC 3056: 2002:AABB:CCDD::/48 is routed to AA.BB.CC.DD) and the
// deprecated IPv4-compatible ::/96.
var (
	nat64Prefix  = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour    = netip.MustParsePrefix("2002::/16")
	v4Compatible = netip.MustParsePrefix("::/96")
	// nat64Local is the local-use NAT64 prefix (RFC 8215), whose
	// network decides where the IPv4 address sits: refused as a whole.
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
)

// embeddedIPv4 is the IPv4 address an IPv6 address of NAT64, 6to4 or the
// IPv4-compatible form leads to, so that it is judged as that address;
// any other address is itself.
func embeddedIPv4(ip netip.Addr) netip.Addr {
	if !ip.Is6() {
		return ip
	}
	a := ip.As16()
	switch {
	case nat64Prefix.Contains(ip), v4Compatible.Contains(ip) && !ip.IsLoopback() && !ip.IsUnspecified():
		return netip.AddrFrom4([4]byte(a[12:16]))
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(a[2:6]))
	}
	return ip
}

// nonPublic says what kind of address ip is when it is not a public
// unicast address ("a loopback address"), or "".
func nonPublic(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsMulticast():
		return "a multicast address"
	case ip.IsPrivate():
		return "a private address"
	}
	if ip.Is4() {
		a := ip.As4()
		switch {
		case a[0] == 0: // 0.0.0.0/8, "this network": Linux dials 0.x as the host itself
			return "the unspecified address"
		case a[0] == 100 && a[1]&0xc0 == 64: // 100.64.0.0/10
			return "a carrier-grade NAT address"
		case a[0] == 192 && a[1] == 0 && a[2] == 0: // 192.0.0.0/24: Oracle Cloud's metadata service is 192.0.0.192
			return "a reserved address"
		case a[0] == 198 && a[1]&0xfe == 18: // 198.18.0.0/15, for benchmarks: some networks use it inside
			return "a reserved address"
		case a == [4]byte{255, 255, 255, 255}:
			return "the broadcast address"
		case a[0] >= 240: // 240.0.0.0/4, "future use": some clouds route it inside
			return "a reserved address"
		}
		return ""
	}
	if a := ip.As16(); a[0] == 0xfe && a[1]&0xc0 == 0xc0 { // fec0::/10, the deprecated site-local
		return "a private address"
	}
	if nat64Local.Contains(ip) {
		return "a local-use NAT64 address"
	}
	return ""
}

// ownAddress says what ip is when it, or the IPv4 address to it leads to,
// is an address of one of this machine's network interfaces: a public
// address on the server's own interface is delivered to the server itself,
// past any firewall in front of it, so a URL at it would reach whatever
// listens there on all addresses (a database, a cache, an admin panel) as
// the loopback would. The interfaces are read on every check (outbound
// requests are few), so an address added since counts too; when they
// cannot be read nothing public-looking passes.
func ownAddress(ip, to netip.Addr) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "not checked against this server's own addresses (" + err.Error() + ")"
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		own, ok := netip.AddrFromSlice(n.IP)
		if own = own.Unmap(); ok && (own == ip || own == to) {
			return "an address of this server"
		}
	}
	return ""
}

// CheckURL checks the host of rawURL when it is added: a literal address,
// or every address the name resolves to now. A name that does not resolve
// is let through: the dialer checks it again on every connection. A
// refusal wraps ErrRefused.
func (p Policy) CheckURL(ctx context.Context, rawURL string) error {
	if p.AllowPrivate {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("check URL: %w", err)
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.Check(ip)
	}
	ctx, cancel := detach.Until(ctx.Done(), 5*time.Second) // ctx may be a RequestCtx
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range ips {
		if what := p.refused(ip); what != "" {
			return ErrRefused.Errorf("address not allowed: %s resolves to %s, %s; to reach the local network, start the server with --webhook-allow-private or --webhook-allow-cidr",
				host, ip.Unmap(), usererr.P(what))
		}
	}
	return nil
}

// control is the dialer's check of the address it is about to connect
// to, after name resolution.
func (p Policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ErrRefused.Errorf("address not allowed: %s %q is not an IP address", network, address)
	}
	return p.Check(ap.Addr())
}

// Client returns the HTTP client of every outbound request: its dialer
// refuses what p refuses, right before each connect, and redirects are
// not followed. It takes no proxy from the environment: a proxy would
// resolve and reach the receiver itself, out of the dialer's sight. Bound
// each request with its context (Send does).
func (p Policy) Client() *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
