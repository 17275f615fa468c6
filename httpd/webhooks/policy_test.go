package webhooks_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"appliance/httpd/webhooks"
	"appliance/store"
	"appliance/store/storetest"
)

func TestPolicyCheck(t *testing.T) {
	ten, err := webhooks.ParseCIDRs([]string{"10.0.0.0/8", "fd12::/16"})
	if err != nil {
		t.Fatal(err)
	}
	deflt, private, cidrs := webhooks.Policy{}, webhooks.Policy{AllowPrivate: true}, webhooks.Policy{Allow: ten}
	for _, tt := range []struct {
		addr                  string
		deflt, private, cidrs bool // allowed under each policy
	}{
		{"127.0.0.1", false, true, false},
		{"127.3.2.1", false, true, false},
		{"::1", false, true, false},
		{"::ffff:127.0.0.1", false, true, false},
		{"0.0.0.0", false, true, false},
		{"0.1.2.3", false, true, false},
		{"::", false, true, false},
		{"169.254.169.254", false, true, false}, // cloud metadata
		{"::ffff:169.254.169.254", false, true, false},
		{"fe80::1", false, true, false},
		{"fe80::1%eth0", false, true, false},
		{"10.0.0.1", false, true, true},
		{"::ffff:10.0.0.1", false, true, true},
		{"172.16.5.4", false, true, false},
		{"192.168.1.1", false, true, false},
		{"100.64.0.1", false, true, false}, // carrier-grade NAT
		{"100.127.255.254", false, true, false},
		{"fc00::1", false, true, false},
		{"fd12:3456::1", false, true, true},
		{"fec0::1", false, true, false},
		{"224.0.0.1", false, true, false},
		{"239.255.255.250", false, true, false},
		{"ff02::1", false, true, false},
		{"255.255.255.255", false, true, false},
		{"192.0.0.192", false, true, false}, // Oracle Cloud's metadata service
		{"192.0.0.170", false, true, false},
		{"::ffff:192.0.0.192", false, true, false},
		{"198.18.0.1", false, true, false},
		{"198.19.255.254", false, true, false},
		{"240.0.0.1", false, true, false},
		{"64:ff9b::c000:c0", false, true, false}, // 192.0.0.192 through NAT64
		// IPv4 addresses inside IPv6 ones that lead to them: NAT64, 6to4,
		// IPv4-compatible; judged as the IPv4 address.
		{"64:ff9b::a9fe:a9fe", false, true, false}, // 169.254.169.254 through a NAT64 gateway
		{"64:ff9b::7f00:1", false, true, false},
		{"64:ff9b::a00:1", false, true, true},
		{"64:ff9b:1::a00:1", false, true, false}, // local-use NAT64
		{"2002:7f00:1::1", false, true, false},   // 6to4 of 127.0.0.1
		{"2002:c0a8:101::", false, true, false},  // 6to4 of 192.168.1.1
		{"::127.0.0.1", false, true, false},
		{"::10.0.0.1", false, true, true},
		// Public addresses (only judged here, never dialled).
		{"8.8.8.8", true, true, true},
		{"100.128.0.1", true, true, true},
		{"172.32.0.1", true, true, true},
		{"192.0.1.1", true, true, true},
		{"198.17.255.255", true, true, true},
		{"198.20.0.1", true, true, true},
		{"239.255.255.255", false, true, false},
		{"2a00:1450:4010::8a", true, true, true},
		{"::ffff:8.8.4.4", true, true, true},
		{"64:ff9b::808:808", true, true, true},
		{"2002:808:808::1", true, true, true},
	} {
		ip := netip.MustParseAddr(tt.addr)
		for _, c := range []struct {
			name  string
			p     webhooks.Policy
			allow bool
		}{{"default", deflt, tt.deflt}, {"allow private", private, tt.private}, {"allow 10/8", cidrs, tt.cidrs}} {
			err := c.p.Check(ip)
			if got := err == nil; got != c.allow {
				t.Errorf("%s: Check(%s) = %v, want allowed %v", c.name, tt.addr, err, c.allow)
			}
			if err != nil && !errors.Is(err, webhooks.ErrRefused) {
				t.Errorf("%s: Check(%s) = %v, does not wrap ErrRefused", c.name, tt.addr, err)
			}
		}
	}
}

func TestParseCIDRs(t *testing.T) {
	got, err := webhooks.ParseCIDRs([]string{"10.1.2.3/8", "192.168.1.7", "::ffff:172.16.0.0/108", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("fd00::/8")}
	if len(got) != len(want) {
		t.Fatalf("ParseCIDRs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ParseCIDRs[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "ten", "10.0.0.0/8,"} {
		if _, err := webhooks.ParseCIDRs([]string{bad}); err == nil {
			t.Errorf("ParseCIDRs(%q): no error", bad)
		}
	}
}

func FuzzParseCIDRs(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.168.1.7", "::ffff:172.16.0.0/108", "fe80::1%eth0/64", "::ffff:1.2.3.4/90", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := webhooks.ParseCIDRs([]string{s})
		if err != nil {
			return
		}
		p := ps[0]
		if p != p.Masked() || p.Addr().Is4In6() {
			t.Fatalf("ParseCIDRs(%q) = %v: not masked or still mapped", s, p)
		}
	})
}

// With the default policy an endpoint on the loopback, link-local or
// private network is refused when it is added, as a literal address or a
// name that resolves to one, with a clear error; nothing is stored. The
// options that open the local network let the same URLs in.
func TestAddRefusesPrivateTargets(t *testing.T) {
	ctx := context.Background()
	refused := []string{
		"http://127.0.0.1:8080/hook",
		"http://localhost:8080/hook", // a name that resolves to the loopback
		"http://[::1]/hook",
		"http://[::ffff:127.0.0.1]/hook",
		"http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", // the metadata endpoint through NAT64
		"http://[2002:a00:5::1]/hook",                   // 6to4 of 10.0.0.5
		"http://0.0.0.0/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1]/hook",
		"https://10.0.0.5/hook",
		"https://192.168.1.10/hook",
		"https://100.64.1.1/hook",
		"https://[fd00::5]/hook",
		"http://224.0.0.1/hook",
	}
	db := storetest.Open(t)
	h := webhooks.New(db, webhooks.Options{})
	for _, u := range refused {
		_, err := h.Add(ctx, 1, u, "", nil)
		if !errors.Is(err, webhooks.ErrInvalid) || !errors.Is(err, webhooks.ErrRefused) {
			t.Errorf("Add(%s) = %v, want a refusal", u, err)
			continue
		}
		if !strings.Contains(err.Error(), "--webhook-allow-private") {
			t.Errorf("Add(%s): the error does not say how to allow it: %v", u, err)
		}
	}
	if eps, err := h.Endpoints(1); err != nil || len(eps) != 0 {
		t.Fatalf("refused endpoints were stored: %v %v", eps, err)
	}
	if _, err := h.Add(ctx, 1, "https://203.0.113.9/hook", "", nil); err != nil {
		t.Errorf("a public address: %v", err)
	}

	allowAll := webhooks.New(db, webhooks.Options{Policy: webhooks.Policy{AllowPrivate: true}})
	for _, u := range refused[:webhooks.MaxEndpoints-1] {
		if _, err := allowAll.Add(ctx, 2, u, "", nil); err != nil {
			t.Errorf("allow private: Add(%s) = %v", u, err)
		}
	}
	ten, _ := webhooks.ParseCIDRs([]string{"10.0.0.0/8"})
	lan := webhooks.New(db, webhooks.Options{Policy: webhooks.Policy{Allow: ten}})
	if _, err := lan.Add(ctx, 3, "https://10.0.0.5/hook", "", nil); err != nil {
		t.Errorf("allow 10.0.0.0/8: Add(10.0.0.5) = %v", err)
	}
	if _, err := lan.Add(ctx, 3, "http://127.0.0.1:8080/hook", "", nil); !errors.Is(err, webhooks.ErrRefused) {
		t.Errorf("allow 10.0.0.0/8: Add(127.0.0.1) = %v, want a refusal", err)
	}
}

// The dialer checks the address it connects to, after name resolution,
// whatever was checked when the URL was added: a client of the default
// policy cannot reach a receiver on 127.0.0.1, by address or by a name
// that resolves to it, and the receiver sees nothing; one that allows
// 127.0.0.0/8 reaches it.
func TestClientRefusesLoopbackAtDial(t *testing.T) {
	var hits int
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer rc.Close()
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	for _, u := range []string{rc.URL, "http://localhost:" + port + "/"} {
		resp, err := webhooks.Policy{}.Client().Post(u, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, webhooks.ErrRefused) {
			t.Errorf("POST %s = %v, want a refusal", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("the receiver got %d requests through a refusing dialer", hits)
	}
	loop, _ := webhooks.ParseCIDRs([]string{"127.0.0.0/8"})
	resp, err := webhooks.Policy{Allow: loop}.Client().Post(rc.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("allow 127.0.0.0/8: %v", err)
	}
	resp.Body.Close()
	if hits != 1 {
		t.Fatalf("allow 127.0.0.0/8: the receiver got %d requests", hits)
	}
}

// An address of the server's own network interface that is no loopback
// nor private one (a VPS's public address) reaches the server itself, past
// the firewall in front of it: the dialer refuses it as it refuses the
// loopback, and a receiver listening there hears nothing. Allowed with the
// local network.
func TestClientRefusesOwnAddressAtDial(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var own netip.Addr
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(n.IP)
		ip = ip.Unmap()
		if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() ||
			netip.MustParsePrefix("100.64.0.0/10").Contains(ip) || netip.MustParsePrefix("fec0::/10").Contains(ip) {
			continue
		}
		own = ip
		break
	}
	if !own.IsValid() {
		t.Skipf("no interface of this machine has a public-looking address: %v", addrs)
	}
	ln, err := net.Listen("tcp", netip.AddrPortFrom(own, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	go srv.Serve(ln)
	defer srv.Close()
	u := "http://" + ln.Addr().String() + "/hook"
	resp, err := webhooks.Policy{}.Client().Post(u, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, webhooks.ErrRefused) || !strings.Contains(err.Error(), "an address of this server") {
		t.Errorf("POST %s = %v, want a refusal of the server's own address", u, err)
	}
	if err := (webhooks.Policy{}).CheckURL(context.Background(), u); !errors.Is(err, webhooks.ErrRefused) {
		t.Errorf("CheckURL(%s) = %v, want a refusal when the URL is added", u, err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the receiver on %s got %d requests through a refusing dialer", own, n)
	}
	resp, err = webhooks.Policy{AllowPrivate: true}.Client().Post(u, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("allow private: %v", err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Fatalf("allow private: the receiver got %d requests", n)
	}
}

// An endpoint that reached the store without the check at add time (here
// written directly; in life a name that resolved elsewhere when added) is
// still refused on every delivery under the default policy: the attempt
// is a failure that says why, and the receiver on 127.0.0.1 hears
// nothing. Delivered once the server allows the local network.
func TestDeliveryRefusedAtDial(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	rc := newReceiver(t, "dial-secret-0123456789")
	srv := httptest.NewServer(rc)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ep := store.WebhookEndpoint{ID: 7, URL: "http://localhost:" + port + "/hook", Secret: rc.secret, Events: []string{"lead"}, Created: 1}
	w := store.Webhooks{Endpoints: []store.WebhookEndpoint{ep}}
	if err := db.Set(ctx, store.WebhooksKey(1), w.Encode()); err != nil {
		t.Fatal(err)
	}

	o := fast(webhooks.Options{})
	o.Policy = webhooks.Policy{} // the default, which fast opens
	h := webhooks.New(db, o)
	stop := run(t, h)
	if n := enqueue(t, db, h, 1, webhooks.KindLead, 1); n != 1 {
		t.Fatalf("%d deliveries", n)
	}
	var dl store.Delivery
	waitFor(t, "a refused attempt", func() bool {
		log, _ := h.Deliveries(ctx, 1, 0)
		if len(log) == 1 && log[0].Attempts > 0 {
			dl = log[0]
			return true
		}
		return false
	})
	stop()
	if a := dl.Recent[0]; a.Status != 0 || !strings.Contains(a.Error, webhooks.ErrRefused.Error()) || !strings.Contains(a.Error, "is a loopback address") {
		t.Errorf("attempt = %+v, want a refusal of the loopback", a)
	}
	if dl.State != store.DeliveryPending {
		t.Errorf("state %d, want pending (retried)", dl.State)
	}
	if _, n := rc.snapshot(); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}

	h = webhooks.New(db, fast(webhooks.Options{}))
	run(t, h)
	waitFor(t, "the delivery once the local network is allowed", func() bool {
		got, _ := rc.snapshot()
		return len(got) == 1
	})
}

// A failed attempt shows the status line and a short quoted excerpt of the
// answer, control characters escaped: not what an internal service says.
func TestSendExcerpt(t *testing.T) {
	answer := "line one\x00\x1b[31m\"red\"\n" + strings.Repeat("Ж", 500)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	client := webhooks.Policy{AllowPrivate: true}.Client()
	status, failure, _ := webhooks.Send(context.Background(), client, 5*time.Second, webhooks.Request{URL: srv.URL, At: time.Now(), Body: []byte("{}")})
	if status != http.StatusInternalServerError {
		t.Fatalf("status %d", status)
	}
	const head = `500 Internal Server Error: "line one\x00\x1b[31m\"red\"\nЖЖ`
	if !strings.HasPrefix(failure, head) || !strings.HasSuffix(failure, `"…`) {
		t.Fatalf("failure = %q", failure)
	}
	quoted := strings.TrimPrefix(failure, "500 Internal Server Error: ")
	if n := len([]rune(quoted)) - len(`""…`); n > 120 || n < 110 {
		t.Errorf("excerpt of %d characters: %q", n, quoted)
	}
	if strings.ContainsFunc(failure, unicode.IsControl) || bytes.Count([]byte(failure), []byte("Ж")) > 120 {
		t.Errorf("failure has control characters or too much of the answer: %q", failure)
	}

	// A receiver's own reason phrase is not shown: the status line is the
	// code with its standard words.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Read(make([]byte, 4096))
		c.Write([]byte("HTTP/1.1 502 \x1b[2Jroot:x:0:0 secret from inside\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	}()
	status, failure, _ = webhooks.Send(context.Background(), client, 5*time.Second, webhooks.Request{URL: "http://" + ln.Addr().String() + "/", At: time.Now(), Body: []byte("{}")})
	if status != http.StatusBadGateway || failure != "502 Bad Gateway" {
		t.Errorf("custom reason phrase: %d %q, want 502 Bad Gateway", status, failure)
	}
}
