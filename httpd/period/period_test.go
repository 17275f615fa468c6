package period_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"appliance/httpd/period"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestParse(t *testing.T) {
	moscow := mustLoc(t, "Europe/Moscow")
	// 2026-12-15 22:30 UTC is already the 16th in Moscow (UTC+3).
	now := time.Date(2026, 12, 15, 22, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		preset, from, to string
		first, last      string // want
		prevFirst        string
		prevLast         string
		interval         period.Interval
	}{
		{"", "", "", "2026-11-17", "2026-12-16", "2026-10-18", "2026-11-16", period.Day},
		{"today", "", "", "2026-12-16", "2026-12-16", "2026-12-15", "2026-12-15", period.Hour},
		{"yesterday", "", "", "2026-12-15", "2026-12-15", "2026-12-14", "2026-12-14", period.Hour},
		{"7d", "", "", "2026-12-10", "2026-12-16", "2026-12-03", "2026-12-09", period.Day},
		{"30d", "", "", "2026-11-17", "2026-12-16", "2026-10-18", "2026-11-16", period.Day},
		{"90d", "", "", "2026-09-18", "2026-12-16", "2026-06-20", "2026-09-17", period.Day},
		{"this_month", "", "", "2026-12-01", "2026-12-16", "2026-11-01", "2026-11-16", period.Day},
		{"last_month", "", "", "2026-11-01", "2026-11-30", "2026-10-01", "2026-10-31", period.Day},
		{"this_year", "", "", "2026-01-01", "2026-12-16", "2025-01-01", "2025-12-16", period.Week},
		{"", "2026-02-01", "2026-02-28", "2026-02-01", "2026-02-28", "2026-01-04", "2026-01-31", period.Day},
		{"custom", "2026-03-01", "2026-03-02", "2026-03-01", "2026-03-02", "2026-02-27", "2026-02-28", period.Hour},
		{"custom", "2021-12-17", "2026-12-16", "2021-12-17", "2026-12-16", "2016-12-17", "2021-12-16", period.Month},
		{"", "2026-01-01", "2026-12-31", "2026-01-01", "2026-12-31", "2025-01-01", "2025-12-31", period.Week},
		{"", "2025-01-01", "2026-01-02", "2025-01-01", "2026-01-02", "2023-12-31", "2024-12-31", period.Month},
	} {
		t.Run(tc.preset+tc.from+"_"+tc.to, func(t *testing.T) {
			p, err := period.Parse(tc.preset, tc.from, tc.to, now, moscow)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.From() + ".." + p.To(); got != tc.first+".."+tc.last {
				t.Errorf("period %s, want %s..%s", got, tc.first, tc.last)
			}
			prev := p.Previous()
			if got := prev.From() + ".." + prev.To(); got != tc.prevFirst+".."+tc.prevLast {
				t.Errorf("previous %s, want %s..%s", got, tc.prevFirst, tc.prevLast)
			}
			if got := p.Interval(); got != tc.interval {
				t.Errorf("interval %s, want %s", got, tc.interval)
			}
			if p.Loc() != moscow || p.Start().Hour() != 0 {
				t.Errorf("start %v not midnight in Moscow", p.Start())
			}
		})
	}
}

// A month to date is compared with the same days of the month before,
// clipped to that month's end (March 31 meets February 28).
func TestPreviousClipsMonthEnd(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	p, err := period.Parse("this_month", "", "", now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Previous().From()+".."+p.Previous().To(), "2026-02-01..2026-02-28"; got != want {
		t.Errorf("previous %s, want %s", got, want)
	}
	// This year to Feb 29 of a leap year meets last year to Feb 28.
	now = time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)
	p, _ = period.Parse("this_year", "", "", now, time.UTC)
	if got, want := p.Previous().From()+".."+p.Previous().To(), "2027-01-01..2027-02-28"; got != want {
		t.Errorf("previous %s, want %s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	now := time.Date(2026, 12, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ preset, from, to, want string }{
		{"week", "", "", `unknown period "week"`},
		{"custom", "", "2026-01-01", "needs both"},
		{"", "2026-01-01", "", "needs both"},
		{"", "2026-13-01", "2026-12-01", `from date "2026-13-01" is not a date`},
		{"", "2026-01-01", "1/2/2026", `to date "1/2/2026" is not a date`},
		{"", "2026-02-01", "2026-01-31", "is after the to date"},
		{"", "2021-12-15", "2026-12-15", "longer than 5 years"},
		{"", "1999-12-31", "2000-01-01", "outside the years"},
	} {
		_, err := period.Parse(tc.preset, tc.from, tc.to, now, time.UTC)
		var pe *period.Error
		if !errors.As(err, &pe) || !errors.Is(err, period.ErrInvalid) || pe.Status() != 400 {
			t.Errorf("%q %q %q: error %v, want a period.Error", tc.preset, tc.from, tc.to, err)
			continue
		}
		if !strings.Contains(pe.UserMessage(), tc.want) {
			t.Errorf("%q %q %q: %q, want it to say %q", tc.preset, tc.from, tc.to, pe.UserMessage(), tc.want)
		}
	}
}

// Days are the zone's calendar days: a DST day has 23 or 25 hours, and
// its hour buckets say so.
func TestDSTDays(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, berlin)
	for _, tc := range []struct {
		day   string
		hours int
	}{{"2026-03-29", 23}, {"2026-10-25", 25}, {"2026-06-01", 24}} {
		p, err := period.Parse("", tc.day, tc.day, now, berlin)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(p.Buckets(period.Hour)); got != tc.hours {
			t.Errorf("%s: %d hour buckets, want %d", tc.day, got, tc.hours)
		}
		if got := p.End().Sub(p.Start()); got != time.Duration(tc.hours)*time.Hour {
			t.Errorf("%s: lasts %v", tc.day, got)
		}
		if p.Days() != 1 {
			t.Errorf("%s: %d days", tc.day, p.Days())
		}
	}
	// A 30-day range across the spring change still has 30 day buckets,
	// each starting at midnight.
	p, _ := period.Parse("", "2026-03-15", "2026-04-13", now, berlin)
	b := p.Buckets(period.Day)
	if len(b) != 30 {
		t.Fatalf("%d day buckets", len(b))
	}
	for _, d := range b {
		if d.Hour() != 0 {
			t.Errorf("bucket %v not at midnight", d)
		}
	}
}

func TestBuckets(t *testing.T) {
	now := time.Date(2026, 12, 16, 12, 0, 0, 0, time.UTC)
	// Wednesday 2026-12-02 .. Tuesday 2026-12-15: weeks start on the
	// Monday before the first day.
	p, _ := period.Parse("", "2026-12-02", "2026-12-15", now, time.UTC)
	var got []string
	for _, b := range p.Buckets(period.Week) {
		got = append(got, b.Format(period.DateLayout))
	}
	if want := "[2026-11-30 2026-12-07 2026-12-14]"; fmt.Sprint(got) != want {
		t.Errorf("weeks %v, want %s", got, want)
	}
	p, _ = period.Parse("", "2022-01-10", "2026-12-16", now, time.UTC)
	b := p.Buckets(period.Month)
	if len(b) != 60 || b[0].Format(period.DateLayout) != "2022-01-01" || b[59].Format(period.DateLayout) != "2026-12-01" {
		t.Errorf("months: %d, %v .. %v", len(b), b[0], b[len(b)-1])
	}
	if !p.Contains(time.Date(2026, 12, 16, 23, 59, 0, 0, time.UTC)) || p.Contains(time.Date(2026, 12, 17, 0, 0, 0, 0, time.UTC)) {
		t.Error("Contains: the last day is in, the day after is out")
	}
}

// FuzzParse: any parameters either resolve to a sane period or give a
// period.Error; never a panic, never an empty or over-long period.
func FuzzParse(f *testing.F) {
	for _, s := range [][3]string{
		{"", "", ""}, {"today", "", ""}, {"this_year", "", ""}, {"custom", "2026-01-01", "2026-01-31"},
		{"", "2021-01-01", "2025-12-31"}, {"", "2026-02-30", "2026-03-01"}, {"x", "\x00", "9999-99-99"},
		{"", "2100-12-31", "2100-12-31"},
	} {
		f.Add(s[0], s[1], s[2], int64(1_765_000_000))
	}
	moscow := mustLoc(f, "Europe/Moscow")
	f.Fuzz(func(t *testing.T, preset, from, to string, unix int64) {
		now := time.Unix(unix%(4_000_000_000), 0)
		p, err := period.Parse(preset, from, to, now, moscow)
		if err != nil {
			if !errors.Is(err, period.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if p.Last.Before(p.First) || p.Days() < 1 || p.Days() > 5*366+1 {
			t.Fatalf("period %s..%s (%d days)", p.From(), p.To(), p.Days())
		}
		if n := len(p.Buckets(p.Interval())); n < 1 || n > 93 {
			t.Fatalf("%d buckets for %d days", n, p.Days())
		}
		prev := p.Previous()
		if !prev.End().Equal(p.Start()) && p.Preset != period.ThisMonth && p.Preset != period.ThisYear {
			t.Fatalf("previous %s..%s does not end where %s..%s starts", prev.From(), prev.To(), p.From(), p.To())
		}
	})
}
