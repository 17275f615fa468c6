package httpd

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"appliance/httpd/notice"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// maxDeliveriesShown bounds the delivery log on the webhooks page.
const maxDeliveriesShown = 100

// endpointRow is an endpoint as the page shows it: never its secret.
type endpointRow struct {
	ID      uint64
	URL     string
	Events  []string // the kinds it is sent
	Kinds   []kindBox
	Created string
	Hint    string // the secret's last four characters
	Failing *endpointFailing
}

// endpointFailing is why an endpoint is failing (webhooks.FailingAfter):
// since when, how much waits, and its last failure.
type endpointFailing struct {
	Since    string
	Waiting  int    // deliveries waiting for their next attempt
	Attempts uint32 // failed since Since
	Status   string // of the last attempt; "": no answer
	Why      string // the kind of failure in words, a catalog key; "" when none
	Error    string // the technical detail, as the receiver or the network said it
	// Gone is a 410 Gone: its deliveries are not tried again, unlike
	// every other failure's.
	Gone bool
}

// attemptRow is one attempt of a delivery.
type attemptRow struct {
	Time, Status, Error string
	Why                 string // the kind of failure in words, a catalog key (webhooks.ReasonText); "" when none
	Duration            int64  // milliseconds
}

// deliveryRow is a delivery as the log shows it.
type deliveryRow struct {
	ID       uint64
	Event    string
	EventID  uint64
	URL      string
	State    string
	Attempts uint32
	Created  string
	Next     string // next attempt, while pending
	Last     *attemptRow
	Recent   []attemptRow // newest first
}

type kindBox struct {
	Kind    string
	Checked bool
}

type webhooksData struct {
	Site       *store.Site
	Endpoints  []endpointRow
	Deliveries []deliveryRow
	Kinds      []kindBox
	URL        string
	NewSecret  string // shown once, right after adding
	NewURL     string
	Zone       string // the zone of the times: the site's
}

func (s *dashboardHandlers) webhooksData(ctx *fasthttp.RequestCtx, who signedIn, site *store.Site) (webhooksData, error) {
	c := s.clock(ctx, &who.user, site)
	d := webhooksData{Site: site, Zone: zoneLabel(c.loc, s.now())}
	for _, k := range webhooks.Kinds() {
		d.Kinds = append(d.Kinds, kindBox{Kind: string(k), Checked: k == webhooks.KindLead})
	}
	eps, err := s.hooks.Endpoints(site.ID)
	if err != nil {
		return d, err
	}
	health, err := s.hooks.Health(ctx, site.ID)
	if err != nil {
		return d, err
	}
	var waiting map[uint64]int // read once, only when an endpoint fails
	for _, ep := range eps {
		row := endpointRow{ID: ep.ID, URL: ep.URL, Events: ep.Events,
			Created: c.at(ep.Created), Hint: "…" + ep.Secret[max(0, len(ep.Secret)-4):]}
		for _, k := range webhooks.Kinds() {
			row.Kinds = append(row.Kinds, kindBox{Kind: string(k), Checked: slices.Contains(ep.Events, string(k))})
		}
		if hl, ok := health[ep.ID]; ok && s.hooks.Failing(hl) {
			if waiting == nil {
				if waiting, err = s.hooks.Waiting(ctx, site.ID); err != nil {
					return d, err
				}
			}
			f := &endpointFailing{Since: c.at(hl.FailingSince), Waiting: waiting[ep.ID], Attempts: hl.Failures,
				Why: webhooks.ReasonText(hl.Last.Reason), Error: hl.Last.Error, Gone: hl.Last.Reason == webhooks.ReasonGone}
			if hl.Last.Status != 0 {
				f.Status = strconv.Itoa(hl.Last.Status)
			}
			row.Failing = f
		}
		d.Endpoints = append(d.Endpoints, row)
	}
	log, err := s.hooks.Deliveries(ctx, site.ID, maxDeliveriesShown)
	if err != nil {
		return d, err
	}
	for _, dl := range log {
		row := deliveryRow{ID: dl.ID, Event: dl.Event, EventID: dl.EventID, URL: dl.URL, Attempts: dl.Attempts,
			Created: c.at(dl.Created)}
		ep := slices.IndexFunc(eps, func(ep store.WebhookEndpoint) bool { return ep.ID == dl.Endpoint })
		switch dl.State {
		case store.DeliveryPending:
			row.State, row.Next = "pending", c.at(dl.Due)
			if ep >= 0 {
				row.URL = eps[ep].URL // where its next attempt goes, since a change of the endpoint
			}
			if dl.Attempts > 0 {
				row.State = "retrying"
			}
		case store.DeliveryDelivered:
			row.State = "delivered"
		case store.DeliveryDropped:
			row.State = "dropped"
		case store.DeliveryRefused:
			u := dl.URL
			if ep >= 0 {
				u = eps[ep].URL // the endpoint that refused it, as it is now
			}
			switch {
			case webhooks.IsTelegram(u):
				row.State = "refused by Telegram: check that the bot is in the chat and not blocked, then send it again"
			case webhooks.IsMail(u):
				row.State = "refused by the mail server: check the address, then send it again"
			default:
				row.State = "refused by the receiver (410 Gone): not tried again; send it again once the endpoint takes it"
			}
		}
		for _, a := range slices.Backward(dl.Recent) {
			ar := attemptRow{Time: c.at(a.Time), Error: a.Error, Why: webhooks.ReasonText(a.Reason), Duration: a.Duration}
			if a.Status != 0 {
				ar.Status = strconv.Itoa(a.Status)
			}
			row.Recent = append(row.Recent, ar)
		}
		if len(row.Recent) > 0 {
			row.Last = &row.Recent[0]
		}
		d.Deliveries = append(d.Deliveries, row)
	}
	return d, nil
}

// webhooksPage is GET /sites/KEY/webhooks: endpoints and the delivery log.
func (s *dashboardHandlers) webhooksPage(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	d, err := s.webhooksData(ctx, who, site)
	if err != nil {
		return err
	}
	v := view{Title: "Webhooks · " + site.Name, User: &who.user, CSRF: who.session.CSRF, Data: d}
	switch string(ctx.QueryArgs().Peek("done")) {
	case "removed":
		v.Flash = "Endpoint removed."
	case "changed":
		v.Flash = "Endpoint changed: what it has still to deliver goes to it as it is now."
	case "resent":
		v.Flash = "Queued to be sent again."
	}
	return s.renderSite(ctx, who, site, "webhooks", v)
}

// addWebhook is POST /sites/KEY/webhooks. The page it answers shows the
// secret, once.
func (s *dashboardHandlers) addWebhook(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	args := ctx.PostArgs()
	var kinds []webhooks.Kind
	for _, k := range args.PeekMulti("events") {
		kinds = append(kinds, webhooks.Kind(k))
	}
	ep, addErr := s.hooks.Add(ctx, site.ID, string(args.Peek("url")), string(args.Peek("secret")), kinds)
	if addErr != nil && !errors.Is(addErr, webhooks.ErrInvalid) {
		return addErr
	}
	d, err := s.webhooksData(ctx, who, site)
	if err != nil {
		return err
	}
	v := view{Title: "Webhooks · " + site.Name, User: &who.user, CSRF: who.session.CSRF}
	status := fasthttp.StatusOK
	if addErr != nil {
		status, v.Error = fasthttp.StatusBadRequest, errText(s.pages.printer(ctx, &who.user), addErr)
		v.Field = webhookField(string(args.Peek("url")), string(args.Peek("secret")), addErr)
		d.URL = string(args.Peek("url"))
		for i := range d.Kinds {
			d.Kinds[i].Checked = slices.Contains(kinds, webhooks.Kind(d.Kinds[i].Kind))
		}
	} else {
		if !webhooks.IsMail(ep.URL) && !webhooks.IsTelegram(ep.URL) { // an email is not signed; a bot's token is the owner's
			d.NewSecret, d.NewURL = ep.Secret, ep.URL
		}
		v.Flash = "Endpoint added."
	}
	v.Data = d
	return s.pages.render(ctx, status, "webhooks", v)
}

// webhookField is the field of the new endpoint's form a refusal of Add
// is about: its secret (its length or letters, or a Telegram endpoint's
// bot token), none for a site's endpoints all taken, else its URL.
func webhookField(rawURL, secret string, err error) string {
	switch f := refusedField(err, "add-url", "a secret ", "add-secret", "a site has at most", ""); {
	case f != "add-url":
		return f
	case webhooks.IsTelegram(strings.TrimSpace(rawURL)) && notice.CheckBotToken(strings.TrimSpace(secret)) != nil:
		if _, _, perr := notice.ParseTelegram(strings.TrimSpace(rawURL)); perr == nil {
			return "add-secret"
		}
	}
	return "add-url"
}

// changeWebhook is POST /sites/KEY/webhooks/change: a new URL, secret
// (empty: kept) or kinds for an endpoint, which its queued deliveries
// follow (webhooks.Hooks.Change), then back to the page. A refusal shows
// the page with the error.
func (s *dashboardHandlers) changeWebhook(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	args := ctx.PostArgs()
	id, err := strconv.ParseUint(string(args.Peek("id")), 10, 64)
	if err != nil {
		return errorf(fasthttp.StatusBadRequest, "No such endpoint; it may have been removed already.")
	}
	var kinds []webhooks.Kind
	for _, k := range args.PeekMulti("events") {
		kinds = append(kinds, webhooks.Kind(k))
	}
	_, err = s.hooks.Change(ctx, site.ID, id, string(args.Peek("url")), string(args.Peek("secret")), kinds)
	switch {
	case errors.Is(err, webhooks.ErrNotFound):
		return errorf(fasthttp.StatusNotFound, "No such endpoint; it may have been removed already.")
	case errors.Is(err, webhooks.ErrInvalid):
		d, derr := s.webhooksData(ctx, who, site)
		if derr != nil {
			return derr
		}
		return s.pages.render(ctx, fasthttp.StatusBadRequest, "webhooks", view{Title: "Webhooks · " + site.Name, User: &who.user,
			CSRF: who.session.CSRF, Error: errText(s.pages.printer(ctx, &who.user), err), Data: d})
	case err != nil:
		return err
	}
	s.seeOther(ctx, "/sites/"+site.Key+"/webhooks?done=changed")
	return nil
}

// testWebhook is POST /sites/KEY/webhooks/test: "Send a test" posts a
// test event to the endpoint now (webhooks.Hooks.Test) and shows on the
// page what its receiver answered.
func (s *dashboardHandlers) testWebhook(ctx *fasthttp.RequestCtx, who signedIn) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	id, err := strconv.ParseUint(string(ctx.PostArgs().Peek("id")), 10, 64)
	if err != nil {
		return errorf(fasthttp.StatusBadRequest, "No such endpoint; it may have been removed already.")
	}
	a, err := s.hooks.Test(ctx, site.ID, site.Key, id)
	if errors.Is(err, webhooks.ErrNotFound) {
		return errorf(fasthttp.StatusNotFound, "No such endpoint; it may have been removed already.")
	}
	if err != nil {
		return err
	}
	d, err := s.webhooksData(ctx, who, site)
	if err != nil {
		return err
	}
	tr := s.pages.printer(ctx, &who.user)
	v := view{Title: "Webhooks · " + site.Name, User: &who.user, CSRF: who.session.CSRF, Data: d}
	if a.Error == "" {
		v.Flash = tr.T("The test was taken: %d in %d ms.", a.Status, a.Duration)
	} else {
		v.Error = tr.T("The test was not taken: %s", a.Error)
		if why := webhooks.ReasonText(a.Reason); why != "" {
			v.Error += " " + tr.T(why)
		}
	}
	return s.pages.render(ctx, fasthttp.StatusOK, "webhooks", v)
}

// removeWebhook is POST /sites/KEY/webhooks/remove.
func (s *dashboardHandlers) removeWebhook(ctx *fasthttp.RequestCtx, who signedIn) error {
	return s.webhookAction(ctx, s.hooks.Remove, "No such endpoint; it may have been removed already.", "removed")
}

// resendDelivery is POST /sites/KEY/webhooks/resend: "send again".
func (s *dashboardHandlers) resendDelivery(ctx *fasthttp.RequestCtx, who signedIn) error {
	return s.webhookAction(ctx, s.hooks.Resend, "No such delivery.", "resent")
}

// webhookAction runs act on the site and posted id of a webhooks page form
// and goes back to the page with a notice.
func (s *dashboardHandlers) webhookAction(ctx *fasthttp.RequestCtx, act func(context.Context, uint32, uint64) error, notFound, done string) error {
	site, _, err := s.siteFromPath(ctx)
	if err != nil {
		return err
	}
	id, err := strconv.ParseUint(string(ctx.PostArgs().Peek("id")), 10, 64)
	if err != nil {
		return errorf(fasthttp.StatusBadRequest, "%s", notFound)
	}
	if err := act(ctx, site.ID, id); err != nil {
		if errors.Is(err, webhooks.ErrNotFound) {
			return errorf(fasthttp.StatusNotFound, "%s", notFound)
		}
		return err
	}
	s.seeOther(ctx, "/sites/"+site.Key+"/webhooks?done="+done)
	return nil
}
