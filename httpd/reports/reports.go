// Package reports answers "which source brings visits, calls, leads and
// sales" over any range of days in a site's time zone: the sources report
// (rows by channel, source, medium, campaign, term, landing page or
// referrer, with sessions, visitors, outcomes, revenue and ad cost) and the
// timeseries behind the chart. It knows nothing of HTTP.
//
// The model. Traffic is counted when it happens, on the site's day (and
// hour) of its time zone: a session on the day it starts, with its source;
// an event on its own day, with its session's source. An outcome (lead,
// callback, call, chat) is counted on its own day and credited to one of
// the visitor's sessions as each attribution model picks it: the last
// session that did not come direct (ModelLastNonDirect, the default, as
// Yandex Metrica's "last significant source"; the last session when all
// came direct), the first session (ModelFirst) or the last (ModelLast),
// among the sessions the visitor had before the outcome was stored. An
// outcome without a known visitor, and a call to a static number (whose
// caller ID may tell whose it is: the number brought it), is credited to
// the source stored with it.
//
// Visitors are counted once per day: on the row of their first session of
// that day, so a row's visitors over a range are the sum of its daily
// unique visitors ("visitor-days"), the same sum GoatCounter and Metrica's
// day reports give; the total over rows is every day's unique visitors
// added up. A visitor whose first session of the day came from search and
// second from an ad counts for search only.
//
// Where the figures come from. Every write that stores what a report
// counts (a hit that starts a session, an event, a lead, a callback, a
// call) adds to roll-ups in the same durable write (Counter, store's
// merge-operator counters): per site, day and row, and per hour for the
// chart. A report over a year reads a few thousand small values. Compute
// gives the same answers straight from the raw records, replaying them in
// the order they were stored; Rebuild writes what it computes over the
// roll-ups (after a change of time zone, or to recover).
package reports

import (
	"appliance/internal/usererr"
)

// Errors of the reports package.
var (
	// ErrInvalid is the kind of every error about a report's query.
	ErrInvalid = usererr.New("reports", 400, "invalid report query")
	// ErrNoSite is the kind of the error about a site that is not there.
	ErrNoSite = usererr.New("reports", 404, "no such site")
)
