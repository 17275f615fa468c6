package main

import (
	"errors"
	"strconv"

	"github.com/spf13/cobra"

	"appliance/httpd"
)

// trackerLimitFlags adds the tracker's rate limits to serve: per site and
// per client IP, each a rate and a burst (README: sizing the limits).
func trackerLimitFlags(cmd *cobra.Command, l *httpd.TrackerLimits) {
	f := cmd.Flags()
	l.PerSite, l.PerIP = httpd.DefaultPerSite, httpd.DefaultPerIP
	f.Var(limitRate{&l.PerSite}, "tracker-site-rate",
		"tracker requests per second one site may take, from all its visitors together; 0: no limit (env APPLIANCE_TRACKER_SITE_RATE)")
	f.IntVar(&l.PerSiteBurst, "tracker-site-burst", 0,
		"tracker requests one site may take at once above its rate; 0: 30 seconds of --tracker-site-rate (env APPLIANCE_TRACKER_SITE_BURST)")
	f.Var(limitRate{&l.PerIP}, "tracker-ip-rate",
		"tracker requests per second from one client IP, an IPv6 one by its /64 (loopback is exempt); 0: no limit (env APPLIANCE_TRACKER_IP_RATE)")
	f.IntVar(&l.PerIPBurst, "tracker-ip-burst", 0,
		"tracker requests one client IP may send at once above its rate; 0: 30 seconds of --tracker-ip-rate (env APPLIANCE_TRACKER_IP_BURST)")
}

// limitRate is a rate flag where 0 means no limit; it stores that as the
// negative rate httpd.TrackerLimits reads as "off" (its zero is the
// default, for callers that leave it unset).
type limitRate struct{ p *float64 }

func (r limitRate) String() string {
	if r.p == nil || *r.p < 0 {
		return "0"
	}
	return strconv.FormatFloat(*r.p, 'g', -1, 64)
}

func (r limitRate) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return errors.New("not a rate: requests per second, 0 or more") // the caller names the value
	}
	if v == 0 {
		v = -1
	}
	*r.p = v
	return nil
}

func (limitRate) Type() string { return "rate" }
