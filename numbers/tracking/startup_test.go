package tracking

import (
	"testing"

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
