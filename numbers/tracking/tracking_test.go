package tracking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"appliance/httpd/visits"
	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
)

func open(t testing.TB, db *store.DB, now time.Time) *Tracker {
	t.Helper()
	tr, err := Open(ctx, db, now, numbers.DefaultRegion, visits.SourceChannel)
	if err != nil {
		t.Fatalf("open tracking: %v", err)
	}
	return tr
}

const (
	siteNum  = "74872751404"
	yandex   = "74951825168"
	fallback = "74950000009"
)

// setUp gives site 1 one site number, a static number for yandex and a
// pool "ads" of n numbers for cpc traffic.
func setUp(t testing.TB, tr *Tracker, n int) []string {
	t.Helper()
	if _, err := tr.SetSiteNumbers(ctx, 1, []string{"8 (487) 275-14-04"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.AddStatic(ctx, 1, StaticInput{Number: "+7 495 182-51-68", RuleInput: RuleInput{Rule: "utm_source=yandex"}}, t0); err != nil {
		t.Fatal(err)
	}
	var nums []string
	for i := range n {
		nums = append(nums, fmt.Sprintf("7495000%04d", i+1))
	}
	if _, err := tr.AddPool(ctx, 1, PoolInput{Name: "ads", Numbers: nums, Fallback: fallback,
		RuleInput: RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, t0); err != nil {
		t.Fatal(err)
	}
	return nums
}

var (
	cpc    = numbers.Visit{UTMSource: "google", UTMMedium: "cpc", Channel: "ad", Landing: "https://shop.example/promo"}
	ya     = numbers.Visit{UTMSource: "yandex", Channel: "organic"}
	direct = numbers.Visit{Channel: "direct"}
)

// assign is Assign and Persist in one durable write, as a page view does.
func assign(t testing.TB, tr *Tracker, visitor uint64, v numbers.Visit, bot bool, now time.Time) Assignment {
	t.Helper()
	a, err := tr.Assign(1, visitor, visitor*10, v, bot, now)
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	if err := tr.db.Update(ctx, a.Persist); err != nil {
		t.Fatalf("persist: %v", err)
	}
	return a
}

// shown is what replaces the site number, and how.
func shown(a Assignment) (string, Type) {
	for _, r := range a.Replacements {
		if r.Site.Digits == siteNum {
			return r.Number.Digits, r.Type
		}
	}
	return "", ""
}

func TestAssignByRule(t *testing.T) {
	tr := open(t, storetest.Open(t), t0)
	nums := setUp(t, tr, 2)
	for i, tt := range []struct {
		name   string
		visit  numbers.Visit
		bot    bool
		number string
		typ    Type
	}{
		{"static by utm_source", ya, false, yandex, Static},
		{"dynamic by utm_medium", cpc, false, nums[0], Dynamic},
		// Both rules match: the pool has the higher priority.
		{"priority wins", numbers.Visit{UTMSource: "yandex", UTMMedium: "cpc"}, false, nums[0], Dynamic},
		{"no rule matches", direct, false, "", ""},
		{"bots never lease", cpc, true, fallback, Static},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A visitor each: one who holds a lease keeps it on a page
			// view no rule covers (TestLeaseKeptWhenNoRuleCovers).
			a := assign(t, tr, uint64(i+1), tt.visit, tt.bot, t0)
			n, typ := shown(a)
			if tt.number == nums[0] {
				tt.number = n // whichever slot the visitor got
				if !strings.HasPrefix(n, "7495000") {
					t.Fatalf("got %q, want a pool number", n)
				}
			}
			if n != tt.number || typ != tt.typ {
				t.Fatalf("shown %q (%s), want %q (%s)", n, typ, tt.number, tt.typ)
			}
		})
	}
}

func TestSpecificRuleWinsAtEqualPriority(t *testing.T) {
	tr := open(t, storetest.Open(t), t0)
	setUp(t, tr, 1)
	if _, err := tr.AddStatic(ctx, 1, StaticInput{Number: "74951111111", RuleInput: RuleInput{Rule: "utm_source=yandex&utm_medium=cpc", Priority: 1}}, t0); err != nil {
		t.Fatal(err)
	}
	a := assign(t, tr, 7, numbers.Visit{UTMSource: "yandex", UTMMedium: "cpc"}, false, t0)
	if n, _ := shown(a); n != "74951111111" {
		t.Fatalf("shown %s, want the two-term static rule's number", n)
	}
}

// A day whose claims and misses a version before wrote to the pool's
// daily counter (and their demand alone to the hour's) reports them with
// those written to the hours alone since, on the same day and hour.
func TestPoolReportOfOlderCounters(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	setUp(t, tr, 2)
	reps, err := tr.Report(ctx, 1, t0, t0, t0)
	if err != nil || len(reps) != 1 {
		t.Fatal(reps, err)
	}
	pool, day := reps[0].ID, Day(t0, time.UTC)
	// As the version before wrote 5 claims and 2 misses, all at 12:xx.
	err = db.Update(ctx, func(tx *store.Tx) error {
		tx.AddLanes(store.RollupKey(1, day, poolMetric(pool)), []int64{LanePoolClaims: 5, LanePoolMisses: 2})
		tx.Add(store.RollupKey(1, day, poolHourMetric(pool, 12)), 0, 7)
		tx.Add(store.RollupKey(1, day, poolHourMetric(pool, 9)), 0, 4)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	assign(t, tr, 1, cpc, false, t0)                    // a claim
	assign(t, tr, 2, cpc, false, t0.Add(time.Minute))   // a claim
	assign(t, tr, 3, cpc, false, t0.Add(2*time.Minute)) // a miss: the pool is full
	reps, err = tr.Report(ctx, 1, t0, t0, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if d := reps[0].Days[0]; d.Claims != 7 || d.Misses != 3 || d.BusyHour != 10 || reps[0].Misses != 3 {
		t.Fatalf("day %+v (misses %d): want 7 claims, 3 misses, the busy hour's demand 10", d, reps[0].Misses)
	}
}

func TestDynamicLeaseLifecycle(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	setUp(t, tr, 2)
	a1 := assign(t, tr, 1, cpc, false, t0)
	n1, _ := shown(a1)
	if a1.Renew == 0 || a1.TTL != numbers.DefaultReserve {
		t.Fatalf("TTL %v renew %v: want the reserve and a heartbeat", a1.TTL, a1.Renew)
	}
	// The same visitor keeps its number across pages.
	if n, _ := shown(assign(t, tr, 1, cpc, false, t0.Add(5*time.Minute))); n != n1 {
		t.Fatalf("second page: %s, want %s", n, n1)
	}
	n2, _ := shown(assign(t, tr, 2, cpc, false, t0.Add(6*time.Minute)))
	if n2 == n1 || n2 == "" || n2 == fallback {
		t.Fatalf("second visitor got %q (first has %q)", n2, n1)
	}
	// A third visitor finds the pool full: fallback, and a miss.
	if n, typ := shown(assign(t, tr, 3, cpc, false, t0.Add(7*time.Minute))); n != fallback || typ != Static {
		t.Fatalf("full pool: %s (%s), want the fallback", n, typ)
	}
	reps, err := tr.Report(ctx, 1, t0, t0, t0.Add(7*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	if r.Live != 2 || r.Misses != 1 || r.Days[0].Claims != 2 || r.Days[0].Peak != 2 || r.Days[0].BusyHour != 3 {
		t.Fatalf("report %+v", r)
	}
	if r.Suggested.Size < 2 {
		t.Fatalf("suggested size %+v for 3 visitors an hour holding %v", r.Suggested, r.MeanHold)
	}
	// Visitor 1's lease lapses 20 minutes after its last page (t0+5m).
	if n, _ := shown(assign(t, tr, 3, cpc, false, t0.Add(25*time.Minute+30*time.Second))); n != n1 {
		t.Fatalf("after visitor 1's lease lapsed, visitor 3 got %s, want %s", n, n1)
	}
}

// Leases survive a restart, crash included: the store is reopened without
// anything but what the acknowledged writes put there.
func TestLeasesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	db := storetest.OpenAt(t, dir)
	tr := open(t, db, t0)
	setUp(t, tr, 2)
	n1, _ := shown(assign(t, tr, 1, cpc, false, t0))
	shown(assign(t, tr, 1, cpc, false, t0.Add(10*time.Minute))) // renewed to t0+30m
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = storetest.OpenAt(t, dir)
	tr = open(t, db, t0.Add(25*time.Minute))
	// Visitor 2 cannot take visitor 1's number, which lives to t0+30m.
	n2, _ := shown(assign(t, tr, 2, cpc, false, t0.Add(25*time.Minute)))
	if n2 == n1 {
		t.Fatalf("after restart visitor 2 got visitor 1's live number %s", n1)
	}
	if n, typ := shown(assign(t, tr, 1, cpc, false, t0.Add(26*time.Minute))); n != n1 || typ != Dynamic {
		t.Fatalf("after restart visitor 1 got %s (%s), want its number %s", n, typ, n1)
	}
	a, err := tr.Attribute(ctx, n1, t0.Add(27*time.Minute))
	if err != nil || !a.Attributed || a.Visitor != 1 || a.Session != 10 || a.Source.UTMMedium != "cpc" || a.PoolName != "ads" {
		t.Fatalf("attribution after restart: %+v, %v", a, err)
	}
}

// A call at T resolves to whoever held the number at T, even after it was
// leased to someone else.
func TestAttributeAcrossReLease(t *testing.T) {
	tr := open(t, storetest.Open(t), t0)
	nums := setUp(t, tr, 1)
	assign(t, tr, 1, cpc, false, t0) // holds nums[0] until t0+20m
	other := numbers.Visit{UTMSource: "vk", UTMMedium: "cpc", Channel: "ad"}
	if n, _ := shown(assign(t, tr, 2, other, false, t0.Add(30*time.Minute))); n != nums[0] {
		t.Fatalf("re-lease: got %s", n)
	}
	for _, tt := range []struct {
		at      time.Duration
		visitor uint64
		source  string
	}{
		{-time.Minute, 0, ""},
		{0, 1, "google"},
		{10 * time.Minute, 1, "google"},
		{20 * time.Minute, 1, "google"}, // the last instant of the lease
		{25 * time.Minute, 0, ""},       // between leases
		{30 * time.Minute, 2, "vk"},
		{45 * time.Minute, 2, "vk"},
		{60 * time.Minute, 0, ""},
	} {
		a, err := tr.Attribute(ctx, "+7 (495) 000-00-01", t0.Add(tt.at))
		if err != nil {
			t.Fatal(err)
		}
		if a.Visitor != tt.visitor || a.Attributed != (tt.visitor != 0) || a.Source.UTMSource != tt.source || a.Kind != KindDynamic || a.Site != 1 {
			t.Errorf("at +%v: %+v; want visitor %d from %q", tt.at, a, tt.visitor, tt.source)
		}
	}
}

// A call reported in whole seconds finds a lease claimed later within its
// second, unless another lease was live at the second itself: then the
// call is that one's, not the new holder's, shown the number moments
// before.
func TestAttributeWholeSeconds(t *testing.T) {
	tr := open(t, storetest.Open(t), t0)
	nums := setUp(t, tr, 1)
	assign(t, tr, 1, cpc, false, t0.Add(700*time.Millisecond))
	a, err := tr.Attribute(ctx, nums[0], t0)
	if err != nil || a.Visitor != 1 {
		t.Fatalf("call at the claim's whole second: %+v %v", a, err)
	}
	if a, _ := tr.Attribute(ctx, nums[0], t0.Add(500*time.Millisecond)); a.Visitor != 0 {
		t.Fatalf("call at a precise instant before the claim: %+v", a)
	}
	// Visitor 1's lease lapses at t0+20m0.7s; visitor 2 takes the number
	// at t0+20m0.9s.
	lapse := t0.Add(numbers.DefaultReserve + 700*time.Millisecond)
	if n, _ := shown(assign(t, tr, 2, cpc, false, lapse.Add(200*time.Millisecond))); n != nums[0] {
		t.Fatalf("visitor 2 got %q, want %s", n, nums[0])
	}
	for _, tt := range []struct {
		at      time.Time
		visitor uint64
	}{
		{lapse.Truncate(time.Second), 1},                  // 20m0s: visitor 1 held it
		{lapse.Truncate(time.Second).Add(time.Second), 2}, // 20m1s: nobody held it, 2 claimed within the second
		{lapse.Add(100 * time.Millisecond), 0},            // a precise instant between the leases
	} {
		if a, err := tr.Attribute(ctx, nums[0], tt.at); err != nil || a.Visitor != tt.visitor {
			t.Errorf("call at %v: %+v %v, want visitor %d", tt.at.Sub(t0), a, err, tt.visitor)
		}
	}
}

func TestAttributeStaticSiteUnknown(t *testing.T) {
	tr := open(t, storetest.Open(t), t0)
	setUp(t, tr, 1)
	for _, tt := range []struct {
		number     string
		kind       Kind
		attributed bool
		source     Source
	}{
		// The channel is the one the traffic-source table gives the rule's
		// tags: utm_source=yandex alone is organic, utm_medium=cpc is ad.
		{yandex, KindStatic, true, Source{Channel: "organic", UTMSource: "yandex"}},
		// Whoever found the pool full may have dialled its fallback: not
		// attributed, with what the pool's rule names.
		{fallback, KindFallback, false, Source{Channel: "ad", UTMMedium: "cpc"}},
		{siteNum, KindSite, false, Source{}},
		{"79161234567", KindUnknown, false, Source{}},
	} {
		a, err := tr.Attribute(ctx, tt.number, t0)
		if err != nil {
			t.Fatal(err)
		}
		if a.Kind != tt.kind || a.Attributed != tt.attributed || a.Source != tt.source || (tt.kind != KindUnknown) != (a.Site == 1) {
			t.Errorf("%s: %+v", tt.number, a)
		}
	}
	if _, err := tr.Attribute(ctx, "12", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad number: %v", err)
	}
}

// Page views of one visitor written out of order never move its until
// back, and a renew written before its claim still leaves the claim.
func TestPersistOrder(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	claim, err := tr.Assign(1, 1, 10, cpc, false, t0)
	if err != nil {
		t.Fatal(err)
	}
	renew, err := tr.Assign(1, 1, 10, cpc, false, t0.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*Assignment{&renew, &claim} {
		if err := db.Update(ctx, a.Persist); err != nil {
			t.Fatal(err)
		}
	}
	a, err := tr.Attribute(ctx, nums[0], t0.Add(24*time.Minute))
	if err != nil || a.Visitor != 1 || !a.Until.Equal(t0.Add(25*time.Minute)) {
		t.Fatalf("attribution %+v, %v; want visitor 1 until t0+25m", a, err)
	}
}

func TestConfigChecks(t *testing.T) {
	tr := open(t, storetest.Open(t), t0)
	nums := setUp(t, tr, 2)
	for _, tt := range []struct {
		name string
		do   func() error
		want string
	}{
		{"static is a pool number", func() error {
			_, err := tr.AddStatic(ctx, 1, StaticInput{Number: nums[0]}, t0)
			return err
		}, "already in pool"},
		{"bad rule", func() error {
			_, err := tr.AddStatic(ctx, 1, StaticInput{Number: "74951112233", RuleInput: RuleInput{Rule: "utm_sorce=x"}}, t0)
			return err
		}, "unknown key"},
		{"bad number", func() error {
			_, err := tr.AddStatic(ctx, 1, StaticInput{Number: "12"}, t0)
			return err
		}, "phone"},
		{"replaces no site number", func() error {
			_, err := tr.AddStatic(ctx, 1, StaticInput{Number: "74951112233", RuleInput: RuleInput{Replaces: []string{"74950000000"}}}, t0)
			return err
		}, "not one of the site's numbers"},
		{"fallback is leased", func() error {
			_, err := tr.AddPool(ctx, 1, PoolInput{Name: "seo", Numbers: []string{"74952220001"}, Fallback: nums[1]}, t0)
			return err
		}, "must not be leased"},
		{"reserve too short", func() error {
			_, err := tr.AddPool(ctx, 1, PoolInput{Name: "seo", Numbers: []string{"74952220001"}, Reserve: time.Minute}, t0)
			return err
		}, "reserve"},
		{"pool name taken", func() error {
			_, err := tr.AddPool(ctx, 1, PoolInput{Name: "ADS", Numbers: []string{"74952220001"}}, t0)
			return err
		}, "has a pool of that name"},
		{"another site's number", func() error {
			_, err := tr.AddStatic(ctx, 2, StaticInput{Number: yandex}, t0)
			return err
		}, `74951825168 is a number of another site, "#1"`},
		{"another site's tracking number as site number", func() error {
			_, err := tr.SetSiteNumbers(ctx, 2, []string{nums[0]}, t0)
			return err
		}, "another site"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rev := tr.Config(1).Revision
			err := tt.do()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid saying %q", err, tt.want)
			}
			if got := tr.Config(1).Revision; got != rev {
				t.Fatalf("a refused change moved the revision %d -> %d", rev, got)
			}
		})
	}
	// A pool's name may be 64 Russian letters (128 bytes): the limit counts
	// characters, as its message says; it refused 33.
	if _, err := tr.AddPool(ctx, 1, PoolInput{Name: strings.Repeat("Ж", MaxPoolName), Numbers: []string{"74952220002"}}, t0); err != nil {
		t.Fatalf("a pool named with %d Russian letters: %v", MaxPoolName, err)
	}
	// A shared office line may be two sites' site number.
	if _, err := tr.SetSiteNumbers(ctx, 2, []string{siteNum}, t0); err != nil {
		t.Fatalf("shared site number: %v", err)
	}
}

// Importing numbers into a pool keeps the leases of the numbers it had.
func TestImportKeepsLeases(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	assign(t, tr, 1, cpc, false, t0)
	lines, err := ParseImport(strings.NewReader("number\n+7 495 000-00-02\n8 495 000 00 03\nnot a number\n74950000001\n74950000002\n"), numbers.DefaultRegion, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.ImportNumbers(ctx, 1, "ads", lines, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Added, ","); got != "74950000002,74950000003" {
		t.Fatalf("added %s", got)
	}
	if len(res.Skipped) != 3 || !strings.Contains(res.Skipped[1].Reason, "already in pool") || !strings.Contains(res.Skipped[2].Reason, "earlier in the file") {
		t.Fatalf("skipped %+v", res.Skipped)
	}
	if n, _ := shown(assign(t, tr, 1, cpc, false, t0.Add(time.Minute))); n != nums[0] {
		t.Fatalf("after import visitor 1 got %s, want its number %s", n, nums[0])
	}
	for v := uint64(2); v <= 3; v++ {
		if n, _ := shown(assign(t, tr, v, cpc, false, t0.Add(time.Minute))); n == nums[0] || n == fallback {
			t.Fatalf("visitor %d got %s", v, n)
		}
	}
	if _, err := tr.ImportNumbers(ctx, 1, "nope", lines, t0); !errors.Is(err, ErrNoPool) {
		t.Fatalf("import into a missing pool: %v", err)
	}
}

// A number that leaves its pool ends its lease there: a call to it from
// then on follows what the number is now, a static number's source, not
// the visitor who held it, in memory and in the store, after a restart
// sealed or not; a page view still running on the old set-up is not
// handed it again; and given back to a pool, it starts free. A call
// before it left is still the holder's. The number kept going to the old
// holder until the lease lapsed.
func TestNumberLeavingItsPoolEndsItsLease(t *testing.T) {
	const other = "74950000002"
	for _, how := range []string{"dropped from the pool", "pool removed"} {
		for _, restart := range []string{"none", "crash", "sealed"} {
			t.Run(how+", restart "+restart, func(t *testing.T) {
				dir := t.TempDir()
				db := storetest.OpenAt(t, dir)
				tr := open(t, db, t0)
				nums := setUp(t, tr, 1)
				if n, _ := shown(assign(t, tr, 1, cpc, false, t0)); n != nums[0] { // held to t0+20m
					t.Fatalf("visitor 1 got %q", n)
				}
				oldPool := tr.state.Load().sites[1].pools[0].live
				moved := t0.Add(5 * time.Minute)
				switch how {
				case "dropped from the pool":
					if _, err := tr.UpdatePool(ctx, 1, "ads", PoolInput{Name: "ads", Numbers: []string{other}, Fallback: fallback,
						RuleInput: RuleInput{Rule: "utm_medium=cpc", Priority: 1}}, moved); err != nil {
						t.Fatal(err)
					}
				default:
					if err := tr.RemovePool(ctx, 1, "ads", moved); err != nil {
						t.Fatal(err)
					}
				}
				// A page view that still runs on the set-up before the
				// change is not handed the number, nor is its holder.
				for _, v := range []uint64{1, 2} {
					if l, err := oldPool.Acquire(v, moved.Add(time.Second)); !errors.Is(err, numbers.ErrExhausted) {
						t.Fatalf("the old pool handed visitor %d %+v, %v", v, l, err)
					}
				}
				if _, err := tr.AddStatic(ctx, 1, StaticInput{Number: nums[0], RuleInput: RuleInput{Rule: "utm_source=vk"}}, moved.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				switch restart {
				case "crash":
					if err := db.Close(); err != nil {
						t.Fatal(err)
					}
				case "sealed":
					if err := tr.Seal(ctx, moved.Add(2*time.Minute)); err != nil {
						t.Fatal(err)
					}
					if err := db.Close(); err != nil {
						t.Fatal(err)
					}
				}
				if restart != "none" {
					db = storetest.OpenAt(t, dir)
					tr = open(t, db, moved.Add(2*time.Minute))
					if (restart == "sealed") != tr.sealed {
						t.Fatalf("restart %s: opened from the sealed leases %v", restart, tr.sealed)
					}
				}
				for _, tt := range []struct {
					at      time.Time
					kind    Kind
					visitor uint64
					source  string
				}{
					{t0.Add(2 * time.Minute), KindDynamic, 1, "google"}, // held then
					{moved.Add(30 * time.Second), KindStatic, 0, "vk"},  // left the pool, now static
					{t0.Add(10 * time.Minute), KindStatic, 0, "vk"},     // within the old lease's time
				} {
					a, err := tr.Attribute(ctx, nums[0], tt.at)
					if err != nil {
						t.Fatal(err)
					}
					if tt.kind == KindStatic && (a.Kind != KindStatic || a.Visitor != 0 || a.Match != store.MatchStatic || a.Source.UTMSource != tt.source) {
						t.Errorf("call at t0+%v: %+v; want the static number's source %s", tt.at.Sub(t0), a, tt.source)
					}
					if tt.kind == KindDynamic && (a.Visitor != tt.visitor || a.Source.UTMSource != tt.source || a.Match != store.MatchLease) {
						t.Errorf("call at t0+%v: %+v; want visitor %d's lease", tt.at.Sub(t0), a, tt.visitor)
					}
				}
				// Given back to a pool, the number starts free: no lease of
				// it is restored from the history.
				if err := tr.RemoveStatic(ctx, 1, nums[0], moved.Add(3*time.Minute)); err != nil {
					t.Fatal(err)
				}
				if _, err := tr.AddPool(ctx, 1, PoolInput{Name: "back", Numbers: []string{nums[0]}, RuleInput: RuleInput{Rule: "utm_source=vk"}}, moved.Add(3*time.Minute)); err != nil {
					t.Fatal(err)
				}
				if n, _ := shown(assign(t, tr, 3, numbers.Visit{UTMSource: "vk", Channel: "social"}, false, moved.Add(4*time.Minute))); n != nums[0] {
					t.Fatalf("given back to a pool, %s was not free: visitor 3 got %q", nums[0], n)
				}
			})
		}
	}
}

func TestRecordCall(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	assign(t, tr, 1, cpc, false, t0)
	c, a, err := tr.RecordCall(ctx, CallInput{Called: "8 495 000-00-01", Caller: "+7 916 123-45-67",
		StartedAt: t0.Add(time.Minute), Duration: 65 * time.Second, Answered: true}, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if c.Called != nums[0] || c.Caller != "79161234567" || !c.Attributed || c.Visitor != 1 || a.Source.Landing != cpc.Landing {
		t.Fatalf("call %+v attribution %+v", c, a)
	}
	if _, _, err := tr.RecordCall(ctx, CallInput{Called: "79990000000"}, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	var got []store.Call
	tr.ListCalls(ctx, 1, time.Time{}, 0, func(c store.Call) bool { got = append(got, c); return true })
	if len(got) != 1 || got[0].ID != c.ID {
		t.Fatalf("site 1 calls %+v", got)
	}
	got = nil
	tr.ListCalls(ctx, 0, time.Time{}, 0, func(c store.Call) bool { got = append(got, c); return true })
	if len(got) != 1 || got[0].Attributed || got[0].Kind != string(KindUnknown) {
		t.Fatalf("unknown-number calls %+v", got)
	}
	days, err := tr.CallDays(1, t0, t0)
	if err != nil || len(days) != 1 || days[0].Calls != 1 || days[0].Attributed != 1 || days[0].Answered != 1 {
		t.Fatalf("days %+v %v", days, err)
	}
	for _, bad := range []CallInput{
		{},
		{Called: "abc"},
		{Called: nums[0], StartedAt: t0.Add(time.Hour)},
		{Called: nums[0], Duration: -time.Second},
		{Called: nums[0], Duration: 1500 * time.Millisecond},
		{Called: nums[0], RecordingURL: "ftp://x/y"},
		{Called: nums[0], RecordingURL: "https://x/a b"},
	} {
		if _, _, err := tr.RecordCall(ctx, bad, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: err = %v, want ErrInvalid", bad, err)
		}
	}
}

// A PBX that retries a call report (same called, caller and started_at)
// gets the first call back; nothing is stored or counted twice. Without an
// explicit started_at there is nothing to tell a retry by.
func TestRecordCallRetryIsNotStoredTwice(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	assign(t, tr, 1, cpc, false, t0)
	in := CallInput{Called: nums[0], Caller: "79161234567", StartedAt: t0.Add(time.Minute), Duration: 65 * time.Second, Answered: true}
	first, a1, err := tr.RecordCall(ctx, in, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Later the lease has ended and the number is someone else's: the retry
	// still answers with the first report's attribution.
	again, a2, err := tr.RecordCall(ctx, in, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || a2.Visitor != a1.Visitor || a2.Attributed != a1.Attributed || a2.Source != a1.Source {
		t.Fatalf("retry: call %+v %+v, want the first %+v %+v", again, a2, first, a1)
	}
	other := in
	other.Caller = "79161234568"
	if c, _, err := tr.RecordCall(ctx, other, t0.Add(2*time.Minute)); err != nil || c.ID == first.ID {
		t.Fatalf("another caller's call: %+v %v", c, err)
	}
	noStart := CallInput{Called: nums[0], Caller: "79161234567"}
	c1, _, _ := tr.RecordCall(ctx, noStart, t0.Add(4*time.Minute))
	c2, _, _ := tr.RecordCall(ctx, noStart, t0.Add(4*time.Minute))
	if c1.ID == c2.ID {
		t.Fatal("calls without started_at were merged")
	}
	var got []store.Call
	tr.ListCalls(ctx, 1, time.Time{}, 0, func(c store.Call) bool { got = append(got, c); return true })
	if len(got) != 4 {
		t.Fatalf("%d calls stored, want 4", len(got))
	}
	days, err := tr.CallDays(1, t0, t0)
	if err != nil || len(days) != 1 || days[0].Calls != 4 {
		t.Fatalf("days %+v %v", days, err)
	}
}

// A PBX that gives its own id of a call (pbx_call_id) has its reports of
// it stored once, whatever started_at each gave or left out: a retry of a
// report without started_at, a report as the call rings and another, with
// its start, as it ends. Ids are told apart per called number.
func TestRecordCallByPBXCallID(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	assign(t, tr, 1, cpc, false, t0)
	ring := CallInput{Called: nums[0], Caller: "79161234567", PBXCallID: "1764158400.42"}
	first, a, err := tr.RecordCall(ctx, ring, t0.Add(time.Minute))
	if err != nil || a.Visitor != 1 {
		t.Fatalf("ring: %+v %+v %v", first, a, err)
	}
	if again, _, err := tr.RecordCall(ctx, ring, t0.Add(time.Minute+10*time.Second)); err != nil || again.ID != first.ID {
		t.Fatalf("the ring's retry: call %d, %v; want %d", again.ID, err, first.ID)
	}
	end := ring
	end.StartedAt, end.Duration, end.Answered = t0.Add(50*time.Second), 65*time.Second, true
	last, a, err := tr.RecordCall(ctx, end, t0.Add(3*time.Minute))
	if err != nil || last.ID != first.ID || last.Duration != 65 || !last.Answered || a.Visitor != 1 {
		t.Fatalf("end: call %+v %+v %v; want call %d updated", last, a, err, first.ID)
	}
	other := ring
	other.PBXCallID = "1764158400.43"
	if c, _, err := tr.RecordCall(ctx, other, t0.Add(4*time.Minute)); err != nil || c.ID == first.ID {
		t.Fatalf("another id: call %+v %v", c, err)
	}
	elsewhere := ring
	elsewhere.Called = yandex
	if c, _, err := tr.RecordCall(ctx, elsewhere, t0.Add(4*time.Minute)); err != nil || c.ID == first.ID {
		t.Fatalf("the id on a call to another number: call %+v %v", c, err)
	}
	var got []store.Call
	tr.ListCalls(ctx, 1, time.Time{}, 0, func(c store.Call) bool { got = append(got, c); return true })
	if len(got) != 3 {
		t.Fatalf("%d calls stored, want 3", len(got))
	}
	if days, err := tr.CallDays(1, t0, t0); err != nil || days[0].Calls != 3 || days[0].Answered != 1 {
		t.Fatalf("days %+v %v", days, err)
	}
	for _, id := range []string{strings.Repeat("x", MaxPBXCallID+1), "a\nb", "\xff"} {
		if _, _, err := tr.RecordCall(ctx, CallInput{Called: nums[0], PBXCallID: id}, t0.Add(5*time.Minute)); !errors.Is(err, ErrInvalid) {
			t.Errorf("pbx_call_id %q: %v, want ErrInvalid", id, err)
		}
	}
}

// A call is kept whatever the telephony side writes for its caller: a
// hidden caller ("anonymous"), an internal extension, a SIP address. A
// caller that is no phone number is kept as typed, matches no visitor and
// leaves the call to its lease; the called number may be a SIP URI or have
// an extension. A retry of such a call is still told by its caller.
func TestRecordCallOfAnyCaller(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	assign(t, tr, 1, cpc, false, t0)
	for i, tt := range []struct{ called, caller, digits, typed string }{
		{nums[0], "anonymous", "", "anonymous"},
		{nums[0], "  Unavailable ", "", "Unavailable"},
		{nums[0], "101", "", "101"},
		{nums[0], "8 916 123-45-67 доб. 5", "79161234567", ""},
		{"sip:" + nums[0] + "@pbx.example;user=phone", `"Ivan" <sip:+79161234567@pbx.example>`, "79161234567", ""},
		{"8 495 000-00-01 ext. 12", "79161234567@sip.example", "79161234567", ""},
		{"tel:+" + nums[0], "a\x00b\xff", "", "a b\uFFFD"},
	} {
		in := CallInput{Called: tt.called, Caller: tt.caller, StartedAt: t0.Add(time.Duration(i+1) * time.Second)}
		c, a, err := tr.RecordCall(ctx, in, t0.Add(time.Minute))
		if err != nil {
			t.Fatalf("%q from %q: %v", tt.called, tt.caller, err)
		}
		if c.Called != nums[0] || c.Caller != tt.digits || c.CallerTyped != tt.typed || !c.Attributed || a.Visitor != 1 || c.Match != store.MatchLease {
			t.Errorf("%q from %q: call %+v, attribution %+v", tt.called, tt.caller, c, a)
		}
		if again, _, err := tr.RecordCall(ctx, in, t0.Add(2*time.Minute)); err != nil || again.ID != c.ID {
			t.Errorf("%q from %q reported again: call %d, %v; want %d", tt.called, tt.caller, again.ID, err, c.ID)
		}
	}
	if _, _, err := tr.RecordCall(ctx, CallInput{Called: nums[0], Caller: "unknown", StartedAt: t0.Add(time.Minute)}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var got []store.Call
	tr.ListCalls(ctx, 1, time.Time{}, 0, func(c store.Call) bool { got = append(got, c); return true })
	if len(got) != 8 || got[0].CallerTyped != "unknown" {
		t.Fatalf("%d calls stored, want 8, the latest from \"unknown\": %+v", len(got), got)
	}
	if days, err := tr.CallDays(1, t0, t0); err != nil || days[0].Calls != 8 || days[0].Attributed != 8 {
		t.Fatalf("days %+v %v", days, err)
	}
}

func TestHeartbeat(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	sess := store.Session{ID: 10, Visitor: 1, UTMSource: "google", UTMMedium: "cpc", Channel: "ad"}
	if err := db.Set(ctx, store.SessionKey(1, 10), sess.Encode()); err != nil {
		t.Fatal(err)
	}
	for i := range 4 { // a page kept open for an hour, renewing every 15 minutes
		a, err := tr.Heartbeat(ctx, 1, 1, 10, 0, t0.Add(time.Duration(i)*15*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if n, typ := shown(a); n != nums[0] || typ != Dynamic {
			t.Fatalf("heartbeat %d: %s %s", i, n, typ)
		}
	}
	if a, err := tr.Attribute(ctx, nums[0], t0.Add(64*time.Minute)); err != nil || a.Visitor != 1 {
		t.Fatalf("after heartbeats: %+v %v", a, err)
	}
	if _, err := tr.Heartbeat(ctx, 1, 2, 10, 0, t0); !errors.Is(err, ErrNoSession) {
		t.Fatalf("another visitor's session: %v", err)
	}
}

// Tracking numbers are parsed by numbers.ParsePhone, without extensions.
func TestParsePhone(t *testing.T) {
	for _, tt := range []struct{ in, digits, nsn, trunk string }{
		{"8 (487) 275-14-04", "74872751404", "4872751404", "8"},
		{"+7 487 275 14 04", "74872751404", "4872751404", "8"},
		{"74872751404", "74872751404", "4872751404", "8"},
		{"4872751404", "74872751404", "4872751404", "8"},
		{"+44 20 7946 0958", "442079460958", "2079460958", "0"},
	} {
		p, err := parsePhone(tt.in, numbers.DefaultRegion)
		if err != nil || p.Digits != tt.digits || p.NSN != tt.nsn || p.Trunk != tt.trunk {
			t.Errorf("parsePhone(%q) = %+v, %v", tt.in, p, err)
		}
	}
	for _, bad := range []string{"", "  ", "12345", "abc", "+7 495 000 00 01 ext. 5", strings.Repeat("9", 65), "\xff"} {
		if _, err := parsePhone(bad, numbers.DefaultRegion); !errors.Is(err, ErrInvalid) {
			t.Errorf("parsePhone(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// A call's numbers as a PBX reports them, with 00 or 8 10 before the
// country code, are the number after it: the caller matches the visitor
// who gave the number, where "0044..." was the RU number +7 0044... and
// "0079..." no number at all.
func TestCallNumberIntlPrefix(t *testing.T) {
	for _, tt := range []struct{ region, in, digits string }{
		{"RU", "00442079460958", "442079460958"},
		{"RU", "sip:0079161234567@pbx.example;user=phone", "79161234567"},
		{"RU", "810442079460958", "442079460958"},
		{"GB", "8 10 7 916 123 45 67", "79161234567"},
		{"RU", "89161234567", "79161234567"},
		{"RU", "+7 (495) 182-51-68", "74951825168"},
		// A SIP From/To header's value, its parameters after the address:
		// the caller was kept as typed and matched no visitor, a called
		// number so written refused and the call lost.
		{"RU", `"Ivan" <sip:+79161234567@pbx.example>;tag=a6c85cf`, "79161234567"},
		{"RU", "<sip:84950000001@pbx.example;user=phone>;tag=1928301774", "74950000001"},
		{"RU", "<tel:+74950000001>", "74950000001"},
	} {
		if d, _, err := callNumber(tt.in, tt.region); err != nil || d != tt.digits {
			t.Errorf("callNumber(%q, %s) = %q, %v; want %s", tt.in, tt.region, d, err, tt.digits)
		}
	}
}

// A called number with an extension, as people write one, as a dial
// string has it after a pause, or as a tel URI's parameter, is the number
// and the extension apart; those in brackets, after a pause and in a tel
// URI were refused (the call lost) or the extension dropped.
func TestCallNumberExtension(t *testing.T) {
	for _, tt := range []struct{ in, ext string }{
		{"74950000001", ""},
		{"8 495 000 00 01 (доб. 12)", "12"},
		{"8 (495) 000-00-01 (ДОБ.12)", "12"},
		{"8 495 000 00 01 доб. 12", "12"},
		{"8 495 000 00 01 вн. 12", "12"},
		{"+7 495 000-00-01 ext. 12", "12"},
		{"+7 495 000-00-01 (ext 12)", "12"},
		{"+7 495 000-00-01 x12", "12"},
		{"74950000001x12", "12"},
		{"+74950000001#12", "12"},
		{"74950000001p12", "12"},
		{"74950000001P12", "12"},
		{"74950000001w12", "12"},
		{"74950000001,12", "12"},
		{"74950000001,,12", "12"},
		{"74950000001;12", "12"},
		{"74950000001;ext=12", "12"},
		{"tel:+74950000001;ext=12", "12"},
		{"<tel:+7-495-000-00-01;ext=12;phone-context=example.com>", "12"},
		{"sip:74950000001;ext=12@pbx.example;user=phone", "12"},
		{"sip:74950000001,12@pbx.example", "12"},
		{"tel:+74950000001;ext=" + strings.Repeat("1", 17), ""}, // too long to be one: the call is kept without it
	} {
		d, ext, err := callNumber(tt.in, numbers.DefaultRegion)
		if err != nil || d != "74950000001" || ext != tt.ext {
			t.Errorf("callNumber(%q) = %q ext %q, %v; want 74950000001 ext %q", tt.in, d, ext, err, tt.ext)
		}
	}
	for _, bad := range []string{"p12", "доб. 12", "12", "x", "anonymous"} {
		if d, ext, err := callNumber(bad, numbers.DefaultRegion); !errors.Is(err, ErrInvalid) {
			t.Errorf("callNumber(%q) = %q ext %q, %v; want ErrInvalid", bad, d, ext, err)
		}
	}
}

// A static number's rule names the channel of its calls: its channel= term,
// else the channel the traffic-source table gives the tags it pins.
func TestRuleSourceChannel(t *testing.T) {
	tr := &Tracker{channel: visits.SourceChannel}
	for _, tt := range []struct{ rule, channel string }{
		{"utm_source=yandex&utm_medium=cpc", "ad"},
		{"utm_medium=Paid_Search", "ad"},
		{"click=gclid", "ad"},
		{"utm_source=vk", "social"},
		{"referrer=google.com", "organic"},
		{"referrer=partner.example", "referral"},
		{"utm_campaign=spring", "referral"},
		{"channel=social&utm_source=yandex", "social"},
		{"utm_source=yandex|google&utm_medium=cpc", "ad"},
		{"utm_source=yandex|google", ""},
		{"landing=/promo", ""},
		{"", ""},
	} {
		r, err := numbers.ParseRule(tt.rule)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.ruleSource(r.Value).Channel; got != tt.channel {
			t.Errorf("rule %q: channel %q, want %q", tt.rule, got, tt.channel)
		}
	}
}

// A pool that has just filled up, with a visitor turned away, is too small:
// its live leases are held for at least the reserve, not for the minute
// they have lived so far (which suggested 2 numbers for a full pool of 3).
func TestReportLiveLeasesHoldTheReserve(t *testing.T) {
	tr := open(t, storetest.Open(t), t0)
	setUp(t, tr, 3)
	for v := uint64(1); v <= 3; v++ {
		if _, typ := shown(assign(t, tr, v, cpc, false, t0.Add(time.Duration(v)*time.Second))); typ != Dynamic {
			t.Fatalf("visitor %d got no pool number", v)
		}
	}
	if n, _ := shown(assign(t, tr, 4, cpc, false, t0.Add(5*time.Second))); n != fallback {
		t.Fatalf("fourth visitor got %s, want the fallback", n)
	}
	reps, err := tr.Report(ctx, 1, t0, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	if r.Live != 3 || r.Misses != 1 || r.Days[0].BusyHour != 4 {
		t.Fatalf("report %+v", r)
	}
	if r.MeanHold < numbers.DefaultReserve {
		t.Errorf("mean hold %v of live leases, want at least the reserve %v", r.MeanHold, numbers.DefaultReserve)
	}
	// 4 visitors an hour holding 20 minutes: 4/3 erlang, 5 numbers for 1%.
	if got, want := r.Suggested.Size, numbers.PoolSize(4.0/3, numbers.TargetBlocking); got != want || got <= 3 {
		t.Errorf("suggested size %d (hold %v), want %d: more than the 3 that turned a visitor away", got, r.MeanHold, want)
	}
}

// A site's pool and call counters are kept by its own days and hours: a
// claim and a call at 22:30 UTC in Moscow (UTC+3) fall on the next day
// there, so the numbers page's "today" is the owner's today; two claims at
// 20:10 and 20:40 UTC are one hour's demand in UTC and two hours' in India
// (UTC+5:30, 01:40 and 02:10).
func TestCountersKeptInTheSiteZone(t *testing.T) {
	msk, ist := time.FixedZone("MSK", 3*3600), time.FixedZone("IST", 5*3600+1800)
	for _, tt := range []struct {
		zone     *time.Location
		at       [2]time.Time // two claims; a call after the first
		day      string       // the middle of the three days reported
		claims   int64
		busyHour int64 // claims in that day's busiest hour
	}{
		{nil, [2]time.Time{time.Date(2026, 11, 26, 22, 30, 0, 0, time.UTC)}, "2026-11-26", 1, 1},
		{msk, [2]time.Time{time.Date(2026, 11, 26, 22, 30, 0, 0, time.UTC)}, "2026-11-27", 1, 1},
		{nil, [2]time.Time{time.Date(2026, 11, 26, 20, 10, 0, 0, time.UTC), time.Date(2026, 11, 26, 20, 40, 0, 0, time.UTC)}, "2026-11-26", 2, 2},
		{ist, [2]time.Time{time.Date(2026, 11, 26, 20, 10, 0, 0, time.UTC), time.Date(2026, 11, 26, 20, 40, 0, 0, time.UTC)}, "2026-11-27", 2, 1},
	} {
		first := tt.at[0]
		tr := open(t, storetest.Open(t), first)
		if tt.zone != nil {
			tr.ZoneWith(func(site uint32) *time.Location {
				if site != 1 {
					t.Errorf("zone asked for site %d", site)
				}
				return tt.zone
			})
		}
		setUp(t, tr, 2)
		for v, at := range tt.at {
			if at.IsZero() {
				continue
			}
			if _, typ := shown(assign(t, tr, uint64(v+1), cpc, false, at)); typ != Dynamic {
				t.Fatal("no pool number")
			}
		}
		if _, _, err := tr.RecordCall(ctx, CallInput{Called: "8 495 000-00-01", Caller: "+7 916 123-45-67",
			StartedAt: first.Add(time.Minute), Answered: true}, first.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		reps, err := tr.Report(ctx, 1, first.AddDate(0, 0, -1), first.AddDate(0, 0, 1), first.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		days := reps[0].Days
		if len(days) != 3 || days[1].Day.Format(time.DateOnly) != tt.day {
			t.Fatalf("zone %v: days %+v, want three around %s", tt.zone, days, tt.day)
		}
		for i, d := range days {
			want := int64(0)
			if i == 1 {
				want = tt.claims
			}
			if d.Claims != want {
				t.Errorf("zone %v: day %s claims %d, want %d", tt.zone, d.Day.Format(time.DateOnly), d.Claims, want)
			}
		}
		if days[1].BusyHour != tt.busyHour {
			t.Errorf("zone %v: busiest hour's demand %d, want %d", tt.zone, days[1].BusyHour, tt.busyHour)
		}
		calls, err := tr.CallDays(1, first, first)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 1 || calls[0].Day.Format(time.DateOnly) != tt.day || calls[0].Calls != 1 || calls[0].Answered != 1 {
			t.Errorf("zone %v: call days %+v, want one call on %s", tt.zone, calls, tt.day)
		}
	}
}

// A visitor keeps a leased number across sessions while the lease lives:
// a page view no rule covers (direct) shows it and renews it; a visitor
// without a lease, or whose lease lapsed, is shown nothing, and a bot
// renews nothing.
func TestLeaseKeptWhenNoRuleCovers(t *testing.T) {
	tr := open(t, storetest.Open(t), t0)
	setUp(t, tr, 2)
	n, _ := shown(assign(t, tr, 1, cpc, false, t0))
	if n == "" {
		t.Fatal("no lease")
	}
	at := t0.Add(15 * time.Minute)
	if got, _ := shown(assign(t, tr, 1, direct, true, at)); got != "" {
		t.Fatalf("a page view taken for a bot's was shown %s", got)
	}
	a := assign(t, tr, 1, direct, false, at)
	if got, typ := shown(a); got != n || typ != Dynamic || a.Renew == 0 || !a.Replacements[0].Until.Equal(at.Add(numbers.DefaultReserve)) {
		t.Fatalf("direct page view of the holder: %+v, want %s renewed to %v", a, n, at.Add(numbers.DefaultReserve))
	}
	if got, _ := shown(assign(t, tr, 3, direct, false, at)); got != "" {
		t.Fatalf("a direct visitor without a lease was shown %s", got)
	}
	if got, _ := shown(assign(t, tr, 1, direct, false, at.Add(numbers.DefaultReserve))); got != "" {
		t.Fatalf("a lapsed lease was shown: %s", got)
	}
}

// The mean hold of a site's report counts the leases of its own days: a
// lease claimed this evening in New York (after midnight UTC) and held 35
// minutes is today's, and the mean hold says so, not the reserve it
// answered when it found no lease.
func TestMeanHoldOfTheSiteDays(t *testing.T) {
	ny := time.FixedZone("EST", -5*3600)
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC) // 21:00 on the 26th in New York
	tr := open(t, storetest.Open(t), at)
	tr.ZoneWith(func(uint32) *time.Location { return ny })
	setUp(t, tr, 2)
	assign(t, tr, 1, cpc, false, at)
	assign(t, tr, 1, cpc, false, at.Add(15*time.Minute)) // renewed to 21:35
	now := at.Add(2 * time.Hour)                         // 23:00 in New York
	reps, err := tr.Report(ctx, 1, now.AddDate(0, 0, -6), now, now)
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	if last := r.Days[len(r.Days)-1]; last.Day.Format(time.DateOnly) != "2026-11-26" || last.Claims != 1 {
		t.Fatalf("today %+v, want the 26th with the claim", last)
	}
	if r.MeanHold != 35*time.Minute {
		t.Fatalf("mean hold %v, want the 35 min the lease was held", r.MeanHold)
	}
}

// callNumber reads whatever a telephony side sends as a call's number: it
// never panics, and a number it reads is E.164 digits, the same as the
// user part of the address it was written in.
func FuzzCallNumber(f *testing.F) {
	for _, s := range []string{"74950000001", "+7 (495) 000-00-01 доб. 12", "sip:74950000001@pbx.example;user=phone",
		`"Ivan" <sip:+79161234567@pbx.example>;tag=a6c85cf`, "<tel:+74950000001>", "<>", "><", "<<sip:1@x>>", "anonymous", "sip:", "\xff<",
		"8 495 000 00 01 (доб. 12)", "74950000001p12", "74950000001,,12", "74950000001w1p2", "tel:+74950000001;ext=12", "sip:74950000001;ext=12@pbx",
		"<tel:+74950000001;ext=;ext=1?x=1>", "74950000001 (x 12", "8 495 000 00 01 #12#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ext, err := callNumber(s, numbers.DefaultRegion)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("callNumber(%q): %v, want ErrInvalid", s, err)
			}
			return
		}
		if d == "" || strings.Trim(d, "0123456789") != "" {
			t.Fatalf("callNumber(%q) = %q, not E.164 digits", s, d)
		}
		if len(ext) > MaxCalledExt || strings.Trim(ext, "0123456789") != "" {
			t.Fatalf("callNumber(%q) extension %q, not at most %d digits", s, ext, MaxCalledExt)
		}
		// The number of the user part is the same (its extension may be
		// in the URI's parameters), and an extension read is one the text
		// has: none is made up.
		if again, _, err := callNumber(uriUser(s), numbers.DefaultRegion); err != nil || again != d {
			t.Fatalf("callNumber(%q) = %s, of its user part %q: %q, %v", s, d, uriUser(s), again, err)
		}
		if ext != "" && !strings.Contains(numbers.Digits(s), ext) {
			t.Fatalf("callNumber(%q) extension %q, which is not in it", s, ext)
		}
	})
}

// A page's heartbeat renews its leases but is no page view: a pool that
// is full when it comes (the visitor was shown its fallback) is not
// counted as missed again. A page of a site with two pools, one full,
// counted a miss every few minutes it stayed open, and the Numbers page
// told the owner of page views that never were.
func TestHeartbeatCountsNoMiss(t *testing.T) {
	db := storetest.Open(t)
	tr := open(t, db, t0)
	const second = "74872751405"
	if _, err := tr.SetSiteNumbers(ctx, 1, []string{siteNum, second}, t0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []PoolInput{
		{Name: "a", Numbers: []string{"74950000001", "74950000002"}, RuleInput: RuleInput{Rule: "utm_medium=cpc", Replaces: []string{siteNum}}},
		{Name: "b", Numbers: []string{"74950000003"}, Fallback: fallback, RuleInput: RuleInput{Rule: "utm_medium=cpc", Replaces: []string{second}}},
	} {
		if _, err := tr.AddPool(ctx, 1, p, t0); err != nil {
			t.Fatal(err)
		}
	}
	assign(t, tr, 1, cpc, false, t0) // takes b's one number
	a := assign(t, tr, 2, cpc, false, t0)
	if len(a.Replacements) != 2 || a.Replacements[1].Number.Digits != fallback || a.Renew == 0 {
		t.Fatalf("visitor 2's page: %+v, want a's number and b's fallback", a.Replacements)
	}
	sess := store.Session{ID: 20, Visitor: 2, UTMSource: "google", UTMMedium: "cpc", Channel: "ad"}
	if err := db.Set(ctx, store.SessionKey(1, 20), sess.Encode()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := tr.Heartbeat(ctx, 1, 2, 20, 0, t0.Add(time.Duration(i+1)*5*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	reps, err := tr.Report(ctx, 1, t0, t0, t0.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		if want := map[string]int64{"a": 0, "b": 1}[r.Name]; r.Misses != want {
			t.Errorf("pool %s: %d misses, want %d (the one page view)", r.Name, r.Misses, want)
		}
	}
}

// A renew written before its claim is known durable carries a copy of the
// claim, from the renewing page view's session; the claim's own record
// wins over it whichever write reaches the store first. A renew from
// another session (the visitor back by a bookmark, no rule covering the
// visit) written after the claim rewrote the claim's session and source,
// and the call went to the bookmark's direct visit. The interleaving is
// driven here: both assignments are made before either is written.
func TestRenewKeepsTheClaimsSource(t *testing.T) {
	for _, claimFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("claim written first %v", claimFirst), func(t *testing.T) {
			dir := t.TempDir()
			db := storetest.OpenAt(t, dir)
			tr := open(t, db, t0)
			nums := setUp(t, tr, 1)
			claim, err := tr.Assign(1, 1, 10, cpc, false, t0)
			if err != nil {
				t.Fatal(err)
			}
			renew, err := tr.Assign(1, 1, 20, direct, false, t0.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if n, typ := shown(renew); n != nums[0] || typ != Dynamic || renew.leases[0].lease.Fresh || renew.leases[0].lease.Recorded {
				t.Fatalf("the bookmark's page view: %s %s %+v, want a renew of the unrecorded claim of %s", n, typ, renew.leases, nums[0])
			}
			order := []*Assignment{&claim, &renew}
			if !claimFirst {
				order[0], order[1] = order[1], order[0]
			}
			for _, a := range order {
				if err := db.Update(ctx, a.Persist); err != nil {
					t.Fatal(err)
				}
			}
			check := func(tr *Tracker, when string) {
				t.Helper()
				a, err := tr.Attribute(ctx, nums[0], t0.Add(2*time.Second))
				if err != nil || a.Visitor != 1 || a.Session != 10 || a.Source.UTMMedium != "cpc" || a.Source.Channel != "ad" {
					t.Fatalf("%s: call attributed to %+v, %v; want the claim's session 10 from cpc", when, a, err)
				}
			}
			check(tr, "written")
			if err := db.Compact(ctx); err != nil {
				t.Fatal(err)
			}
			check(tr, "compacted")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = storetest.OpenAt(t, dir)
			check(open(t, db, t0.Add(time.Minute)), "reopened")
		})
	}
}
