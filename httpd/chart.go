package httpd

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"appliance/httpd/i18n"
	"appliance/httpd/period"
)

// The reports' charts are drawn on the server as SVG, as GoatCounter draws
// its own: no script, no chart library. A chart is a view model the
// template "line-chart" prints; colours come from the stylesheet (a class
// per series, CSS variables that the dark theme changes), so the SVG needs
// no style attribute and works under a CSP without unsafe-inline.

// Chart geometry in SVG user units; the SVG scales to its box's width.
const (
	chartW, chartH = 480.0, 200.0
	chartLeft      = 40.0 // room for the y labels
	chartRight     = 8.0
	chartTop       = 14.0 // room for the top y label's upper half
	chartBottom    = 24.0 // room for the x labels
	// chartCharW is the room a character of an axis label takes at its
	// largest: reports.css writes the labels 17 units high on a phone
	// (the SVG is scaled down there, to about 0.7), 12 elsewhere.
	chartCharW = 10.0
)

// labelW is the room label takes on an axis at its largest.
func labelW(label string) float64 { return chartCharW * float64(utf8.RuneCountInString(label)) }

// chartSeries is one line of a chart: its values, one per bucket.
type chartSeries struct {
	Key   string // css class suffix and id part: sessions, visitors...
	Label string // shown in the legend and the table
	// Count writes a value with its noun in the plural form the number
	// takes (tr.N): "1 call", "21 звонок", "5 звонков".
	Count  func(n int64) string
	Values []int64
}

// grouped is a count written by tr.N (a plural's forms begin with the
// count) with the count grouped as the chart writes numbers (formatCount):
// grouped(tr.N("%d session", 12345), 12345) is "12 345 sessions".
func grouped(counted string, n int64) string {
	return strings.Replace(counted, strconv.FormatInt(n, 10), formatCount(n), 1)
}

// lineChart is what the "line-chart" template draws.
type lineChart struct {
	ID          string // element id prefix
	Title, Desc string
	W, H        float64
	Series      []chartLine
	YTicks      []chartTick
	XTicks      []chartTick
	Rows        []chartRow // the same figures as a table, for screen readers and the curious
	Left, Right float64    // plot area, for the axis lines
	Top, Bottom float64
	YLabelX     float64 // where the y labels end
	XLabelY     float64 // the x labels' baseline
}

type chartLine struct {
	Key, Label string
	Points     string // the polyline's points attribute
	Dots       []chartDot
	Total      int64
}

type chartDot struct {
	X, Y  float64
	Title string // "2026-11-30: 12 sessions"
}

type chartTick struct {
	Pos    float64
	Label  string
	Anchor string // text-anchor of an x label: start, middle, end
}

type chartRow struct {
	Label  string
	Values []int64
}

// bucketLabel writes a bucket's start as its interval reads: an hour, a
// day, the week's Monday, a month. A day, a week and a month carry their
// year in both languages, so that a range across the new year does not
// read Dec 29 as after Jan 2 (the axis, shortLabel, leaves it out).
func bucketLabel(tr i18n.Printer, t time.Time, iv period.Interval) string {
	if tr.Lang == i18n.Ru {
		switch iv {
		case period.Hour:
			return t.Format("02.01 15:04")
		case period.Week:
			return tr.T("week of %s", weekStart(tr, t))
		case period.Month:
			return t.Format("01.2006")
		}
		return t.Format("02.01.2006")
	}
	switch iv {
	case period.Hour:
		return t.Format("Jan 2 15:04")
	case period.Week:
		return tr.T("week of %s", weekStart(tr, t))
	case period.Month:
		return t.Format("Jan 2006")
	}
	return t.Format("Mon Jan 2, 2006")
}

// weekStart is a week's first day with its year (a year's first week
// may begin in the December before): 29.12.2025, Dec 29, 2025.
func weekStart(tr i18n.Printer, t time.Time) string {
	if tr.Lang == i18n.Ru {
		return t.Format("02.01.2006")
	}
	return t.Format("Jan 2, 2006")
}

// shortLabel is a bucket's start on the x axis.
func shortLabel(tr i18n.Printer, t time.Time, iv period.Interval) string {
	if tr.Lang == i18n.Ru {
		switch iv {
		case period.Hour:
			return t.Format("15:04")
		case period.Month:
			return t.Format("01.06")
		}
		return t.Format("02.01")
	}
	switch iv {
	case period.Hour:
		return t.Format("15:04")
	case period.Month:
		return t.Format("Jan 06")
	}
	return t.Format("Jan 2")
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, so that
// the y axis reads in round numbers; at least 1.
func niceMax(v int64) int64 {
	if v <= 1 {
		return 1
	}
	pow := int64(1)
	for pow*10 < v {
		pow *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*pow >= v {
			return m * pow
		}
	}
	return 10 * pow
}

// newLineChart lays out series over buckets (the starts of the period's
// intervals). Every series has a value per bucket.
func newLineChart(tr i18n.Printer, id, title string, buckets []time.Time, iv period.Interval, series []chartSeries) lineChart {
	c := lineChart{ID: id, Title: title, W: chartW, H: chartH,
		Left: chartLeft, Right: chartW - chartRight, Top: chartTop, Bottom: chartH - chartBottom,
		YLabelX: chartLeft - 6, XLabelY: chartH - 6}
	var top int64
	for _, s := range series {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	top = niceMax(top)
	// Room on the left for the widest y label (the top one).
	c.Left = max(chartLeft, labelW(formatCount(top))+8)
	c.YLabelX = c.Left - 6
	plotW, plotH := c.Right-c.Left, c.Bottom-c.Top
	x := func(i int) float64 {
		if len(buckets) <= 1 {
			return c.Left + plotW/2
		}
		return c.Left + plotW*float64(i)/float64(len(buckets)-1)
	}
	y := func(v int64) float64 { return c.Bottom - plotH*float64(v)/float64(top) }
	for i, f := range []int64{0, top / 2, top} {
		if i == 1 && top%2 != 0 {
			continue // no middle line at a half (1 and 5 have none); 0 stays
		}
		c.YTicks = append(c.YTicks, chartTick{Pos: round1(y(f)), Label: formatCount(f)})
	}
	// At most 7 x labels, evenly spread, always the first and the last.
	// Labels far enough apart that the first (anchored at its start)
	// and the second (at its middle) do not touch at their largest.
	step := max(1, (len(buckets)+5)/6)
	if n := len(buckets); n > 1 {
		var w float64
		for _, b := range buckets {
			w = max(w, labelW(shortLabel(tr, b, iv)))
		}
		for step < n-1 && float64(step)*plotW/float64(n-1) < 1.5*w+4 {
			step++
		}
	}
	for i := 0; i < len(buckets); i += step {
		c.XTicks = append(c.XTicks, chartTick{Pos: round1(x(i)), Label: shortLabel(tr, buckets[i], iv)})
	}
	if n := len(buckets); n > 1 && (n-1)%step != 0 {
		// The last label (anchored at its end), unless it would run
		// into the one before it (anchored at its middle).
		last := shortLabel(tr, buckets[n-1], iv)
		if k := len(c.XTicks); k > 1 && x(n-1)-c.XTicks[k-1].Pos < labelW(c.XTicks[k-1].Label)/2+labelW(last)+4 {
			c.XTicks = c.XTicks[:len(c.XTicks)-1]
		}
		c.XTicks = append(c.XTicks, chartTick{Pos: round1(x(n - 1)), Label: last})
	}
	// The first and last labels stay inside the chart.
	for i := range c.XTicks {
		c.XTicks[i].Anchor = "middle"
	}
	if n := len(c.XTicks); n > 1 {
		c.XTicks[0].Anchor, c.XTicks[n-1].Anchor = "start", "end"
	}
	var desc []string
	for _, s := range series {
		l := chartLine{Key: s.Key, Label: s.Label}
		var pts strings.Builder
		for i, v := range s.Values {
			if i >= len(buckets) {
				break
			}
			px, py := round1(x(i)), round1(y(v))
			fmt.Fprintf(&pts, "%s,%s ", strconv.FormatFloat(px, 'f', -1, 64), strconv.FormatFloat(py, 'f', -1, 64))
			l.Dots = append(l.Dots, chartDot{X: px, Y: py, Title: fmt.Sprintf("%s: %s", bucketLabel(tr, buckets[i], iv), s.Count(v))})
			l.Total += v
		}
		l.Points = strings.TrimSpace(pts.String())
		c.Series = append(c.Series, l)
		desc = append(desc, s.Count(l.Total))
	}
	for i, b := range buckets {
		row := chartRow{Label: bucketLabel(tr, b, iv)}
		for _, s := range series {
			var v int64
			if i < len(s.Values) {
				v = s.Values[i]
			}
			row.Values = append(row.Values, v)
		}
		c.Rows = append(c.Rows, row)
	}
	if len(buckets) > 0 {
		by := map[period.Interval]string{period.Hour: tr.T("By hour"), period.Day: tr.T("By day"), period.Week: tr.T("By week"), period.Month: tr.T("By month")}[iv]
		if iv == period.Week {
			c.Desc = tr.T("%s, weeks of %s to %s, in total: %s.", by, weekStart(tr, buckets[0]), weekStart(tr, buckets[len(buckets)-1]), strings.Join(desc, ", "))
		} else {
			c.Desc = tr.T("%s, %s to %s, in total: %s.", by, bucketLabel(tr, buckets[0], iv), bucketLabel(tr, buckets[len(buckets)-1], iv), strings.Join(desc, ", "))
		}
	}
	return c
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// formatCount writes a count with thin groups: 12 345.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
