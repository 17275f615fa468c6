package httpd

import (
	"context"

	"github.com/valyala/fasthttp"

	"appliance/store"
)

// siteNav is the navigation of a site's pages (partials.html "site-nav"):
// its links for the caller's role, and how many leads and callbacks are
// new, so staff see waiting work from any page of the site.
type siteNav struct {
	Key, Name    string
	Region       string // the site's phone region: its pages write numbers as people there read them ("" the server's)
	Current      string // the page shown: "site", "leads", "callbacks"...
	Reports      bool   // the caller may see reports (leads, calls, numbers, webhooks)
	Settings     bool   // the caller may change the site
	NewLeads     int
	NewCallbacks int
	// FailingHooks counts the site's webhook endpoints that are failing
	// (webhooks.FailingAfter): every page of the site warns of them.
	FailingHooks int
	Query        string // the search field's text: the search page's query
}

// siteNav is the navigation for who on the page current of site.
func (s *dashboardHandlers) siteNav(ctx context.Context, who signedIn, site *store.Site, current string) (*siteNav, error) {
	n := &siteNav{Key: site.Key, Name: site.Name, Region: site.PhoneRegion, Current: current,
		Reports: seeReports.allows(who.user.Role), Settings: changeSites.allows(who.user.Role)}
	var err error
	if n.Reports {
		if n.NewLeads, err = s.leads.CountNew(ctx, site.ID); err != nil {
			return nil, err
		}
		if n.FailingHooks, err = s.failingHooks(ctx, site.ID); err != nil {
			return nil, err
		}
	}
	if n.NewCallbacks, err = s.callbacks.CountNew(ctx, site.ID); err != nil {
		return nil, err
	}
	return n, nil
}

// renderSite answers page name, a page of site, with the site's
// navigation (name is also the navigation's current page).
func (s *dashboardHandlers) renderSite(ctx *fasthttp.RequestCtx, who signedIn, site *store.Site, name string, v view) error {
	nav, err := s.siteNav(ctx, who, site, name)
	if err != nil {
		return err
	}
	v.Nav = nav
	return s.pages.render(ctx, fasthttp.StatusOK, name, v)
}

// failingHooks counts the failing webhook endpoints of site: at most one
// record read per endpoint, so every page of the site can afford it.
func (s *dashboardHandlers) failingHooks(ctx context.Context, site uint32) (int, error) {
	health, err := s.hooks.Health(ctx, site)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, hl := range health {
		if s.hooks.Failing(hl) {
			n++
		}
	}
	return n, nil
}
