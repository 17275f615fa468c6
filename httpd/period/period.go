// Package period resolves the date range a report covers: a preset
// ("today", "7d", "last_month"...) or a custom range of dates, read in a
// site's time zone, together with the period before it that the report
// compares against, and the chart interval that fits it.
//
// A Period is a run of whole calendar days in one time zone: its first and
// last day are both included, and its instants run from midnight of the
// first day to midnight after the last (which, across a DST change, is not
// a multiple of 24 hours). Nothing here reads a clock: "today" is the day
// of the now a caller passes in.
package period

import (
	"errors"
	"fmt"
	"time"
)

// Preset names a period relative to today.
type Preset string

// The presets a period may be given as; Custom is a from..to range.
const (
	Today     Preset = "today"
	Yesterday Preset = "yesterday"
	Last7     Preset = "7d"
	Last30    Preset = "30d"
	Last90    Preset = "90d"
	ThisMonth Preset = "this_month"
	LastMonth Preset = "last_month"
	ThisYear  Preset = "this_year"
	Custom    Preset = "custom"
)

// Default is the period a report shows when none is asked for.
const Default = Last30

// Presets lists every preset in the order a picker shows them.
func Presets() []Preset {
	return []Preset{Today, Yesterday, Last7, Last30, Last90, ThisMonth, LastMonth, ThisYear, Custom}
}

// MaxYears bounds a period's length: at most this many years of days (2021-12-15
// to 2026-12-14 is allowed, to 2026-12-15 is a day too long).
const MaxYears = 5

// DateLayout is how dates are written in parameters: 2026-11-30.
const DateLayout = time.DateOnly

// Error is a period that cannot be resolved, with a message for the person
// who asked for it. It answers with HTTP status 400.
type Error struct {
	msg    string
	format string // msg before formatting: a catalog key of the dashboard
	args   []any
}

func (e *Error) Error() string { return "period: " + e.msg }

// Is makes errors.Is(err, ErrInvalid) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Status is the HTTP status that answers e.
func (e *Error) Status() int { return 400 }

// UserMessage is what is wrong, without the package prefix.
func (e *Error) UserMessage() string { return e.msg }

// MessageFormat is e's message before formatting, for the dashboard to
// show in the reader's language.
func (e *Error) MessageFormat() (string, []any) { return e.format, e.args }

// ErrInvalid is the kind of every error of Parse.
var ErrInvalid = errors.New("period: invalid")

func invalid(format string, a ...any) error {
	return &Error{msg: fmt.Sprintf(format, a...), format: format, args: a}
}

// Period is a run of whole days in a time zone.
type Period struct {
	Preset Preset // Custom for a from..to range
	// First and Last are midnight (in Loc) of the first and the last day,
	// both included.
	First, Last time.Time
}

// Loc is the time zone the period's days are in.
func (p Period) Loc() *time.Location { return p.First.Location() }

// Start is the first instant of the period: midnight of its first day.
func (p Period) Start() time.Time { return p.First }

// End is the first instant after the period: midnight after its last day.
func (p Period) End() time.Time { return addDays(p.Last, 1) }

// Days is how many calendar days the period has.
func (p Period) Days() int { return daysBetween(p.First, p.Last) + 1 }

// From and To are the first and last day as dates (2006-01-02).
func (p Period) From() string { return p.First.Format(DateLayout) }

// To is the last day as a date (2006-01-02).
func (p Period) To() string { return p.Last.Format(DateLayout) }

// Contains reports whether t falls within the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start()) && t.Before(p.End()) }

// Previous is the period a report compares p with: the calendar month
// before for last month; the same days of the previous month (or year) for
// this month (this year), so that month-to-date meets month-to-date; the
// same number of days just before p for everything else.
func (p Period) Previous() Period {
	prev := Period{Preset: Custom}
	switch p.Preset {
	case LastMonth:
		prev.First = p.First.AddDate(0, -1, 0)
		prev.Last = addDays(p.First, -1)
	case ThisMonth:
		prev.First = p.First.AddDate(0, -1, 0)
		prev.Last = clampDay(prev.First, p.Last.Day())
	case ThisYear:
		prev.First = p.First.AddDate(-1, 0, 0)
		prev.Last = date(prev.First.Year(), p.Last.Month(), 1, p.Loc())
		prev.Last = clampDay(prev.Last, p.Last.Day())
	default:
		n := p.Days()
		prev.Last = addDays(p.First, -1)
		prev.First = addDays(p.First, -n)
	}
	return prev
}

// clampDay is the day d of month m's month, or its last day when the
// month is shorter.
func clampDay(m time.Time, d int) time.Time {
	last := addDays(m.AddDate(0, 1, 0), -1).Day()
	return date(m.Year(), m.Month(), min(d, last), m.Location())
}

// Interval is the width of one point of a chart.
type Interval string

// The chart intervals.
const (
	Hour  Interval = "hour"
	Day   Interval = "day"
	Week  Interval = "week"
	Month Interval = "month"
)

// Interval is the chart interval that fits the period: hours for one or
// two days, days up to about a quarter, weeks up to a year, months beyond
// (at most 61 points for five years).
func (p Period) Interval() Interval {
	switch n := p.Days(); {
	case n <= 2:
		return Hour
	case n <= 92:
		return Day
	case n <= 366:
		return Week
	}
	return Month
}

// Buckets splits the period into the starts of its intervals of width iv:
// hours, days, weeks (starting Monday) or months, in the period's zone. The
// first bucket is the one holding the period's start (a week or month may
// begin before it); every bucket ends where the next begins, the last at
// the period's end. Across a DST change an hour may repeat or be skipped,
// as the wall clock does: buckets are instants an hour apart.
func (p Period) Buckets(iv Interval) []time.Time {
	var out []time.Time
	end := p.End()
	switch iv {
	case Hour:
		for t := p.Start(); t.Before(end); t = t.Add(time.Hour) {
			out = append(out, t)
		}
	case Week:
		t := addDays(p.First, -((int(p.First.Weekday()) + 6) % 7))
		for ; t.Before(end); t = addDays(t, 7) {
			out = append(out, t)
		}
	case Month:
		t := date(p.First.Year(), p.First.Month(), 1, p.Loc())
		for ; t.Before(end); t = t.AddDate(0, 1, 0) {
			out = append(out, t)
		}
	default:
		for t := p.First; t.Before(end); t = addDays(t, 1) {
			out = append(out, t)
		}
	}
	return out
}

// Parse resolves a period from a picker's parameters, in the time zone
// loc, with today being the day of now in loc. preset "" means a custom
// range when from or to is set, else Default. A custom range needs both
// dates (2006-01-02), from no later than to, at most MaxYears apart, within
// the years 2000 to 2100. Every error is an *Error (ErrInvalid).
func Parse(preset, from, to string, now time.Time, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	p := Preset(preset)
	if p == "" {
		p = Default
		if from != "" || to != "" {
			p = Custom
		}
	}
	if p == Custom {
		return parseRange(from, to, loc)
	}
	today := midnight(now.In(loc))
	out := Period{Preset: p, Last: today}
	switch p {
	case Today:
		out.First = today
	case Yesterday:
		out.First = addDays(today, -1)
		out.Last = out.First
	case Last7, Last30, Last90:
		n := map[Preset]int{Last7: 7, Last30: 30, Last90: 90}[p]
		out.First = addDays(today, -(n - 1))
	case ThisMonth:
		out.First = date(today.Year(), today.Month(), 1, loc)
	case LastMonth:
		out.First = date(today.Year(), today.Month(), 1, loc).AddDate(0, -1, 0)
		out.Last = addDays(date(today.Year(), today.Month(), 1, loc), -1)
	case ThisYear:
		out.First = date(today.Year(), time.January, 1, loc)
	default:
		return Period{}, invalid("unknown period %q: use one of today, yesterday, 7d, 30d, 90d, this_month, last_month, this_year, or a from and to date", cut(preset))
	}
	return out, nil
}

func parseRange(from, to string, loc *time.Location) (Period, error) {
	if from == "" || to == "" {
		return Period{}, invalid("a custom period needs both a from and a to date (YYYY-MM-DD)")
	}
	f, err := parseDate("from", from, loc)
	if err != nil {
		return Period{}, err
	}
	t, err := parseDate("to", to, loc)
	if err != nil {
		return Period{}, err
	}
	if t.Before(f) {
		return Period{}, invalid("the from date %s is after the to date %s", from, to)
	}
	if !t.Before(f.AddDate(MaxYears, 0, 0)) {
		return Period{}, invalid("the period from %s to %s is longer than %d years; choose a shorter one", from, to, MaxYears)
	}
	return Period{Preset: Custom, First: f, Last: t}, nil
}

func parseDate(field, s string, loc *time.Location) (time.Time, error) {
	d, err := time.ParseInLocation(DateLayout, s, loc)
	if err != nil {
		if field == "from" { // a message each, for the catalog to translate
			return time.Time{}, invalid("the from date %q is not a date like 2026-11-30", cut(s))
		}
		return time.Time{}, invalid("the to date %q is not a date like 2026-11-30", cut(s))
	}
	if d.Year() < 2000 || d.Year() > 2100 {
		if field == "from" {
			return time.Time{}, invalid("the from date %s is outside the years 2000 to 2100", s)
		}
		return time.Time{}, invalid("the to date %s is outside the years 2000 to 2100", s)
	}
	return date(d.Year(), d.Month(), d.Day(), loc), nil
}

// cut shortens what a user typed for an error message.
func cut(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func date(y int, m time.Month, d int, loc *time.Location) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// midnight is the start of t's day in t's zone.
func midnight(t time.Time) time.Time { return date(t.Year(), t.Month(), t.Day(), t.Location()) }

// addDays moves a midnight by n calendar days, staying at midnight across
// DST changes (time.Date normalises the day).
func addDays(t time.Time, n int) time.Time { return date(t.Year(), t.Month(), t.Day()+n, t.Location()) }

// daysBetween counts calendar days from a to b (midnights in one zone).
func daysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua) / (24 * time.Hour))
}
