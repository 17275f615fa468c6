package httpd

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"appliance/httpd/accounts"
	"appliance/httpd/i18n"
	"appliance/httpd/notice"
	"appliance/httpd/sites"
	"appliance/httpd/webhooks"
	"appliance/store"
)

// Webhook alerts: when a webhook endpoint starts failing (every attempt
// for webhooks.FailingAfter, see webhooks.Health), each user who may
// change the site's webhooks (owners and managers) is emailed once, and
// once more when a 2xx shows it works again. Nothing else changes: the
// deliveries are retried as before.
//
// An episode is told once: its mark (webhooks.Hooks.MarkAlerted) is
// stored after the SMTP server took the emails, with the endpoint's
// health, so a restart does not send it again, and a crash between the
// two sends it again rather than not at all. An email the SMTP server
// refuses for a while (4xx, or the relay's own faults) is tried again
// alertRetry later; one it refuses for good to every recipient is not
// tried again for the episode. Without an SMTP server nothing is sent;
// the dashboard warns all the same.

// alertEvery is how often the worker looks for endpoints to tell of.
const alertEvery = time.Minute

// alertRetry is how long an alert the SMTP server did not take waits.
const alertRetry = 10 * time.Minute

type hookAlerts struct {
	hooks     *webhooks.Hooks
	sites     *sites.Registry
	accounts  *accounts.Accounts
	catalog   *i18n.Catalog
	mailer    *notice.Mailer // nil: no SMTP server, nothing is sent
	publicURL string         // ends in "/"
	now       func() time.Time
	log       *slog.Logger

	pass sync.Mutex // one pass at a time
	// failed holds, under pass, when an alert the SMTP server did not
	// take may be tried again.
	failed map[alertJob]time.Time
}

// alertJob is one email to tell of one endpoint: that it fails since
// since, or (recovered != 0) that it works again.
type alertJob struct {
	site      uint32
	endpoint  uint64
	since     int64
	recovered int64
}

// Run tells of the endpoints due now and then every alertEvery until ctx
// ends.
func (a *hookAlerts) Run(ctx context.Context) {
	if a.mailer == nil {
		return
	}
	mailEvery(ctx, alertEvery, a.log, "webhook alerts not sent", a.sendDue)
}

// sendDue emails the owners of every endpoint that started failing, or
// works again, and was not told of yet; it returns how many emails the
// SMTP server took.
func (a *hookAlerts) sendDue(ctx context.Context) (int, error) {
	if a.mailer == nil {
		return 0, nil
	}
	a.pass.Lock()
	defer a.pass.Unlock()
	all, err := a.hooks.AllHealth(ctx)
	if err != nil {
		return 0, err
	}
	now := a.now()
	sent := 0
	var errs []error
	for _, hl := range all {
		var j alertJob
		switch {
		case hl.Failing(now) && hl.Alerted != hl.FailingSince:
			j = alertJob{site: hl.Site, endpoint: hl.Endpoint, since: hl.FailingSince}
		case hl.FailingSince == 0 && hl.Recovered != 0 && hl.Alerted != 0:
			j = alertJob{site: hl.Site, endpoint: hl.Endpoint, since: hl.Alerted, recovered: hl.Recovered}
		default:
			continue
		}
		if now.Before(a.failed[j]) {
			continue
		}
		n, err := a.tell(ctx, j, hl)
		sent += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return sent, errors.Join(errs...)
}

// tell sends job j's email to each user who may change the site's
// webhooks, and marks it told once one of them got it, or every one was
// refused for good.
func (a *hookAlerts) tell(ctx context.Context, j alertJob, hl webhooks.Health) (int, error) {
	site, err := a.sites.ByID(j.site)
	if err != nil {
		return 0, nil // the site is gone, its health with it
	}
	eps, err := a.hooks.Endpoints(j.site)
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(eps, func(ep store.WebhookEndpoint) bool { return ep.ID == j.endpoint })
	if i < 0 {
		return 0, nil // removed meanwhile, its health with it
	}
	ep := eps[i]
	users, err := a.accounts.Users(ctx)
	if err != nil {
		return 0, err
	}
	var waiting int
	if j.recovered == 0 {
		w, err := a.hooks.Waiting(ctx, j.site)
		if err != nil {
			return 0, err
		}
		waiting = w[ep.ID]
	}
	sent, refused, tried := 0, 0, 0
	var errs []error
	for _, u := range users {
		if !changeSites.allows(u.Role) {
			continue
		}
		tried++
		lang := i18n.Ru
		if l, ok := i18n.Parse(u.Lang); ok {
			lang = l
		}
		subject, text, html, err := a.compose(a.catalog.For(lang), site, ep, hl, j, waiting)
		if err == nil {
			err = a.mailer.SendHTML(ctx, notice.KindWebhookAlert, u.Email, subject, text, html)
		}
		switch {
		case err == nil:
			sent++
		case notice.Refused(err):
			refused++
			errs = append(errs, fmt.Errorf("webhook alert of %s to %s refused for good: %w", site.Name, u.Email, err))
		default:
			errs = append(errs, fmt.Errorf("webhook alert of %s to %s: %w", site.Name, u.Email, err))
		}
	}
	if sent == 0 && refused < tried {
		if a.failed == nil {
			a.failed = map[alertJob]time.Time{}
		}
		a.failed[j] = a.now().Add(alertRetry)
		return 0, errors.Join(errs...)
	}
	delete(a.failed, j)
	// Marked even when the server is stopping meanwhile (ctx ended), or
	// the next start would send it again.
	mctx := context.WithoutCancel(ctx)
	if j.recovered == 0 {
		err = a.hooks.MarkAlerted(mctx, j.site, j.endpoint, j.since)
	} else {
		err = a.hooks.MarkRecoveryTold(mctx, j.site, j.endpoint, j.recovered)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("webhook alert of %s sent, not marked (it may be sent again): %w", site.Name, err))
	}
	if sent > 0 {
		a.log.Info("webhook alert sent", "site", site.Name, "endpoint", ep.ID, "recovered", j.recovered != 0, "to", sent)
	}
	return sent, errors.Join(errs...)
}

// compose writes the email of j in tr's language: what fails and since
// when, how much waits, the last error and where to mend it; or that it
// works again. It returns its subject, its text and the same as HTML.
func (a *hookAlerts) compose(tr i18n.Printer, site *store.Site, ep store.WebhookEndpoint, hl webhooks.Health, j alertJob, waiting int) (subject, text, html string, err error) {
	loc := a.sites.Location(site)
	c := clock{tr: tr, loc: loc}
	at := func(ms int64) string { return c.at(ms) + " (" + zoneLabel(loc, time.UnixMilli(ms)) + ")" }
	// The site's name and the endpoint's URL were typed by an owner, who
	// may have typed a bidi control (U+202E would show the URL reversed,
	// another address than the one that fails): shown as U+FFFD, as the
	// dashboard's pages show them.
	name, endpoint := notice.ShowBidi(site.Name), notice.ShowBidi(ep.URL)
	v := alertMailView{Lang: string(tr.Lang),
		PageLabel: tr.T("The webhooks page:"), Button: tr.T("Open the webhooks page"),
		PageURL: a.publicURL + "sites/" + url.PathEscape(site.Key) + "/webhooks",
		Footer:  tr.T("You get this email because you may change the webhooks of %s: it is sent once when an endpoint starts failing, and once when it works again.", name),
	}
	if j.recovered != 0 {
		v.Subject = tr.T("Webhook of %[1]s works again: %[2]s", name, endpoint)
		v.Intro = tr.T("Since %[1]s the endpoint %[2]s of %[3]s takes deliveries again; those that waited follow on their own.", at(j.recovered), endpoint, name)
	} else {
		v.Subject = tr.T("Webhook of %[1]s is failing: %[2]s", name, endpoint)
		v.Intro = tr.T("Since %[1]s every delivery of %[2]s to the endpoint %[3]s has failed: its leads and events are not reaching it.", at(j.since), name, endpoint)
		v.Counts = tr.N("%d delivery waiting", waiting) + " · " + tr.N("%d failed attempt", int(hl.Failures))
		last := tr.T("no answer")
		if hl.Last.Status != 0 {
			last = fmt.Sprint(hl.Last.Status)
		}
		if why := webhooks.ReasonText(hl.Last.Reason); why != "" {
			last += ". " + tr.T(why)
		}
		v.Facts = append(v.Facts, alertFact{Label: tr.T("Last error:"), Value: last})
		if hl.Last.Error != "" {
			v.Facts = append(v.Facts, alertFact{Label: tr.T("Technical detail:"), Value: notice.ShowBidi(hl.Last.Error), Code: true})
		}
		if hl.Last.Reason == webhooks.ReasonGone {
			v.Advice = tr.T("The receiver said this URL is gone for good, so what it refused is not tried again. Give the endpoint its new URL here, send a test, then press \"Send again\" on each delivery it should still get.")
		} else {
			v.Advice = tr.T("Nothing is lost: every delivery is kept and tried again, at least once an hour, until the endpoint takes it. Mend the receiver, or change the URL or secret here, then send a test.")
		}
	}
	html, err = notice.RenderHTML(alertMailTemplate, v)
	if err != nil {
		return "", "", "", fmt.Errorf("%s: %w", v.Subject, err)
	}
	return v.Subject, v.text(), html, nil
}

// alertMailView is a webhook alert, written once and rendered as its text
// and as its HTML, which say the same: what fails since when, how much
// waits, the last error and what to do (the failing form), or that it
// works again (the recovered form, which has no Counts, Facts or Advice);
// then the webhooks page.
type alertMailView struct {
	Lang, Subject string
	Intro         string
	Counts        string      // how much waits, how many attempts failed; "" none
	Facts         []alertFact // the last error and its technical detail
	Advice        string      // "" none
	PageLabel     string      // the text's words before the page's URL
	Button        string      // the HTML's button to the page
	PageURL       string      // the site's webhooks page, from --public-url
	Footer        string
}

// alertFact is one labelled fact; its value may hold lines. Code marks a
// receiver's own answer, which the HTML sets as code in English, as the
// webhooks page does.
type alertFact struct {
	Label, Value string
	Code         bool
}

// Lines is the value's lines, each written as its own line of the HTML.
func (f alertFact) Lines() []string { return strings.Split(f.Value, "\n") }

func (v *alertMailView) text() string {
	var b strings.Builder
	b.WriteString(v.Intro + "\n")
	if v.Counts != "" {
		b.WriteString("\n" + v.Counts + "\n")
	}
	for _, f := range v.Facts {
		b.WriteString(f.Label + " " + f.Value + "\n")
	}
	if v.Advice != "" {
		b.WriteString("\n" + v.Advice + "\n")
	}
	b.WriteString("\n" + v.PageLabel + "\n" + v.PageURL + "\n")
	b.WriteString("\n-- \n" + v.Footer + "\n")
	return b.String()
}

// alertMailHTML is a webhook alert's HTML, in the frame every HTML email
// shares (notice.ParseHTML): the facts in a table and a button to the
// webhooks page. It has no words of its own (all come from the catalog
// through alertMailView) and no <style>, which many mail clients drop:
// every element carries its own, and every one with text sets both its
// colour and its background, as the other emails do.
//
//go:embed webhook_alert_mail.html
var alertMailHTML string

var alertMailTemplate = notice.ParseHTML("webhook-alert", alertMailHTML)
