package admin

import (
	"fmt"
	"io"
	"strings"
)

// The text `appliance` prints for the answers of the admin calls, beside
// the types, so that a field and the line that shows it change together.

// PrintSiteAdded prints the answer to AddSite: the key and install code.
func PrintSiteAdded(w io.Writer, s Site) {
	fmt.Fprintf(w, "site %q added\nsite key: %s\n%s\n%s\n\ninstall code:\n%s\n", s.Name, s.Key, originText(s), zoneText(s), s.InstallCode)
	if s.LocalHost != "" {
		fmt.Fprintf(w, "\nThis code points at %s, this machine: it works only in a browser on this machine.\n"+
			"For a real site, start appliance serve with --public-url https://your-server.example,\n"+
			"the address visitors' browsers reach this server at.\n", s.LocalHost)
	}
}

// PrintTimeZone prints the answer to SetTimeZone.
func PrintTimeZone(w io.Writer, s Site) {
	fmt.Fprintf(w, "site %q: %s\n", s.Name, zoneText(s))
}

// RegionText says where a site's phones without a country code are read.
func RegionText(s Site) string {
	if s.PhoneRegion == "" {
		return "phones without a country code read in the server's region"
	}
	return "phones without a country code read as " + s.PhoneRegion
}

// RetentionText says how long a site's raw visits are kept.
func RetentionText(s Site) string {
	if s.RetentionDays == 0 {
		return "visits kept for ever"
	}
	return "visits kept " + count(s.RetentionDays, "day")
}

// zoneText says which zone a site's days are in.
func zoneText(s Site) string {
	if s.TimeZone == "" {
		return "days and hours in the server's time zone"
	}
	return "days and hours in " + s.TimeZone
}

// PrintOrigin prints the answer to SetOrigin.
func PrintOrigin(w io.Writer, s Site) {
	fmt.Fprintf(w, "site %q: %s\n", s.Name, originText(s))
}

// originText says where a site takes page views from.
func originText(s Site) string {
	if s.AnyOrigin {
		return "takes page views from pages on any domain"
	}
	if len(s.Domains) == 1 {
		return "takes page views only from " + s.Domains[0] + " and its sub-domains"
	}
	return "takes page views only from " + strings.Join(s.Domains, ", ") + " and their sub-domains"
}

// PrintSites prints the site list: a line per site, then its install
// code, indented.
func PrintSites(w io.Writer, list []Site) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no sites yet: appliance site add --name N --domain D")
	}
	for i, s := range list {
		mark := ""
		if s.AnyOrigin {
			mark = "  (any origin)"
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		zone := s.TimeZone
		if zone == "" {
			zone = "server time"
		}
		region := s.PhoneRegion
		if region == "" {
			region = "server phones"
		}
		fmt.Fprintf(w, "%s  %-24s %s  [%s, %s]%s\n", s.Key, s.Name, strings.Join(s.Domains, ","), zone, region, mark)
		fmt.Fprintln(w, "  install code:")
		for _, line := range strings.Split(strings.TrimRight(s.InstallCode, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}

// PrintToken prints a new token once, with the sites it may use (none:
// every site) and what it may do there (none: everything).
func PrintToken(w io.Writer, t Token) {
	sites := "every site"
	if len(t.Sites) > 0 {
		sites = "only the sites " + strings.Join(t.Sites, ", ")
	}
	scopes := ", every scope of the API"
	if len(t.Scopes) > 0 {
		scopes = ", only the scopes " + strings.Join(t.Scopes, ", ")
	}
	as := ""
	if t.User != "" {
		as = ", acting as " + t.User
	}
	fmt.Fprintf(w, "API token %q for %s%s%s (shown once; send it as Authorization: Bearer TOKEN):\n%s\n", t.Name, sites, scopes, as, t.Token)
}

// PrintWebhookAdded prints a new endpoint with its secret, shown once.
func PrintWebhookAdded(w io.Writer, ep Endpoint) {
	switch {
	case strings.HasPrefix(ep.URL, "mailto:") && ep.NoSMTP:
		fmt.Fprintf(w, "webhook %d added: %s (%s), sent by email through serve's --smtp server; "+
			"no server runs with --smtp now, so its emails wait until one does (appliance serve --smtp smtp://...)\n", ep.ID, ep.URL, strings.Join(ep.Events, ","))
		return
	case strings.HasPrefix(ep.URL, "mailto:"): // an email is not signed
		fmt.Fprintf(w, "webhook %d added: %s (%s), sent by email through serve's --smtp server\n", ep.ID, ep.URL, strings.Join(ep.Events, ","))
		return
	case strings.HasPrefix(ep.URL, "telegram:"): // the secret is the bot's token, which its owner has
		fmt.Fprintf(w, "webhook %d added: %s (%s), sent as the bot's messages\n", ep.ID, ep.URL, strings.Join(ep.Events, ","))
		return
	}
	fmt.Fprintf(w, "webhook %d added: %s (%s)\nsecret (shown once; verify X-Appliance-Signature with it):\n%s\n",
		ep.ID, ep.URL, strings.Join(ep.Events, ","), ep.Secret)
}

// PrintWebhooks prints the endpoints of the site with the key site.
func PrintWebhooks(w io.Writer, site string, list []Endpoint) {
	if len(list) == 0 {
		fmt.Fprintf(w, "no webhooks yet: appliance webhook add --site %s --url URL\n", site)
	}
	for _, ep := range list {
		fmt.Fprintf(w, "%d  %-18s %s\n", ep.ID, strings.Join(ep.Events, ","), ep.URL)
	}
}

// PrintCallbackSettings prints a site's callback settings.
func PrintCallbackSettings(w io.Writer, info CallbackSettings) {
	fmt.Fprintf(w, "callbacks of site %s:\n", info.Site)
	switch {
	case info.Webhook == "" && info.Queue:
		fmt.Fprintln(w, "  scenario: none (callbacks are kept to call back and sent to webhooks; visitors are told \"we'll call you back\", status 0)")
	case info.Webhook == "":
		fmt.Fprintln(w, "  scenario: none (callbacks are kept and sent to webhooks; visitors are told callbacks are not set up, status 2)")
	default:
		fmt.Fprintf(w, "  scenario: %s\n", info.Webhook)
	}
	if info.Secret != "" {
		fmt.Fprintf(w, "  secret (shown once; verify X-Appliance-Signature with it): %s\n", info.Secret)
	}
	if info.Captcha {
		fmt.Fprintf(w, "  captcha: on, %d digits\n", info.CaptchaDigits)
	} else {
		fmt.Fprintf(w, "  captcha: off (%d digits when on)\n", info.CaptchaDigits)
	}
	lang := info.Lang
	if lang == "" {
		lang = "auto (the visitor's browser)"
	}
	fmt.Fprintf(w, "  language: %s\n", lang)
	var gs []string
	for _, g := range info.Groups {
		gs = append(gs, fmt.Sprintf("%d %s", g.ID, g.Name))
	}
	if len(gs) == 0 {
		gs = []string{"none"}
	}
	fmt.Fprintf(w, "  groups: %s\n", strings.Join(gs, "; "))
}

// PrintSiteNumbers prints the answer to SetSiteNumbers.
func PrintSiteNumbers(w io.Writer, info Numbers) {
	fmt.Fprintf(w, "site %s replaces %s:\n", info.Site, count(len(info.SiteNumbers), "number"))
	for _, n := range info.SiteNumbers {
		fmt.Fprintf(w, "  +%s  (written %q)\n", n.Number, n.Written)
	}
	if len(info.Selectors) > 0 {
		fmt.Fprintf(w, "extra selectors: %s\n", strings.Join(info.Selectors, "  "))
	}
}

// PrintStaticAdded prints the answer to AddStatic.
func PrintStaticAdded(w io.Writer, st Static) {
	fmt.Fprintf(w, "static number +%s added: %s, priority %d, replaces %s\n", st.Number, ruleText(st.Rule), st.Priority, replacesText(st.Replaces))
}

// addrCapText is a pool's address cap as the text forms say it.
func addrCapText(n int64) string {
	if n == 0 {
		return "none"
	}
	return fmt.Sprintf("%d a visitor address", n)
}

// PrintPoolAdded prints the answer to AddPool.
func PrintPoolAdded(w io.Writer, p Pool) { printPool(w, p, "added") }

// PrintPoolChanged prints a pool's set-up after an edit.
func PrintPoolChanged(w io.Writer, p Pool) { printPool(w, p, "changed") }

func printPool(w io.Writer, p Pool, done string) {
	fmt.Fprintf(w, "pool %q %s: %s %s\n  fallback %s, reserve %s, %s, priority %d, replaces %s\n",
		p.Name, done, count(len(p.Numbers), "number"), plusList(p.Numbers), orNone(plusList(nonEmpty(p.Fallback))), p.Reserve, ruleText(p.Rule), p.Priority, replacesText(p.Replaces))
}

// PrintNoSiteNumbers says what to do next when the site has tracking
// numbers but none of its own: the snippet replaces only the site's own
// numbers, so until they are set no page shows a tracking number.
func PrintNoSiteNumbers(w io.Writer, info Numbers) {
	if len(info.SiteNumbers) > 0 {
		return
	}
	fmt.Fprintf(w, "nothing is replaced yet: tracking numbers replace only the site's own numbers, and it has none set;\n"+
		"  set the numbers its pages show, as written there: appliance site numbers --site %s --replace \"8 (487) 275-14-04\"\n", info.Site)
}

// PrintImport prints what an Import added and skipped.
func PrintImport(w io.Writer, res ImportResult) {
	fmt.Fprintf(w, "imported %s into pool %q, skipped %d\n", count(len(res.Added), "number"), res.Pool, len(res.Skipped))
	for _, n := range res.Added {
		fmt.Fprintf(w, "  added    +%s\n", n)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(w, "  skipped  line %d %q: %s\n", s.Line, s.Value, s.Reason)
	}
}

// PrintNumbers prints a site's call-tracking set-up with today's usage.
func PrintNumbers(w io.Writer, info Numbers) {
	fmt.Fprintf(w, "site %s\n", info.Site)
	if len(info.SiteNumbers) == 0 {
		fmt.Fprintf(w, "site numbers: none yet (appliance site numbers --site %s --replace NUMBER)\n", info.Site)
	} else {
		fmt.Fprintln(w, "site numbers:")
		for _, n := range info.SiteNumbers {
			fmt.Fprintf(w, "  +%s  (written %q)\n", n.Number, n.Written)
		}
	}
	if len(info.Selectors) > 0 {
		fmt.Fprintf(w, "extra selectors: %s\n", strings.Join(info.Selectors, "  "))
	}
	fmt.Fprintf(w, "static numbers: %d\n", len(info.Statics))
	for _, s := range info.Statics {
		fmt.Fprintf(w, "  +%s  %s, priority %d, replaces %s\n", s.Number, ruleText(s.Rule), s.Priority, replacesText(s.Replaces))
	}
	fmt.Fprintf(w, "pools: %d\n", len(info.Pools))
	for _, p := range info.Pools {
		fmt.Fprintf(w, "  %s: %s, %s, priority %d, reserve %s, fallback %s, replaces %s\n",
			p.Name, count(len(p.Numbers), "number"), ruleText(p.Rule), p.Priority, p.Reserve, orNone(plusList(nonEmpty(p.Fallback))), replacesText(p.Replaces))
		fmt.Fprintf(w, "    leased now %d of %d, missed today %d, limited by address today %d (cap %s), suggested size %d\n",
			p.Live, len(p.Numbers), p.Misses, p.Limited, addrCapText(p.AddrCap), p.Suggest)
		fmt.Fprintf(w, "    %s\n", plusList(p.Numbers))
	}
}

func ruleText(r string) string {
	if r == "" {
		return "rule: all traffic"
	}
	return "rule " + r
}

func replacesText(r []string) string {
	if len(r) == 0 {
		return "all site numbers"
	}
	return plusList(r)
}

func plusList(ns []string) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = "+" + n
	}
	return strings.Join(out, " ")
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// PrintExportBackfilled prints what an ExportBackfill queued.
func PrintExportBackfilled(w io.Writer, r ExportBackfilled) {
	fmt.Fprintf(w, "site %s from %s: queued %s, %s, %s, %s, %s, %s, %s, %s\n", r.Site, r.From,
		count(r.Hits, "hit"), count(r.Events, "event"), count(r.Visitors, "visitor"), count(r.Leads, "lead"),
		count(r.Callbacks, "callback"), count(r.Calls, "call"), count(r.Chats, "chat"), count(r.ChatMessages, "chat message"))
	if r.Waiting > 0 {
		verb := "wait"
		if r.Waiting == 1 {
			verb = "waits"
		}
		fmt.Fprintf(w, "%s %s on disk for NATS; the server publishes them when it can reach it\n", count(r.Waiting, "event"), verb)
	} else {
		fmt.Fprintln(w, "all of them are in the stream")
	}
}

// PrintRebuilt prints what a Rebuild wrote.
func PrintRebuilt(w io.Writer, r Rebuilt) {
	zone := r.TimeZone
	if zone == "" {
		zone = "the server's time zone"
	}
	fmt.Fprintf(w, "reports of site %s rebuilt from the raw records in %s: %s, %s, %s\n",
		r.Site, zone, count(r.Rollups, "roll-up"), count(r.Visitors, "visitor"), count(r.Callers, "caller"))
}

// PrintCostsImported prints what an ImportCosts stored.
func PrintCostsImported(w io.Writer, r CostsImported) {
	fmt.Fprintf(w, "imported %s: %s from %s to %s, %s in all\n",
		count(r.Lines, "line"), count(r.Rows, "day, source, medium and campaign row"), r.From, r.To, r.Total)
}

// count is n and the noun, plural unless n is 1 ("1 visitor", "2 visitors").
func count[N ~int | ~int64 | ~uint64 | ~uint32 | ~int32](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// PrintPruned prints what a Prune deleted, or would have, per kind.
func PrintPruned(w io.Writer, p Pruned) {
	verb := "deleted"
	if p.DryRun {
		verb = "would delete (dry run, nothing changed)"
	}
	fmt.Fprintf(w, "%s:\n", verb)
	for _, k := range []struct {
		n    int64
		what string
	}{{p.Sessions, "sessions"}, {p.PageViews, "page views"}, {p.Events, "events"},
		{p.Deliveries, "delivered webhooks"}, {p.Leases, "leases of the lease history"}, {p.Captchas, "expired captchas"}} {
		fmt.Fprintf(w, "  %8d %s\n", k.n, k.what)
	}
}

// NoPool is the refusal of a pool name the site with key site has not, as
// every command that names a pool says it, server side or not: it names
// the command that lists them and, for a command that needs the pool
// (import, edit) rather than one that removes it, makeOne, the one that
// makes it.
func NoPool(site, name string, makeOne bool) string {
	hint := ""
	if makeOne {
		hint = "; numbers pool add makes one"
	}
	return fmt.Sprintf("the site has no pool named %q (appliance numbers list --site %s shows them%s)", name, site, hint)
}
