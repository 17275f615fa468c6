package callbacks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appliance/captcha"
	"appliance/httpd/outbox"
	"appliance/httpd/visits"
	"appliance/httpd/webhooks"
	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

// clock is a settable clock: tests move time instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// scenario is a PBX: it answers status, after release when hold is set,
// and counts the calls per X-Appliance-Delivery.
type scenario struct {
	srv    *httptest.Server
	status atomic.Int32
	hold   chan struct{} // nil: answer at once
	mu     sync.Mutex
	got    map[string]int
}

func newScenario(t *testing.T) *scenario {
	s := &scenario{got: map[string]int{}}
	s.status.Store(http.StatusOK)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if s.hold != nil {
			<-s.hold
		}
		s.mu.Lock()
		s.got[r.Header.Get(webhooks.HeaderDelivery)]++
		s.mu.Unlock()
		w.WriteHeader(int(s.status.Load()))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scenario) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.got {
		n += c
	}
	return n
}

// fixture is a Service over a real store with one site and a clock.
type fixture struct {
	db    *store.DB
	clock *clock
	svc   *Service
	site  *store.Site
}

// newFixture is a fixture whose scenarios may listen on 127.0.0.1.
func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	return newFixturePolicy(t, o, webhooks.Policy{AllowPrivate: true})
}

func newFixturePolicy(t *testing.T, o Options, p webhooks.Policy) *fixture {
	t.Helper()
	db := storetest.Open(t)
	f := &fixture{db: db, clock: &clock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}}
	o.Now = f.clock.Now
	if o.Tick == 0 {
		o.Tick = 2 * time.Millisecond
	}
	f.svc = New(db, visits.NewTracker(db, o.Now, ""), webhooks.New(db, webhooks.Options{Policy: p}), captcha.New(captcha.Options{}), o)
	f.site = &store.Site{ID: 1, Key: "AbCdEfGh0123456789AbCdEfGh012345", Name: "Shop"}
	if err := db.Set(context.Background(), store.SiteKey(1), f.site.Encode()); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs the scheduler until the test ends.
func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (f *fixture) scenario(t *testing.T, url string) {
	t.Helper()
	if _, err := f.svc.Configure(context.Background(), f.site.ID, Change{ScenarioURL: &url}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) place(t *testing.T, in Input) Result {
	t.Helper()
	res, err := f.svc.Place(context.Background(), Order{Site: f.site, Visitor: 5, Session: 6, IP: "192.0.2.1", In: in})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) get(t *testing.T, id uint64) store.Callback {
	t.Helper()
	cb, err := f.svc.Get(f.site.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

func (f *fixture) scheduled(t *testing.T) int {
	t.Helper()
	n := 0
	if err := f.db.ScanPrefix(context.Background(), store.DuePrefix(store.DueCallback), false, 0, func(k, v []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		<-tick.C
	}
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	for _, tc := range []struct {
		name    string
		in      Input
		err     string // "" when accepted
		phone   string
		delayed int64
	}{
		{"plain", Input{Phone: "79101234567"}, "", "79101234567", 0},
		{"written", Input{Phone: " 8 (910) 123-45-67 "}, "", "79101234567", 0},
		{"foreign", Input{Phone: "+1 202 555 0143"}, "", "12025550143", 0},
		{"after 00", Input{Phone: "00 44 20 7946 0958"}, "", "442079460958", 0}, // was +7 00442079460958
		{"after 00, own country", Input{Phone: "00 7 910 123-45-67"}, "", "79101234567", 0},
		{"after 8 10", Input{Phone: "8 10 1 202 555 0143"}, "", "12025550143", 0},
		{"after 00, with an extension", Input{Phone: "0044 20 7946 0958 #5"}, "", "442079460958", 0},                  // was +7 00442079460958
		{"after 00, own country, with an extension", Input{Phone: "00 7 910 123-45-67 доб. 5"}, "", "79101234567", 0}, // was kept as typed
		{"after 00, a digit short, kept as typed", Input{Phone: "00 44 20 7946 095"}, "", "", 0},
		{"no phone", Input{}, "phone is required", "", 0},
		{"letters kept as typed", Input{Phone: "call me"}, "", "", 0},
		{"local number kept as typed", Input{Phone: "27-14-04"}, "", "", 0},
		{"control characters", Input{Phone: "7910\n1234567"}, "control characters", "", 0},
		{"too long", Input{Phone: strings.Repeat("1", 65)}, "longer than 64", "", 0},
		{"bad utf-8", Input{Phone: "7910\xff"}, "UTF-8", "", 0},
		{"later", Input{Phone: "79101234567", Delayed: ms(2 * time.Hour)}, "", "79101234567", ms(2 * time.Hour)},
		{"within a minute is now", Input{Phone: "79101234567", Delayed: ms(30 * time.Second)}, "", "79101234567", 0},
		{"past is now", Input{Phone: "79101234567", Delayed: ms(-time.Hour)}, "", "79101234567", 0},
		{"seconds", Input{Phone: "79101234567", Delayed: now.Unix()}, "milliseconds", "", 0},
		{"30 days", Input{Phone: "79101234567", Delayed: ms(MaxDelay)}, "", "79101234567", ms(MaxDelay)},
		{"too far", Input{Phone: "79101234567", Delayed: ms(MaxDelay + time.Millisecond)}, "days ahead", "", 0},
		{"group", Input{Phone: "79101234567", GroupID: MaxGroupID + 1}, "group_id", "", 0},
		{"page control", Input{Phone: "79101234567", PageURL: "https://x/\n?a"}, "page URL", "", 0},
		{"page long", Input{Phone: "79101234567", PageURL: strings.Repeat("a", MaxURL+1)}, "page URL", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb, err := Check(tc.in, now, numbers.DefaultRegion)
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cb.Phone != tc.phone || cb.Delayed != tc.delayed || cb.Time != now.UnixMilli() || cb.State != store.CallbackPending {
				t.Errorf("got %+v, want phone %s delayed %d", cb, tc.phone, tc.delayed)
			}
			if got, want := cb.PhoneRaw, strings.TrimSpace(tc.in.Phone); got != want {
				t.Errorf("phone as typed %q, want %q", got, want)
			}
			if got, want := Unparsed(&cb), tc.phone == ""; got != want {
				t.Errorf("Unparsed = %v, want %v", got, want)
			}
		})
	}
}

func TestParseGroups(t *testing.T) {
	gs, err := ParseGroups("16587 Продажи\n\n 16588=Сервис ; 3:  Support team \r\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.WidgetGroup{{ID: 16587, Name: "Продажи"}, {ID: 16588, Name: "Сервис"}, {ID: 3, Name: "Support team"}}
	if len(gs) != len(want) {
		t.Fatalf("got %v", gs)
	}
	for i := range want {
		if gs[i] != want[i] {
			t.Errorf("group %d = %v, want %v", i, gs[i], want[i])
		}
	}
	if again, err := ParseGroups(FormatGroups(gs)); err != nil || len(again) != 3 || again[2] != want[2] {
		t.Errorf("FormatGroups does not read back: %v, %v", again, err)
	}
	for _, bad := range []string{"Sales", "0 Zero", "1 A\n1 B", "1", "99999999999999999999 Big", "9007199254740992 Over",
		"1 " + strings.Repeat("x", MaxGroupName+1), "1 a\x01b"} {
		if _, err := ParseGroups(bad); !errors.Is(err, ErrSettings) {
			t.Errorf("ParseGroups(%q) err = %v, want ErrSettings", bad, err)
		}
	}
	if gs, err := ParseGroups(" \n;"); err != nil || len(gs) != 0 {
		t.Errorf("blank: %v, %v", gs, err)
	}
}

func TestConfigure(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	s := func(v string) *string { return &v }
	w, err := f.svc.Configure(ctx, 1, Change{ScenarioURL: s(" https://pbx.example/cb ")})
	if err != nil {
		t.Fatal(err)
	}
	if w.ScenarioURL != "https://pbx.example/cb" || !strings.HasPrefix(w.ScenarioSecret, "cbsec_") || w.Updated != f.clock.Now().UnixMilli() {
		t.Fatalf("got %+v", w)
	}
	secret := w.ScenarioSecret
	on := true
	w, err = f.svc.Configure(ctx, 1, Change{Captcha: &on, Lang: s("EN")})
	if err != nil || w.ScenarioSecret != secret || !w.Captcha || w.Lang != "en" || w.ScenarioURL == "" {
		t.Fatalf("a change of captcha and language: %+v, %v", w, err)
	}
	if w, err = f.svc.Configure(ctx, 1, Change{Lang: s("auto")}); err != nil || w.Lang != "" {
		t.Fatalf("auto: %+v, %v", w, err)
	}
	for name, c := range map[string]Change{
		"url":          {ScenarioURL: s("pbx.example")},
		"scheme":       {ScenarioURL: s("ftp://pbx.example")},
		"short secret": {Secret: s("short")},
		"space secret": {Secret: s("0123456789 abcdef")},
		"lang":         {Lang: s("de")},
		"groups":       {Groups: &[]store.WidgetGroup{{ID: 1, Name: "a"}, {ID: 1, Name: "b"}}},
		"5 digits":     {CaptchaDigits: new(5)},
		"0 digits":     {CaptchaDigits: new(0)},
	} {
		if _, err := f.svc.Configure(ctx, 1, c); !errors.Is(err, ErrSettings) {
			t.Errorf("%s: err = %v, want ErrSettings", name, err)
		}
	}
	if got, _ := f.svc.Settings(1); got.ScenarioSecret != secret || got.Lang != "" {
		t.Errorf("refused changes changed the settings: %+v", got)
	}
	w, err = f.svc.Configure(ctx, 1, Change{ScenarioURL: s("")})
	if err != nil || w.ScenarioURL != "" || w.ScenarioSecret != "" || !w.Captcha {
		t.Fatalf("removing the scenario: %+v, %v", w, err)
	}
	if _, err := f.svc.Configure(ctx, 1, Change{Secret: s("0123456789abcdef")}); !errors.Is(err, ErrSettings) {
		t.Errorf("a secret without a scenario: %v", err)
	}
	// Without a scenario callbacks are kept to call back by default: the
	// widgets take them; with the queue off they do not.
	if p := PublicOf(w); !p.Captcha || !p.Callback || p.Groups == nil || w.NoQueue {
		t.Errorf("public %+v", p)
	}
	off := false
	if w, err = f.svc.Configure(ctx, 1, Change{Queue: &off}); err != nil || !w.NoQueue || PublicOf(w).Callback {
		t.Errorf("queue off: %+v, %v", w, err)
	}
}

// A delayed call whose scenario fails is tried MaxAttempts times,
// RetryAfter apart, then kept as failed; nothing is left in the schedule.
// With the default policy a scenario on the loopback is refused when it is
// set, with a clear error and nothing stored; and one that reached the
// store anyway (written directly here, as a name that resolved elsewhere
// when it was set would) is refused when the call is made: the callback
// fails saying why, and the PBX hears nothing.
func TestScenarioRefusedPrivate(t *testing.T) {
	f := newFixturePolicy(t, Options{}, webhooks.Policy{})
	pbx := newScenario(t)
	ctx := context.Background()
	for _, u := range []string{pbx.srv.URL + "/cb", strings.Replace(pbx.srv.URL, "127.0.0.1", "localhost", 1) + "/cb", "http://169.254.169.254/"} {
		_, err := f.svc.Configure(ctx, 1, Change{ScenarioURL: &u})
		if !errors.Is(err, ErrSettings) || !errors.Is(err, webhooks.ErrRefused) || !strings.Contains(err.Error(), "--webhook-allow-private") {
			t.Errorf("Configure(%s) = %v, want a refusal", u, err)
		}
	}
	if w, err := f.svc.Settings(1); err != nil || w.ScenarioURL != "" {
		t.Fatalf("a refused scenario was stored: %+v %v", w, err)
	}

	w := store.WidgetSettings{ScenarioURL: strings.Replace(pbx.srv.URL, "127.0.0.1", "localhost", 1) + "/cb", ScenarioSecret: "cbsec_0123456789abcdef"}
	if err := f.db.Set(ctx, store.WidgetKey(1), w.Encode()); err != nil {
		t.Fatal(err)
	}
	res := f.place(t, Input{Phone: "79101234567"})
	if res.Status != StatusFailed || res.Code != CodeTelephonyFailed {
		t.Fatalf("result %+v, want telephony_failed", res)
	}
	if cb := f.get(t, res.ID); cb.LastCode != 0 || !strings.Contains(cb.LastError, "is a loopback address") {
		t.Errorf("callback %+v, want a refusal of the loopback", cb)
	}
	if n := pbx.calls(); n != 0 {
		t.Fatalf("the PBX got %d calls", n)
	}
}

func TestDelayedRetriesThenFails(t *testing.T) {
	f := newFixture(t, Options{MaxAttempts: 3, RetryAfter: time.Minute})
	sc := newScenario(t)
	sc.status.Store(http.StatusServiceUnavailable)
	f.scenario(t, sc.srv.URL)
	f.run(t)
	res := f.place(t, Input{Phone: "79101234567", Delayed: f.clock.Now().Add(time.Hour).UnixMilli()})
	if res.Status != StatusAccepted || res.Code != CodeScheduled {
		t.Fatalf("place: %+v", res)
	}
	for attempt := 1; attempt <= 3; attempt++ {
		if attempt == 1 {
			f.clock.Add(time.Hour)
		} else {
			f.clock.Add(time.Minute)
		}
		eventually(t, "the attempt is recorded", func() bool { return f.get(t, res.ID).Attempts == uint32(attempt) })
	}
	cb := f.get(t, res.ID)
	if cb.State != store.CallbackFailed || cb.LastCode != 503 || cb.LastReason != webhooks.ReasonServer || sc.calls() != 3 || f.scheduled(t) != 0 {
		t.Errorf("after 3 failed attempts: %+v, %d calls, %d scheduled", cb, sc.calls(), f.scheduled(t))
	}
}

// A call that comes due more than MaxLate late (the appliance was down) is
// not made.
func TestTooLate(t *testing.T) {
	f := newFixture(t, Options{MaxLate: time.Hour})
	sc := newScenario(t)
	f.scenario(t, sc.srv.URL)
	res := f.place(t, Input{Phone: "79101234567", Delayed: f.clock.Now().Add(10 * time.Minute).UnixMilli()})
	f.clock.Add(10*time.Minute + time.Hour + time.Second)
	f.run(t)
	eventually(t, "the late call is recorded", func() bool { return f.get(t, res.ID).State != store.CallbackPending })
	if cb := f.get(t, res.ID); cb.State != store.CallbackFailed || !strings.Contains(cb.LastError, "too late") || cb.LastReason != ReasonTooLate || sc.calls() != 0 || f.scheduled(t) != 0 {
		t.Errorf("late call: %+v, %d calls", cb, sc.calls())
	}
}

// An immediate call lost in a crash (stored, never sent) is sent by Run
// once its recovery time has passed, exactly once.
func TestImmediateRecoveredAfterCrash(t *testing.T) {
	f := newFixture(t, Options{Recover: time.Minute})
	sc := newScenario(t)
	f.scenario(t, sc.srv.URL)
	now := f.clock.Now()
	cb := store.Callback{ID: 99, Time: now.UnixMilli(), Phone: "79101234567", PhoneRaw: "79101234567", State: store.CallbackPending}
	due := now.Add(time.Minute)
	err := f.db.Update(context.Background(), func(tx *store.Tx) error {
		tx.Set(store.CallbackKey(1, cb.ID), cb.Encode())
		f.svc.due.Put(tx, outbox.Item{At: due, ID: cb.ID, Site: 1})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.run(t)
	f.clock.Add(time.Minute)
	eventually(t, "the lost call is sent", func() bool { return f.get(t, cb.ID).State == store.CallbackSent })
	f.clock.Add(time.Hour)
	f.svc.due.Wake()
	if sc.calls() != 1 || f.scheduled(t) != 0 {
		t.Errorf("%d calls, %d scheduled, want 1 and 0", sc.calls(), f.scheduled(t))
	}
}

// The per-IP limit holds an IPv6 host to its /64: new visitors from each
// of its addresses (a VPS has 2^64) do not get it past the limit, to ring
// any number it likes until the site's budget is spent. Another network
// still calls.
func TestCallbackIPLimitCountsIPv6ByNetwork(t *testing.T) {
	f := newFixture(t, Options{IPLimit: 2, VisitorLimit: 100, SitePerMinute: 100})
	order := func(visitor uint64, ip string) Result {
		t.Helper()
		res, err := f.svc.Place(context.Background(), Order{Site: f.site, Visitor: visitor, Session: visitor, IP: ip, In: Input{Phone: "79101234567"}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i := range uint64(5) {
		res := order(10+i, fmt.Sprintf("2001:db8:66:1::%x", i+1))
		if i < 2 && res.Status != StatusAccepted {
			t.Errorf("call %d from the /64: %+v, want accepted", i+1, res)
		}
		if i >= 2 && (res.Status != StatusLimit || res.Code != CodeIPLimit) {
			t.Errorf("call %d from another address of the same /64: %+v, want the per-IP limit", i+1, res)
		}
	}
	if res := order(20, "2001:db8:66:2::1"); res.Status != StatusAccepted {
		t.Errorf("a call from the next /64: %+v, want accepted", res)
	}
	if res := order(21, "192.0.2.7"); res.Status != StatusAccepted {
		t.Errorf("a call from an IPv4 address: %+v, want accepted", res)
	}
	if res := order(22, "2001:db8:66:3::9"); f.get(t, res.ID).IP != "2001:db8:66:3::9" {
		t.Errorf("the callback keeps the address %q, want the client's own", f.get(t, res.ID).IP)
	}
}

// While an immediate call is being sent, Run leaves its schedule entry
// alone even when it comes due: the PBX gets it once.
func TestImmediateNotSentTwice(t *testing.T) {
	f := newFixture(t, Options{Recover: time.Second})
	sc := newScenario(t)
	sc.hold = make(chan struct{})
	f.scenario(t, sc.srv.URL)
	f.run(t)
	done := make(chan Result)
	go func() {
		res, err := f.svc.Place(context.Background(), Order{Site: f.site, Visitor: 5, Session: 6, IP: "192.0.2.1", In: Input{Phone: "79101234567"}})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	eventually(t, "the call is stored", func() bool { return f.scheduled(t) == 1 })
	f.clock.Add(time.Minute) // its recovery time has passed
	for range 20 {
		f.svc.due.Wake()
		time.Sleep(time.Millisecond) // let Run look at the schedule a few times
	}
	close(sc.hold)
	res := <-done
	if res.Status != StatusAccepted || res.Code != CodeCalling {
		t.Fatalf("place: %+v", res)
	}
	if sc.calls() != 1 || f.scheduled(t) != 0 || f.get(t, res.ID).State != store.CallbackSent {
		t.Errorf("%d calls, %d scheduled, state %d", sc.calls(), f.scheduled(t), f.get(t, res.ID).State)
	}
}

// Run returns once its context ends.
func TestRunStops(t *testing.T) {
	f := newFixture(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// A schedule entry whose callback is gone is dropped.
func TestOrphanEntryDropped(t *testing.T) {
	f := newFixture(t, Options{})
	err := f.db.Update(context.Background(), func(tx *store.Tx) error {
		f.svc.due.Put(tx, outbox.Item{At: f.clock.Now(), ID: 42, Site: 1})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.run(t)
	eventually(t, "the orphan entry is dropped", func() bool { return f.scheduled(t) == 0 })
}
