package httpd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/chats"
	"appliance/httpd/i18n"
	"appliance/httpd/period"
	"appliance/httpd/reports"
)

func TestCSVSafeKeepsNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"-12.5": "-12.5", "-3": "-3", "0": "0", "=1+2": "'=1+2", "-2+3": "'-2+3", "-1e5": "'-1e5",
		"+7": "'+7", "@x": "'@x", "-": "'-", "--1": "'--1", "": "",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// csvCell keeps what a spreadsheet would mangle as text: ten digits or
// more (a phone number), a leading zero, a leading +.
func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"79123456789": `="79123456789"`, "+79123456789": `="+79123456789"`, "0079": `="0079"`,
		"123456789": "123456789", "0": "0", "12,5": "12,5", "-12,5": "-12,5", "+": "'+", "=1": "'=1",
		"7912345678x": "7912345678x", "": "", "+7 (912) 345-67-89": `="+7 (912) 345-67-89"`, "+7 = 1": "'+7 = 1",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReportCells(t *testing.T) {
	for _, tc := range []struct {
		c         reportCell
		text, raw string
	}{
		{countCell(1234567), "1\u00a0234\u00a0567", "1234567"},
		{countCell(0), "0", "0"},
		{moneyCell(123450), "1\u00a0234.50", "1234.50"},
		{moneyCell(-5), "-0.05", "-0.05"},
		{moneyCell(-150000), "-1\u00a0500.00", "-1500.00"},
		{floatCell(15.5), "15.5", "15.5"},
		{floatCell(3), "3", "3"},
		{percentCell(1, 3), "33.3%", "33.3"},
		{percentCell(1, 0), "–", ""},
		{percentCell(1, 16), "6.3%", "6.3"},
		{percentCell(-1, 16), "-6.3%", "-6.3"},
		{percentCell(1, -16), "-6.3%", "-6.3"},
		{percentCell(-1, 3000), "0.0%", "0.0"},
		{percentCell(15, 16), "93.8%", "93.8"},
		{percentCell(29, 1), "2\u00a0900.0%", "2900.0"},
		{percentCell(-16667, 133333), "-12.5%", "-12.5"},
	} {
		if tc.c.Text != tc.text || tc.c.Raw != tc.raw {
			t.Errorf("cell %q / %q, want %q / %q", tc.c.Text, tc.c.Raw, tc.text, tc.raw)
		}
	}
}

func TestNiceMax(t *testing.T) {
	for in, want := range map[int64]int64{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 99: 100, 101: 200, 450: 500, 501: 1000} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", in, got, want)
		}
	}
}

// A chart's day, week and month carry their year in either language, so
// that a range across the new year reads in order: Dec 29, 2025 before
// Fri Jan 2, 2026. An English day read "Mon Dec 29" beside Russian
// "29.12.2025" and English weeks with their year. The axis and an hour
// (a range of a day or two) leave the year out in both.
func TestBucketLabelYears(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	dec, jan := time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		lang        i18n.Lang
		iv          period.Interval
		t           time.Time
		label, axis string
	}{
		{i18n.En, period.Day, dec, "Mon Dec 29, 2025", "Dec 29"},
		{i18n.En, period.Day, jan, "Fri Jan 2, 2026", "Jan 2"},
		{i18n.Ru, period.Day, dec, "29.12.2025", "29.12"},
		{i18n.Ru, period.Day, jan, "02.01.2026", "02.01"},
		{i18n.En, period.Week, dec, "week of Dec 29, 2025", "Dec 29"},
		{i18n.Ru, period.Week, dec, "неделя с 29.12.2025", "29.12"},
		{i18n.En, period.Month, jan, "Jan 2026", "Jan 26"},
		{i18n.Ru, period.Month, jan, "01.2026", "01.26"},
		{i18n.En, period.Hour, jan, "Jan 2 15:00", "15:00"},
		{i18n.Ru, period.Hour, jan, "02.01 15:00", "15:00"},
	} {
		tr := cat.For(tt.lang)
		if got := bucketLabel(tr, tt.t, tt.iv); got != tt.label {
			t.Errorf("%s %v %s: label %q, want %q", tt.lang, tt.iv, tt.t.Format(time.DateTime), got, tt.label)
		}
		if got := shortLabel(tr, tt.t, tt.iv); got != tt.axis {
			t.Errorf("%s %v %s: axis %q, want %q", tt.lang, tt.iv, tt.t.Format(time.DateTime), got, tt.axis)
		}
	}
}

func TestLineChart(t *testing.T) {
	p, err := period.Parse("", "2026-11-01", "2026-11-30", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	buckets := p.Buckets(period.Day)
	vals := make([]int64, len(buckets))
	vals[3], vals[29] = 7, 2
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	c := newLineChart(cat.For(i18n.En), "traffic", "Traffic", buckets, period.Day, []chartSeries{{"sessions", "Sessions", func(n int64) string { return fmt.Sprintf("%d sessions", n) }, vals}})
	if len(c.Series) != 1 || len(c.Series[0].Dots) != 30 || c.Series[0].Total != 9 {
		t.Fatalf("series %+v", c.Series)
	}
	// The y axis reads 0, 5, 10; the peak of 7 is 70% up the plot.
	if got := fmt.Sprint(c.YTicks); got != "[{176 0 } {95 5 } {14 10 }]" {
		t.Errorf("y ticks %s", got)
	}
	if d := c.Series[0].Dots[3]; d.Y != round1(c.Bottom-0.7*(c.Bottom-c.Top)) || d.Title != "Wed Nov 4, 2026: 7 sessions" {
		t.Errorf("dot 3: %+v", d)
	}
	first, last := c.XTicks[0], c.XTicks[len(c.XTicks)-1]
	if first.Label != "Nov 1" || first.Anchor != "start" || last.Label != "Nov 30" || last.Anchor != "end" || len(c.XTicks) > 7 {
		t.Errorf("x ticks %+v", c.XTicks)
	}
	if c.Desc != "By day, Sun Nov 1, 2026 to Mon Nov 30, 2026, in total: 9 sessions." {
		t.Errorf("desc %q", c.Desc)
	}
	// A wider top label ("20 000") widens the room left of the plot.
	vals[3] = 12345
	if w := newLineChart(cat.For(i18n.En), "traffic", "Traffic", buckets, period.Day, []chartSeries{{"sessions", "Sessions", func(n int64) string { return fmt.Sprint(n) }, vals}}); w.Left != 68 || w.YLabelX != 62 || c.Left != 40 {
		t.Errorf("plot's left edge %v (labels end at %v), want 68 (62); for 10: %v, want 40", w.Left, w.YLabelX, c.Left)
	}
	if len(c.Rows) != 30 || c.Rows[3].Values[0] != 7 {
		t.Errorf("table rows %+v", c.Rows[:4])
	}
	if got := grouped(cat.For(i18n.Ru).N("%d session", 12345), 12345); got != "12\u00a0345 визитов" {
		t.Errorf("grouped: %q", got)
	}
}

// FuzzSourcesRequest: any query either reads as a known group and model
// with filters no longer than allowed, or is a 400; never a panic. The
// links built from it keep every filter it read.
func FuzzSourcesRequest(f *testing.F) {
	for _, q := range []string{"", "group=source&channel=ad", "group=term&channel=&source=google&medium=cpc&campaign=bf",
		"group=referrer&channel=ad", "model=first", "group=x", "model=%ff", "source=%00&group=medium"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		args := fasthttp.AcquireArgs()
		defer fasthttp.ReleaseArgs(args)
		args.Parse(query)
		g, m, filter, keep, err := sourcesRequest(args)
		if err != nil {
			if ue := asUserError(err); ue == nil || ue.Status() != 400 {
				t.Fatalf("%q: error %v is not a 400", query, err)
			}
			return
		}
		if _, ok := groupLabels[g]; !ok {
			t.Fatalf("%q: group %q", query, g)
		}
		if _, ok := modelLabels[m]; !ok {
			t.Fatalf("%q: model %q", query, m)
		}
		set := 0
		for _, p := range []*string{filter.Channel, filter.Source, filter.Medium, filter.Campaign} {
			if p != nil {
				set++
				if len(*p) > reports.MaxParam {
					t.Fatalf("%q: filter of %d bytes", query, len(*p))
				}
			}
		}
		kept := 0
		for _, k := range keep {
			if k.Set && k.Name != "group" && k.Name != "model" {
				kept++
			}
		}
		if kept != set {
			t.Fatalf("%q: %d filters, %d kept in links", query, set, kept)
		}
	})
}

func TestDurationText(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		d      time.Duration
		en, ru string
	}{
		{45 * time.Second, "45 s", "45\u00a0с"},
		{150*time.Second + 400*time.Millisecond, "2 min 30 s", "2\u00a0мин 30\u00a0с"},
		{20 * time.Minute, "20 min", "20\u00a0мин"},
		{65 * time.Minute, "1 h 5 min", "1\u00a0ч 5\u00a0мин"},
	} {
		if got := durationText(cat.For(i18n.En), tt.d); got != tt.en {
			t.Errorf("%v in English: %q, want %q", tt.d, got, tt.en)
		}
		if got := durationText(cat.For(i18n.Ru), tt.d); got != tt.ru {
			t.Errorf("%v in Russian: %q, want %q", tt.d, got, tt.ru)
		}
	}
}

// Every column of every CSV download has a Russian header.
func TestCSVColumnsTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ru, en := cat.For(i18n.Ru), cat.For(i18n.En)
	for _, h := range [][]string{leadsCSVHeader(), callbacksCSVHeader(), callsCSVHeader(), chats.CSVHeader()} {
		for _, key := range h {
			if got := csvColumn(ru, key); got == key && !strings.HasPrefix(key, "utm_") {
				t.Errorf("column %s has no Russian header", key)
			}
			if got := csvColumn(en, key); got != key {
				t.Errorf("column %s is headed %q in English", key, got)
			}
		}
	}
}
