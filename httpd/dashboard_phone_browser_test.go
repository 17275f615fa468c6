package httpd_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"appliance/httpd/accounts"
	"appliance/httpd/chats"
	"appliance/httpd/httpdtest"
	"appliance/numbers/tracking"
)

// hostileTexts are what visitors type into forms that a page must show
// whole without being widened by it: a word and a URL with no space to
// break at, right-to-left letters, emoji, markup.
var hostileTexts = []string{
	"Здравствуйте! " + strings.Repeat("Оченьдлинноесловобезпробелов", 8),
	"https://shop.example/catalog/kotly?utm_campaign=" + strings.Repeat("black_friday_2026_", 12),
	"שלום, אני רוצה להזמין דוד חימום גז. مرحبا، أريد طلب غلاية",
	"🔥 Срочно!!! 👨‍👩‍👧‍👦👍🏽 " + strings.Repeat("😀", 40),
	`<script>alert(1)</script><b>bold</b><img src=x onerror=alert(2)>`,
}

// A manager answers leads and callbacks on a phone (375 px), in Russian:
// each lead and callback is a card with its phone number, the visitor's
// message and the status buttons on the screen, and nothing a visitor
// typed, nor a site's long name, makes the page wider than the phone.
// The tables scrolled sideways in their box before, with only the time
// and the status in view: the number to call was off the screen. On a
// laptop the message column keeps room to be read.
func TestBrowserLeadsAndCallbacksOnPhone(t *testing.T) {
	srv := httpdtest.Start(t)
	key := srv.Site(t, strings.Repeat("Оченьдлинноеназвание", 2), "shop.example")
	// A zone with a long name, which the laptop's headings must not break
	// inside a word.
	if _, err := srv.HTTP.Sites().SetTimeZone(context.Background(), key, "Asia/Yekaterinburg"); err != nil {
		t.Fatal(err)
	}
	for i, text := range hostileTexts {
		v := trackHit(t, srv, key, "", "https://shop.example/?utm_source=yandex&utm_campaign="+strings.Repeat("x", 80), "")
		if status, out, _ := postJSON(t, srv.URL+"t/v1/lead", leadBody(key, v, map[string]any{
			"name": text[:min(len(text), 60)], "phone": "+7 912 345-67-8" + string(rune('0'+i)), "email": strings.Repeat("a", 60) + "@example.com",
			"message": text, "form_name": strings.Repeat("Форма", 8), "is_sale": true, "sale_cost": "299980.10",
		})); status != http.StatusOK {
			t.Fatalf("lead: %d %v", status, out)
		}
		if i < 2 {
			if status, out, _ := postJSON(t, srv.URL+"t/v1/callback", leadBody(key, v, map[string]any{"phone": "+7 916 123-45-6" + string(rune('0'+i))})); status != http.StatusOK {
				t.Fatalf("callback: %d %v", status, out)
			}
		}
	}
	site, err := srv.HTTP.Sites().ByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// A person's visit (the devices report counts people) with an event and
	// a property with long words, for their reports.
	v := personHit(t, srv, key, "", "https://shop.example/cart", "")
	if status, out, _ := postJSON(t, srv.URL+"t/v1/event", leadBody(key, v, map[string]any{"c": "корзина", "a": strings.Repeat("добавить_в_корзину_", 4), "n": hostileTexts[1][:120], "v": "1499900.5"})); status != http.StatusOK {
		t.Fatalf("event: %d %v", status, out)
	}
	if status, out, _ := postJSON(t, srv.URL+"t/v1/property", map[string]any{"k": key, "ci": v.CI, "key": v.Key, "op": "set", "name": "тариф", "value": strings.Repeat("Оченьдлинноезначение", 4)}); status != http.StatusOK {
		t.Fatalf("property: %d %v", status, out)
	}
	v = trackHit(t, srv, key, "", hostileTexts[1], "")
	cv := chats.Visitor{Site: site, Visitor: v.VisitorID, Session: v.SessionID, Page: hostileTexts[1]}
	var chat uint64
	for i, text := range hostileTexts {
		ack, err := srv.HTTP.Chats().Send(t.Context(), cv, "m"+strconv.Itoa(i), text)
		if err != nil {
			t.Fatal(err)
		}
		chat = ack.Chat.ID
	}
	if _, err := srv.HTTP.Chats().Close(t.Context(), site.ID, chat, v.VisitorID, chats.ClosedByVisitor); err != nil {
		t.Fatal(err)
	}
	// A chat still open, for the console.
	v = trackHit(t, srv, key, "", "https://shop.example/", "")
	if _, err := srv.HTTP.Chats().Send(t.Context(), chats.Visitor{Site: site, Visitor: v.VisitorID, Session: v.SessionID, Page: "https://shop.example/"}, "open", hostileTexts[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.HTTP.Numbers().AddStatic(t.Context(), site.ID, tracking.StaticInput{Number: "74951825168"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	token, err := accounts.New(srv.DB).CreateToken(t.Context(), "pbx", nil)
	if err != nil {
		t.Fatal(err)
	}
	postCall(t, srv, token, `{"called":"74951825168","caller":"79161234567","duration":65,"answered":true}`)
	postCall(t, srv, token, `{"called":"74997770000","caller":"79035554433","duration":0,"answered":false}`) // no site's number
	email, password := srv.Owner(t)
	ctx := httpdtest.Browser(t)
	httpdtest.Must(t, ctx, chromedp.EmulateViewport(375, 812), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "ru-RU,ru"}})
		return err
	}),
		chromedp.Navigate(srv.URL+"login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	submit(t, ctx, `main button[type=submit]`)

	// offScreen lists the elements of sel that are not wholly inside the
	// window's width, and the page's width when it is wider than the window.
	offScreen := func(sel string) []string {
		t.Helper()
		return httpdtest.Eval[[]string](t, ctx, `(() => {
			const out = [], vw = innerWidth;
			if (document.documentElement.scrollWidth > vw) out.push("page is " + document.documentElement.scrollWidth + "px wide");
			document.querySelectorAll(`+jsString(sel)+`).forEach(e => {
				const r = e.getBoundingClientRect();
				if (r.left < 0 || r.right > vw + 1) out.push(e.closest("tr").id + " " + e.className + " " + Math.round(r.left) + ".." + Math.round(r.right));
			});
			return out;
		})()`)
	}
	for _, tc := range []struct {
		page, rows, inView string
		n                  int
	}{
		{"leads", "#leads tbody tr", "a.tel, td.message, td.contact .name, td.form, .mark-buttons button, td.page", len(hostileTexts)},
		{"callbacks", "#callbacks tbody tr", "a.tel, .mark-buttons button, td.page", 2},
		{"chat", "#chats tbody tr", "summary, td.url, a.visitor-link, .transcript .message", 1},
		{"calls", "#calls tbody tr", "a.tel, td.url", 1},
		{"", "#unknown-calls tbody tr", "a.tel", 1}, // the sites page
	} {
		u := srv.URL + "sites"
		if tc.page != "" {
			u += "/" + key + "/" + tc.page
		}
		httpdtest.Must(t, ctx, chromedp.Navigate(u))
		if lang := httpdtest.Eval[string](t, ctx, `document.documentElement.lang`); lang != "ru" {
			t.Fatalf("%s: lang=%q", tc.page, lang)
		}
		httpdtest.Eval[bool](t, ctx, `(document.querySelectorAll("details").forEach(d => d.open = true), true)`)
		if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll(`+jsString(tc.rows)+`).length`); n != tc.n {
			t.Fatalf("%s: %d rows, want %d", tc.page, n, tc.n)
		}
		for _, p := range offScreen(tc.inView) {
			t.Errorf("%s at 375px: %s", tc.page, p)
		}
		// Each value says what it is: the column's heading goes with it.
		if got := httpdtest.Eval[string](t, ctx, `getComputedStyle(document.querySelector(`+jsString(tc.rows+" a.tel, "+tc.rows+" summary")+`).closest("td"), "::before").content`); !strings.Contains(got, "Телефон") && !strings.Contains(got, "Контакт") && !strings.Contains(got, "Куда звонили") && !strings.Contains(got, "Переписка") {
			t.Errorf("%s at 375px: the first number's cell is labelled %s", tc.page, got)
		}
	}

	// The reports' totals: a figure stays on one line inside its card
	// (the revenue, 1 499 900,50, broke as "1 499 900,5" over "0").
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/reports"))
	if got := httpdtest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#kpis .kpi-value")].filter(e => {
		const text = document.createRange();
		text.selectNodeContents(e);
		return text.getClientRects().length != 1 || e.getBoundingClientRect().right > e.closest("div").getBoundingClientRect().right;
	}).map(e => e.closest("div").id + " " + e.textContent)`); len(got) > 0 {
		t.Errorf("at 375px these totals break or run out of their card: %q", got)
	}
	if got := httpdtest.Eval[string](t, ctx, `document.querySelector("#kpi-revenue .kpi-value").textContent`); !strings.Contains(got, "499") {
		t.Errorf("the revenue reads %q", got)
	}
	// Every report's tables fit the phone: no page nor table box wider
	// than the screen, no hint to swipe; a row is a card whose figures
	// each say what they are (the sources table had 15 columns in a box
	// that scrolled sideways, the row's source off the screen by the
	// third figure).
	for _, tab := range []string{"", "/pages", "/events", "/properties", "/devices", "/costs"} {
		httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/reports"+tab), chromedp.WaitVisible(chromedp.ID("period")))
		httpdtest.Eval[bool](t, ctx, `(document.querySelectorAll("details").forEach(d => d.open = true), dispatchEvent(new Event("resize")), true)`)
		got := httpdtest.Eval[[]string](t, ctx, `(() => {
			const out = [], vw = innerWidth;
			if (document.documentElement.scrollWidth > vw) out.push("the page is " + document.documentElement.scrollWidth + "px wide");
			document.querySelectorAll("main table").forEach(tb => {
				const box = tb.closest(".table-scroll, .table-wrap") || tb, r = tb.getBoundingClientRect();
				if (box.scrollWidth > box.clientWidth + 1 || r.left < 0 || r.right > vw + 1) out.push("#" + tb.id + " is " + Math.round(r.width) + "px wide in a " + box.clientWidth + "px box");
			});
			document.querySelectorAll(".scroll-hint").forEach(h => out.push("a hint: " + h.textContent));
			return out;
		})()`)
		for _, p := range got {
			t.Errorf("reports%s at 375px: %s", tab, p)
		}
		if n := httpdtest.Eval[int](t, ctx, `document.querySelectorAll("main table.report-table:not([id^=chart-]) tbody tr").length`); n == 0 && tab != "/costs" {
			t.Errorf("reports%s: no rows to see", tab)
		}
	}
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/reports"), chromedp.WaitVisible(chromedp.ID("sources-table")))
	if got := httpdtest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#sources-table tbody tr:first-child td")].slice(0, 2).map(td => getComputedStyle(td, "::before").content + " " + td.textContent)`); len(got) != 2 || !strings.Contains(got[0], "Визиты") || !strings.Contains(got[1], "Посетители") {
		t.Errorf("at 375px the sources card's first figures read %q", got)
	}

	// The chat console: an operator's line with the site's long name
	// wraps inside the list, their status on one line beside it; the open
	// chat's buttons stay inside its panel.
	// Before a chat is open, the empty panel points to the lists where
	// they are: on a phone they stack above it, and it said "слева".
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"chat"), chromedp.WaitVisible(chromedp.CSS(`#c-operators li`)))
	if got := httpdtest.Eval[string](t, ctx, `(() => {
		const empty = document.getElementById("c-empty"), side = document.querySelector(".c-side").getBoundingClientRect();
		return empty.getBoundingClientRect().top >= side.bottom && /слева|справа|left|right/i.test(empty.textContent) ? empty.textContent : "";
	})()`); got != "" {
		t.Errorf("in the console at 375px the lists are above the panel, which says %q", got)
	}
	httpdtest.Must(t, ctx, chromedp.Click(chromedp.CSS(`#c-chats button`)), chromedp.WaitVisible(chromedp.CSS(`#c-log .c-msg`)))
	if got := httpdtest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#c-operators li > span"), ...document.querySelectorAll(".c-head button, .c-head h2")].filter(e => {
		const r = e.getBoundingClientRect(), box = e.closest("ul, .c-main").getBoundingClientRect();
		const text = document.createRange();
		text.selectNodeContents(e);
		return r.right > box.right + 1 || e.matches(".muted") && text.getClientRects().length > 1;
	}).map(e => e.textContent)`); len(got) > 0 {
		t.Errorf("in the console at 375px these run out of their box or wrap a status: %q", got)
	}

	// A laptop keeps the reports' tables: a row a line, headed by the
	// columns' names.
	httpdtest.Must(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(srv.URL+"sites/"+key+"/reports"), chromedp.WaitVisible(chromedp.ID("sources-table")))
	if got := httpdtest.Eval[string](t, ctx, `[...document.querySelectorAll("#sources-table, #sources-table thead, #sources-table tbody tr")].map(e => getComputedStyle(e).display).join(" ")`); !strings.HasPrefix(got, "table table-header-group table-row") {
		t.Errorf("at 1280px the sources table is laid out as %q", got)
	}
	httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/leads"))
	if w := httpdtest.Eval[float64](t, ctx, `Math.min(...[...document.querySelectorAll("#leads td.message")].map(e => e.getBoundingClientRect().width))`); w < 200 {
		t.Errorf("at 1280px the message column is %.0fpx wide", w)
	}
	// The lists' headings on a laptop wrap between words (or after the
	// zone's "/"), never inside one: the narrow When column broke the
	// site's zone as "(ASIA/YEKATER" over "INBURG)".
	for _, page := range []string{"leads", "callbacks"} {
		httpdtest.Must(t, ctx, chromedp.Navigate(srv.URL+"sites/"+key+"/"+page))
		if got := httpdtest.Eval[[]string](t, ctx, `(() => {
			const out = [];
			document.querySelectorAll("table.list thead th").forEach(th => {
				const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
				let prevTop = null, prevChar = " ";
				while (walk.nextNode()) {
					const n = walk.currentNode;
					for (let i = 0; i < n.length; i++) {
						const r = document.createRange();
						r.setStart(n, i); r.setEnd(n, i + 1);
						const rect = r.getClientRects()[0];
						if (!rect) continue;
						if (prevTop !== null && rect.top > prevTop + 2 && !/[\s\/(]/.test(prevChar) && /\S/.test(n.data[i])) out.push(th.textContent.trim() + ": broken before " + JSON.stringify(n.data.slice(i)));
						prevTop = rect.top; prevChar = n.data[i];
					}
				}
			});
			return out;
		})()`); len(got) > 0 {
			t.Errorf("%s at 1280px: a heading breaks inside a word: %q", page, got)
		}
	}
}
