package tracking

import (
	"fmt"
	"testing"
	"time"

	"appliance/numbers"
	"appliance/store"
	"appliance/store/storetest"
)

// Start-up reads a pool's numbers through the forms their config keeps
// instead of parsing them again; a config without forms (stored before
// they were kept) is parsed as before, and gets its forms with the next
// change.
func TestOpenReadsStoredForms(t *testing.T) {
	dir := t.TempDir()
	db := storetest.OpenAt(t, dir)
	tr := open(t, db, t0)
	nums := setUp(t, tr, 1)
	c := tr.Config(1)
	if got := c.Pools[0].Forms; len(got) != 1 || got[0] != (store.NumberForm{CC: 1, Trunk: "8", Text: "+7 495 000-00-01"}) {
		t.Fatalf("stored forms %+v, want the parsed number's", got)
	}
	text := func(tr *Tracker) string {
		t.Helper()
		for _, r := range assign(t, tr, 1, cpc, false, t0).Replacements {
			if r.Number.Digits == nums[0] {
				return r.Number.Text
			}
		}
		t.Fatal("no pool number shown")
		return ""
	}
	// A form only the stored config can have: start-up did not parse.
	c.Pools[0].Forms[0].Text = "+7 (495) 000-00-01 stored"
	if err := db.Set(ctx, store.NumbersKey(1), c.Encode()); err != nil {
		t.Fatal(err)
	}
	if got := text(open(t, db, t0)); got != "+7 (495) 000-00-01 stored" {
		t.Errorf("after start-up the number reads %q, want the stored form", got)
	}
	// A form whose digits are another number's (a config whose numbers
	// changed under its forms) is not believed: start-up parses.
	c.Pools[0].Forms[0].Text = "+7 495 000-00-09"
	if err := db.Set(ctx, store.NumbersKey(1), c.Encode()); err != nil {
		t.Fatal(err)
	}
	if got := text(open(t, db, t0)); got != "+7 495 000-00-01" {
		t.Errorf("with another number's form the number reads %q, want it parsed", got)
	}
	// Without forms, start-up parses.
	c.Pools[0].Forms = nil
	if err := db.Set(ctx, store.NumbersKey(1), c.Encode()); err != nil {
		t.Fatal(err)
	}
	tr = open(t, db, t0)
	if got := text(tr); got != "+7 495 000-00-01" {
		t.Errorf("without stored forms the number reads %q, want it parsed", got)
	}
	if _, err := tr.SetSelectors(ctx, 1, []string{".tel"}, t0); err != nil {
		t.Fatal(err)
	}
	if got := tr.Config(1).Pools[0].Forms; len(got) != 1 || got[0].Text != "+7 495 000-00-01" {
		t.Errorf("after a change the config keeps forms %+v", got)
	}
}

// Start-up restores every live lease of pools large enough to be read in
// parts (one iterator per core): after a restart each visitor renews the
// number it held, and a newcomer finds the pools full.
func TestOpenRestoresEveryLease(t *testing.T) {
	const sites, size = 2, 2500
	db := storetest.Open(t)
	tr := open(t, db, t0)
	held := map[uint64]string{}
	pick := func(a Assignment) string {
		for _, r := range a.Replacements {
			if r.Type == Dynamic {
				return r.Number.Digits
			}
		}
		return ""
	}
	for s := range uint32(sites) {
		site := s + 1
		if _, err := tr.SetSiteNumbers(ctx, site, []string{fmt.Sprintf("+7 487 275-%02d-04", s)}, t0); err != nil {
			t.Fatal(err)
		}
		nums := make([]string, size)
		for i := range nums {
			nums[i] = fmt.Sprintf("7496%02d%05d", s, i)
		}
		if _, err := tr.AddPool(ctx, site, PoolInput{Name: "ads", Numbers: nums, Reserve: time.Hour}, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.Update(ctx, func(tx *store.Tx) error {
			for v := range uint64(size) {
				visitor := uint64(site)<<32 | v + 1
				a, err := tr.Assign(site, visitor, v+1, numbers.Visit{Channel: "direct"}, false, t0)
				if err != nil {
					return err
				}
				if held[visitor] = pick(a); held[visitor] == "" {
					return fmt.Errorf("visitor %d got no pool number", visitor)
				}
				if err := a.Persist(tx); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(time.Minute)
	tr = open(t, db, now)
	for visitor, n := range held {
		a, err := tr.Assign(uint32(visitor>>32), visitor, 1, numbers.Visit{Channel: "direct"}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := pick(a); got != n {
			t.Fatalf("after restart visitor %d got %q, want its number %s", visitor, got, n)
		}
	}
	for s := range uint32(sites) {
		a, err := tr.Assign(s+1, 1<<62, 1, numbers.Visit{Channel: "direct"}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := pick(a); got != "" {
			t.Errorf("site %d: a newcomer got %s from a pool every number of which is leased", s+1, got)
		}
	}
}
