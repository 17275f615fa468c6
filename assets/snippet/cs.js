/*
 * cs.js — the core of the appliance's tracking snippet, a drop-in for
 * CoMagic's: the same globals (Comagic, ComagicWidget, __cs,
 * window.__cs_onReplacePhones), arguments, callbacks and result shapes.
 *
 * `go generate ./assets` minifies this file with esbuild
 * (internal/snippetbuild) into assets/snippet/dist/cs.min.js, which the
 * server embeds and serves at /static/cs.min.js. __CS_WIDGET_PATH__ is
 * replaced at that build with the content-hashed path of the widget chunk
 * ("static/cs-widget.<hash>.js"), imported only on first use of one of
 * its calls. The wire format is httpd/tracker-protocol.md.
 *
 * Size. Every visitor of every site downloads this file before anything of
 * ours runs, so it has a budget (TestSnippetCoreSize): the core is what
 * every page view needs at once — the hit, the number replacement (which
 * may not wait for a download: no flicker), the synchronous getters, the
 * outbox and trackEvent (an outbound link's event must go out with the
 * page). The calls that answer later or open a form (addVisitorInfo,
 * addOfflineRequest, the property calls, the widgets, the captcha) are the
 * widget chunk's, and the code is written for the minifier —
 * arrow functions, one helper where two calls were alike, short messages.
 * Names the page sees (the API, the globals, wire fields) are never
 * shortened; the core's own property names end in "_", and the build
 * shortens those (esbuild's MangleProps, one cache with the widget chunk,
 * which calls core's helpers). Names kept in localStorage stay as they are:
 * an earlier version's page may have written them.
 *
 * Model
 *   - The page pushes commands on `__cs` before this file has loaded; they
 *     run in order here, and after that `__cs.push` / `Comagic.push` run a
 *     command at once.
 *   - Every request to the appliance goes through one outbox, sent one at a
 *     time in call order, so `setProperty(n); hasProperty(n, cb)` sees the
 *     property. Calls that need credentials (everything but a hit) wait for
 *     the first hit's answer, which brings the visitor's ci and key. The
 *     widget chunk's calls join the outbox, in their call order, once it has
 *     loaded (the first of them imports it).
 *   - When the page is hidden or unloads, writes still in the outbox go out
 *     with navigator.sendBeacon; writes that have no credentials yet (the
 *     page leaves before the first answer) and the chunk's writes made while
 *     it loads are kept in localStorage and sent after the next page view's
 *     hit.
 *   - A page view is the page's load, each reinitTrackView (an SPA's
 *     route) and the page's return from the back/forward cache; each
 *     shows the visitor's last numbers at once and asks
 *     __cs_onReplacePhones again, as a load does (see view).
 *     A page the browser prerenders has its page view when the visitor
 *     opens it, and none if they never do (see start).
 *   - No API call throws into the page: the entry points that run the
 *     page's arguments through code that could throw are wrapped (safe),
 *     the others only read the core's state or queue a call; and a
 *     callback always gets an answer, {success:false, error:"..."} when the
 *     appliance cannot be reached. Callbacks run asynchronously, always.
 */
(function (w, d) {

  var q = w.__cs;
  if (q && q.csLoaded) return; // the install code was pasted twice
  if (!Array.isArray(q)) q = [];

  var CI = "_cs_ci"; // cookie and localStorage name of the compound id
  var KEY = "_cs_key"; // cookie and localStorage: the credential key of the ci's session, beside _cs_ci
  var LATER = "_cs_later"; // localStorage: writes kept for the next page view
  var PH = "_cs_ph"; // localStorage: {phones, exp, ci}, the last answer for the next page view

  // --- configuration, set by commands -------------------------------------

  var account = ""; // site key, from setCsAccount
  // "//host/" from setCsHost, else the appliance this file came from.
  var host = ((d.currentScript || {}).src || "").replace(/static\/[^/]*$/, "");
  var dynamical; // setDynamicalReplacement: replace numbers in nodes added later
  var phoneMask = ""; // setUIPhoneMaskFormat; used by the callback form in the widget chunk

  // --- visitor state --------------------------------------------------------

  var ci = ""; // "visitor.session.first_visit_unix", "" for a first-time visitor
  var cred; // answer of the last successful hit: {ci, visitor_id, session_id, hit_id, key, server_url, ...}
  var lastURL; // URL of the last hit, the referrer of the next SPA hit
  var loaded; // the commands queued before this file ran have run
  var started; // the page view's hit was queued
  var failed; // why no credentials can come (no account, hit failed); falsy while they may

  // --- the outbox -----------------------------------------------------------

  // An item is {p: path under t/v1/, b: its own body fields, hit_: a page
  // view (sends the current ci), c: needs credentials (ci, key), s_: a lead,
  // sent when the hit failed too (see body), h: sends the hit id too, r: a
  // read (only its answer matters: never beaconed), cb: the page's callback, done_: the snippet's own handler of the answer, name_:
  // the API call, for the console when a call without callback fails}.
  var outbox = [];
  var busy;

  var base = () => host.replace(/\/?$/, "/");
  // abs is the absolute URL of path p of the appliance.
  var abs = (p) => new URL(base() + p, location) + "";

  // loading is whether the page is still being parsed.
  var loading = () => d.readyState == "loading";

  // --- small helpers ------------------------------------------------------

  var warned = {};
  // warn writes msg on the console; with once, only the first time for it.
  var warn = (msg, once) => (once && warned[once]) || ((warned[once] = 1), console.warn("[cs] " + msg));

  var isFn = (f) => typeof f == "function";

  var json = JSON.stringify; // (shorter, the many times it is called)

  // answer calls cb with v asynchronously: an exception in the page's own
  // callback is the page's, in a task of its own, and does not break the
  // snippet.
  var answer = (cb, v) => isFn(cb) && setTimeout(() => cb(v));

  var fail = (error) => ({ success: false, error });

  // safe wraps a function so that it never throws into the page; an
  // exception is said on the console, unless quiet (one that is expected:
  // storage or cookies disabled, a malformed value of the page's).
  var safe =
    (fn, quiet) =>
    (...a) => {
      try {
        return fn(...a);
      } catch (e) {
        quiet || warn("internal error: " + e);
      }
    };

  // cut shortens s to at most max UTF-8 bytes without splitting a character
  // (page-derived fields: the server refuses longer ones): a character cut
  // in two decodes as U+FFFD, which goes.
  var cut = (s, max) => new TextDecoder().decode(new TextEncoder().encode(s).slice(0, max)).replace(/\ufffd$/, "");

  // text is an optional text argument: undefined stays absent.
  var text = (v) => (v == null ? undefined : String(v));

  // storage reads localStorage's key (undefined when it has none), or sets
  // it to value (null removes it). Disabled or full (undefined read), the
  // cookie still works. (Its keys are named properties of localStorage:
  // ours, "_cs_..." names, are no method's.)
  var storage = safe((key, value, ls = w.localStorage) => (value === undefined ? ls[key] : value == null ? delete ls[key] : (ls[key] = value)), 1);

  var parse = safe(JSON.parse, 1);

  // --- ci: first-party cookie + localStorage --------------------------------

  var ciRe = /^\d+\.\d+\.\d+$/;

  // cookie is the value of cookie name, or undefined.
  var cookie = safe((name) => (d.cookie.match("(^|; )" + name + "=([^;]*)") || [])[2], 1); // throws in a sandboxed frame

  // saveCI remembers the visitor: ci and its session's key, in cookies and
  // in localStorage (for a browser that keeps no cookies of ours). The cookies are on the domain the hit's answer names
  // (the page's registrable domain: example.com for www.example.com), so
  // that one visitor is one visitor across the site's sub-domains; when the
  // browser refuses it (or there is none: an IP address, a single label),
  // they are the host's own.
  var saveCI = (v, key, dom) => {
    ci = v;
    storage(CI, v);
    storage(KEY, key);
    var set = safe((a) => {
      // Secure on https: ("https:"[4] is its s; "http:"[4] a colon).
      a += ";path=/;max-age=63072000;SameSite=Lax" + (location.protocol[4] == "s" ? ";Secure" : "");
      d.cookie = CI + "=" + v + a;
      d.cookie = KEY + "=" + key + a;
    }, 1); // cookies refused (a sandboxed frame)
    set(dom ? ";domain=" + dom : "");
    if (cookie(CI) != v) set("");
  };

  // ids is part i of the ci, 0 the visitor id and 1 the session id. Once
  // the appliance answered the page view's hit, ci is that answer's (saveCI),
  // whose parts are its visitor_id and session_id; before that, it is the
  // ci this visitor had on the previous page view (the visitor id does not
  // change; the session id changes when that session has ended: 30 minutes
  // idle or a new campaign), and ids are undefined for a first-time visitor.
  var ids = (i) => (ci ? +ci.split(".")[i] : undefined);

  // --- requests -------------------------------------------------------------

  // keyOf is the key that vouches for ci, the session's (its ids are
  // guessable, the key is not; a ci without it, or with another's key, is a
  // new visitor): from this page's last answer, else kept beside the ci;
  // without a ci (a first-time visitor), the site key (getCredentials).
  var keyOf = () => (ci && (cred ? cred.key : cookie(KEY) || storage(KEY))) || account;

  // body is an item's JSON with the credentials it needs: a page view's and
  // a call's are the ci (read when sent: an earlier hit may have renewed
  // it) and its key. A call goes once the page view is answered (pump),
  // or for a lead (s_) when the hit failed: then with the ci of the
  // visitor's last page view, and for a first-time visitor with none,
  // which the appliance keeps as a lead of the site without a visit.
  var body = (it) => {
    var b = { k: account };
    if ((it.hit_ || it.c) && ci) {
      b.ci = ci;
      b.key = keyOf();
    }
    if (it.h && cred) b.hi = cred.hit_id;
    return json(Object.assign(b, it.b));
  };

  // post sends one request; done gets the answer {success, result|error}
  // exactly once, also when the appliance does not answer in time (the
  // request is not cancelled: its late answer goes nowhere). A fetch that
  // throws (replaced or blocked by the page) throws before the timer is set:
  // pump makes that a failed request like any other.
  var post = (path, data, done) => {
    var status = 0;
    var end = (v) => {
      clearTimeout(timer);
      done(v);
      done = isFn; // a later answer goes nowhere
    };
    fetch(base() + "t/v1/" + path, {
      method: "POST",
      body: data, // a string: Content-Type text/plain, no CORS preflight
      keepalive: true,
      credentials: "omit",
    })
      .then((r) => ((status = r.status), r.json()))
      .then(
        // An answer with a result is given as it is: sitePhoneCall's
        // statuses 1-4 come as {success:false, result:{status, code}},
        // and its refused requests (4xx) and addOfflineRequest's with a
        // result too (tracker-protocol.md §6, §8).
        (v) => end(v && (v.success === true || (v.result && typeof v.result == "object")) ? v : fail((v && v.error) || "HTTP " + status)),
        (e) => end(fail(status ? "HTTP " + status : "" + e))
      );
    var timer = setTimeout(() => end(fail("timeout")), 1e4);
  };

  // enqueue adds a call to the outbox, in call order.
  var enqueue = (it) => {
    outbox.push(it);
    pump();
  };

  // pump sends the outbox's first item once the previous one is answered.
  var pump = () => {
    var it = outbox[0];
    // Calls that need credentials wait for the hit's answer.
    if (busy || !it || (!started && !failed) || (it.c && !cred && !failed)) return;
    outbox.shift();
    if (it.c && !cred && !it.s_) {
      finish(it, fail(failed));
      return pump();
    }
    busy = true;
    var next = (v) => {
      busy = false;
      finish(it, v);
      pump();
    };
    try {
      post(it.p, body(it), next);
    } catch (e) {
      next(fail("" + e)); // a field the page gave cannot be sent (a BigInt)
    }
  };

  var finish = (it, v) => {
    if (it.done_) safe(it.done_)(v);
    if (it.cb) answer(it.cb, v);
    else if (!v.success && it.name_) warn(it.name_ + " failed: " + v.error);
  };

  // --- page hide: beacons ---------------------------------------------------

  var kept = "kept for next page";

  // flush sends the outbox's writes with sendBeacon (the page may never run
  // again); reads stay, their answers matter only if the page comes back.
  var flush = () => {
    var later = [];
    outbox = outbox.filter((it) => {
      if (it.r) return true;
      if (it.c && !cred) {
        later.push({ p: it.p, b: it.b, h: it.h, s: account });
        return finish(it, fail(kept));
      }
      it.done_ = 0; // a beacon has no answer: a hit's ci and key stay as they are
      var ok = safe(() => navigator.sendBeacon(base() + "t/v1/" + it.p, body(it)), 1)();
      finish(it, ok ? { success: true, result: null } : fail("sendBeacon refused"));
    });
    // The page's writes that wait for the widget chunk are kept as calls.
    calls = calls.filter((c) => !/^(add|set|del)/.test(c.f) || (later.push({ f: c.f, a: c.a, s: account }), answer(c.cb, failure(c.f, kept)), 0));
    if (later.length) storage(LATER, json((parse(storage(LATER)) || []).concat(later).slice(-20)));
  };

  // replay queues the writes an earlier page kept for later, in front of
  // this page's; a call the widget chunk was to make is made again.
  var replay = () => {
    var later = parse(storage(LATER)) || [];
    var i = 0;
    storage(LATER, null);
    later.forEach((l) => l && l.s == account && (l.f ? run([l.f].concat(l.a)) : outbox.splice(i++, 0, { p: l.p, b: l.b, c: 1, h: l.h, name_: l.p })));
  };

  w.addEventListener("pagehide", safe(flush));
  // Hidden, the page may never run again: its writes go, and its lease
  // heartbeats stop (see schedule).
  d.addEventListener(
    "visibilitychange",
    safe(() => {
      if (d.hidden) flush();
      schedule();
    })
  );

  // --- page views -----------------------------------------------------------

  // hit queues a page view with the current URL and title, in front of the
  // calls waiting for credentials when it is the page's first.
  var hit = (first) => {
    var u = location.href;
    outbox[first ? "unshift" : "push"]({
      p: "hit",
      hit_: 1,
      b: { u: cut(u, 2048), r: cut(first ? d.referrer : lastURL, 2048), t: cut(d.title, 512) },
      done_(v) {
        var r = v.result || {};
        if (v.success && !ciRe.test(r.ci)) v = fail("no ci");
        if (!v.success) {
          var why = "hit failed: " + v.error;
          if (!cred) failed = why;
          return warn(why);
        }
        cred = r;
        failed = "";
        saveCI(r.ci, r.key, r.cookie_domain);
        renewed(r.phones, 1);
        chatOf(r.chat);
        replay();
      },
    });
    lastURL = u;
  };

  // early shows the numbers of the visitor's last answer at once, as a page
  // load does before its hit's answer, and has the next answer shown anew
  // (phKey), so that __cs_onReplacePhones is asked again for the new page:
  // a hook that says no on some paths is asked on each of them. The last
  // answer is the one the last page view of this ci stored (renewed), when
  // it may be shown before this page view's answer: not past its expiry,
  // and not on a URL of a new campaign, which may get another number (a
  // URL with tags the visitor navigated to: one reloaded or gone back to is
  // the same visit's, whose number the cache has); else it goes.
  var early = () => {
    phKey = 0;
    var c = parse(storage(PH));
    if (c && c.ci == ci && c.exp > Date.now() && (!/[?&](utm_|[gy]clid=|fbclid=)/.test(location) || performance.navigation.type)) {
      apply(c.phones);
      if (loading()) watch();
    } else storage(PH, null);
  };

  // view is a page view after the first: an SPA's new route
  // (reinitTrackView), or with first the page come back from the
  // back/forward cache (pageshow), which is a page view as the same back
  // navigation that loads the page again is, with the page's referrer.
  // Before the first hit (or without a site key, which start says once),
  // the first hit is still to come; it takes the current URL.
  var view = (first) => {
    if (!started) return start();
    early();
    hit(first);
    pump();
  };
  w.addEventListener(
    "pageshow",
    safe((e) => e.persisted && view(1))
  );

  // start sends the page view's hit once the page is parsed (for its title)
  // and the site key is known; calls queued before it wait behind it. A
  // page the browser prerenders (speculation rules, the address bar) is
  // not seen yet, and may never be: its page view, and with it the lease of
  // a number and every call that counts (they wait for the hit), waits
  // until the visitor opens it (prerenderingchange); a page never opened
  // sends nothing.
  var start = () => {
    // Before the queued commands ran, a later setCsHost may still change
    // where the hit goes.
    if (started || !loaded || loading() || d.prerendering) return;
    if (account) {
      started = true;
      failed = "";
      hit(1);
    } else {
      // Calls answer with the failure rather than wait for ever.
      failed = "no setCsAccount";
      warn(failed, failed);
    }
    pump();
  };
  d.addEventListener("prerenderingchange", safe(start));
  // Once parsed, the page's targets have their text (see pageLoaded).
  d.addEventListener(
    "DOMContentLoaded",
    safe(() => {
      pageLoaded();
      start();
    })
  );

  // --- number replacement (tracker-protocol.md §7) ---------------------------
  //
  // A "phones" answer (of a hit, of a lease heartbeat, or cached from the
  // last page view) names the site's own numbers and what replaces each.
  // Targets are elements with id, class or name comagic_phone, elements of
  // the site's extra selectors, text (a number may run across the inline
  // elements of one block), the title and aria-label of any element (what
  // a hover shows and a screen reader says), an image's alt, form fields
  // and the links that dial (tel:, callto:). Other links (sip:, a
  // messenger's) and the text of a script, a style or a field that is no
  // target are left; shadow roots and frames are not reached. A written
  // number keeps its format, on every page view: the replacement's digits take
  // the places of the original's, in the nodes they were in. Everything
  // replaced is recorded with a way back, so that a later answer (a new
  // lease, a hook that now says no) starts from the page as it was. An
  // image target shows a picture of its number that the appliance draws
  // from a URL it signed (the answer's img); its URL is the getters' img.

  var TARGETS = "#comagic_phone .comagic_phone [name=comagic_phone]".split(" ");
  var SKIP = /^(SCRIPT|STYLE|NOSCRIPT|TEXTAREA|TITLE)$/; // text that is not shown as such
  // Elements inside a line of text: a number may run across them.
  var INLINE = /^(A|ABBR|BIG|CODE|EM|FONT|MARK|NOBR|SMALL|SPAN|STRONG|SU[BP]|TIME|[BISU]|WBR)$/;
  // Attributes read as text: what a hover shows and a screen reader says,
  // and an image's alt (what is read, and copied, in place of the image).
  var ATTRS = ["title", "aria-label", "alt"];
  var NOTEXT = /^(PICTURE|VIDEO|AUDIO|CANVAS|OBJECT|SELECT|svg)$/; // targets whose content is no text to replace
  var ph = null; // the numbers of the answer applied now, or null
  var renew; // its seconds between heartbeats
  var phKey; // its numbers and selectors as JSON, to tell a new answer from the same
  var phHook; // the __cs_onReplacePhones that was asked about it
  var phRe; // matches any written form of ph's site numbers
  var sels = TARGETS; // target selectors: TARGETS and ph's valid selectors
  var allowed = false; // __cs_onReplacePhones agreed to ph
  var list = []; // what was replaced: getPhones' entries, with t: "static"|"dynamic"
  var undo = []; // functions that put back what was replaced, in order done
  var filled; // target elements given a number's text (a Set)
  var watcher; // MutationObserver of added nodes
  var beat; // timer of the next lease heartbeat
  var lastBeat; // Date.now() of the last answer that renewed the leases

  var digits = (s) => s.replace(/\D/g, "");

  // numberOf is the entry of ph whose site number w writes: n.forms maps
  // the digits of each way it is written (cc+nsn, trunk+nsn, nsn) to the
  // replacement's in that form, "" when it has none of that length.
  var numberOf = (w) => ph.find((n) => digits(w) in n.forms);

  // format writes n's replacement as w, a written form of n's site number,
  // is written: "8 (487) 275-14-04" -> "8 (495) 000-00-01"; else n.text.
  var format = (w, n) => {
    var r = n.forms[digits(w)];
    var i = 0;
    return r ? w.replace(/\d/g, () => r[i++]) : n.text;
  };

  // each returns str with every site number written in it replaced by
  // fn(written); a run of digits that only contains one is not one. (A
  // character before the start or past the end is undefined: no digit.)
  var each = (str, fn) => str.replace(phRe, (w, i) => (/\d/.test(str[i - 1] + str[i + w.length]) ? w : fn(w, i)));

  // entry is a getters' entry of number n shown under id as text or img,
  // with its type t (the getters give copies without it: see pub).
  var entry = (id, n, text, img) => ({ id, img: img || null, text, raw: n.raw, t: n.type });

  // pub is a list entry as the getters give it: a copy, without t.
  // (Written for the minifier, as are add's spread arguments and filled
  // as a Set: the bytes the alt's replacement costs.)
  var pub = ({ id, img, text, raw }) => ({ id, img, text, raw });

  // add records one replaced target for the getters: each of an id once
  // for every way it is shown.
  var add = (...a) => {
    var e = entry(...a);
    if (!list.some((o) => json(o) == json(e))) list.push(e);
  };

  // issued is every number given to the visitor: what replaced targets, and
  // after it each number that replaced none (a page without number markup,
  // a hook that said no), under the id of the site's number it stands for.
  var issued = () => {
    var a = list.slice();
    (ph || []).forEach((n) => a.some((e) => e.raw == n.raw) || a.push(entry("number=" + n.site.raw, n, n.text)));
    return a;
  };

  // targetId is the reference's id of a target element: "#comagic_phone",
  // ".comagic_phone", "[name=comagic_phone]" or the site's selector.
  var targetId = (el) => sels.find((s) => el.matches(s));

  // change plans setting o's property k (an attribute with attr; null
  // removes it) to v, and how to put back what it was unless the page has
  // changed it since.
  var change = (ops, o, k, v, attr) => {
    var get = () => (attr ? o.getAttribute(k) : o[k]);
    var put = (x) => (!attr ? (o[k] = x) : x == null ? o.removeAttribute(k) : o.setAttribute(k, x));
    ops.push(() => {
      var old = get();
      put(v);
      undo.push(() => get() == v && put(old));
    });
  };

  // scan plans the replacements in root (an element or a text node): it
  // records them in list and pushes on ops the functions that make them.
  // While the page is still loading, an element may not have its text yet,
  // so targets are only filled once it has loaded.
  var scan = (root, ops) => {
    var p = root.parentNode;
    if (root.nodeType == 3 && p && p.nodeType == 1 && !SKIP.test(p.nodeName)) swapRun([root], ops);
    if (root.nodeType != 1) return;
    var all = (sel) => [...(root.matches(sel) ? [root] : []), ...root.querySelectorAll(sel)];
    // A target whose text holds no site number shows the first one's
    // replacement in place of its content; a field, in its value; an
    // image, in a picture the appliance draws. Another that cannot show
    // text is left, and not reported.
    if (!loading())
      all(sels.join()).forEach((el) => {
        var field = /^(INPUT|TEXTAREA)$/.test(el.nodeName);
        var k = field ? "value" : "textContent";
        if (filled.has(el)) return;
        if (el.nodeName == "IMG") return swapImage(el, ops);
        if (NOTEXT.test(el.nodeName)) return;
        var v = el[k];
        var n = ph[0];
        var has = 0;
        each(v, (w) => (has = w));
        if (has && !field) return; // its text nodes are swapped in place
        var nv = has ? each(v, (w) => swapped(w, el)) : n.text;
        if (!has) add(targetId(el), n, nv);
        filled.add(el);
        change(ops, el, k, nv);
      });
    // Runs of text inside one block: a number may be written across
    // several nodes (<span>8 (487)</span> 275-14-04).
    var tw = d.createTreeWalker(root, 5); // NodeFilter.SHOW_ELEMENT | SHOW_TEXT
    var run = [];
    var blk = null;
    for (var node = root; node; node = tw.nextNode()) {
      p = node.parentNode;
      var b = p;
      while (b && INLINE.test(b.nodeName)) b = b.parentNode;
      if (node.nodeType == 1 ? !INLINE.test(node.nodeName) : b != blk || SKIP.test(p.nodeName)) {
        swapRun(run, ops);
        run = [];
      }
      blk = b;
      // An element's title and aria-label are runs of their own.
      if (node.nodeType == 1) ATTRS.forEach((k) => (k = node.getAttributeNode(k)) && swapRun([k], ops, node));
      else if (!SKIP.test(p.nodeName)) run.push(node);
    }
    swapRun(run, ops);
    // Links that dial: tel: and callto:, the scheme written in any case.
    // A link's protocol is its scheme (in lower case), and its href the
    // whole URL as the browser reads it: not its pathname, which is empty
    // in "tel://+7..." (a host, to the URL parser), as many sites write
    // it; an element that is no link (<link>, SVG) has no protocol. A malformed %-escape is not a number
    // of ours. A sip: link and a messenger's are left as they are. The
    // number becomes +digits; what follows it stays: an extension
    // (;ext=123) or the pauses of a dial string (,123 p123).
    all("[href]").forEach((a) => {
      var m = "";
      var k = a.protocol;
      var p = /^(tel|callto):$/.test(k) && safe(decodeURIComponent, 1)(a.href);
      if (p) each(p, (w) => (m = m || w));
      if (!m) return;
      var n = numberOf(m);
      var id = "number=" + digits(m);
      if (!list.some((e) => e.id == id)) add(id, n, n.text); // a link shows no number: reported when no text of its id is
      change(ops, a, "href", p.replace(m, "+" + n.raw), 1);
    });
  };

  // swapImage plans showing the picture of a number in image el: the one
  // its alt text writes, else the first; drawn in el's font size and
  // colours, which the appliance reads from the computed style as it is
  // (css=, tracker_phone_image.go). Its srcset goes, so that the picture
  // is what is shown.
  var swapImage = (el, ops) => {
    var n = ph[0];
    each(el.alt, (w) => (n = numberOf(w)));
    if (!/^img\/phone\?/.test(n.img)) return; // an answer cached by an older appliance
    var cs = getComputedStyle(el);
    var src = base() + n.img + "&css=" + encodeURIComponent(cs.fontSize + ";" + cs.color + ";" + cs.backgroundColor);
    filled.add(el);
    add(targetId(el), n, null, src);
    change(ops, el, "srcset", null, 1);
    change(ops, el, "src", src, 1);
  };

  // swapped is w, a site number written in el (or in the text of a
  // target's descendant), written as its replacement; it records it for
  // the getters under the target's id, or "number=" + its digits. A
  // number in the text marks the target as showing its number, not to be
  // filled; one in an attribute (a, set) does not: a target with a
  // titled number still needs its text or picture once the page has
  // loaded. An image target's attributes are not recorded: its picture is
  // (swapImage), and they are replaced only once the page has loaded, so
  // that swapImage, which may come then, reads the number its alt wrote.
  var swapped = (w, el, a) => {
    var n = numberOf(w);
    var s = format(w, n);
    var t = el.closest(sels.join());
    if (t && t.nodeName == "IMG") return loading() ? w : s;
    if (t && !a) filled.add(t);
    add(t ? targetId(t) : "number=" + digits(w), n, s);
    return s;
  };

  // swapRun plans the replacement of the site numbers written in a run of
  // text nodes read as one text, or in an attribute node of element el.
  // Each character of a number is written back into the node it came from,
  // so every node keeps its markup; a replacement written differently
  // (another length) goes whole into the node where the number starts.
  // (textContent is a text node's data, an attribute's value.)
  var swapRun = (run, ops, el) => {
    var str = "";
    var at = []; // at[i]: [node index, offset] of str's character i
    run.forEach((node, k) => {
      for (var i = 0; i < node.textContent.length; i++) at.push([k, i]);
      str += node.textContent;
    });
    if (!/\d/.test(str)) return;
    var chars = []; // chars[k]: node k's characters, once one changes
    each(str, (w, i) => {
      var s = swapped(w, el || run[at[i][0]].parentNode, el);
      for (var j = 0; j < w.length; j++) {
        var a = at[i + j];
        var c = (chars[a[0]] = chars[a[0]] || run[a[0]].textContent.split(""));
        c[a[1]] = s.length == w.length ? s[j] : j ? "" : s;
      }
      return s;
    });
    chars.forEach((c, k) => change(ops, run[k], "textContent", c.join("")));
  };

  var runAll = (ops) => {
    ops.forEach((op) => op());
    if (watcher) watcher.takeRecords(); // our own changes: nothing new to scan
  };

  // show makes p (a "phones" answer, or null) what the page shows: it puts
  // back what an earlier answer replaced, asks __cs_onReplacePhones with
  // the numbers p gives (what it would replace first), and replaces unless
  // told not to.
  // It runs in one task, so the page is never painted in between.
  var show = (p) => {
    while (undo.length) undo.pop()();
    list = [];
    filled = new Set();
    allowed = false;
    ph = null;
    // (The appliance gives digits; an answer of another version of it is
    // not shown.)
    var nums = (p && p.v == 2 && p.numbers) || [];
    if (!nums.length) return;
    ph = nums;
    renew = p.renew;
    // Longer forms first: at one place, cc+nsn wins over a bare nsn.
    // Between digits: spaces (no-break ones too: \s), brackets, dots,
    // hyphens and the dashes a typographer sets (U+2010-2015).
    phRe = new RegExp("\\+?\\(?(?:" + nums.flatMap((n) => Object.keys(n.forms)).sort((a, b) => b.length - a.length).map((f) => f.split("").join("[\\s().\u2010-\u2015-]*")).join("|") + ")", "g");
    sels = TARGETS.concat(
      // A selector the browser rejects is skipped.
      p.selectors.filter(safe((s) => d.querySelector(s) || 1, 1))
    );
    var ops = [];
    scan(d.documentElement, ops);
    // The reference's hook, with its list of phones "like getPhones'"
    // (the reference): what would be replaced, then each number given that
    // would replace nothing, so that a hook that shows the number itself
    // (and says no) has it on a page without number markup too. True
    // replaces, false does not. Any other
    // falsy answer counts as false, as in a hook written "return true
    // when ..."; one that throws (or is no function) leaves the default,
    // replacing.
    var hook = w.__cs_onReplacePhones;
    allowed = true;
    try {
      allowed = !!hook(issued().map(pub));
    } catch (e) {
      warn("__cs_onReplacePhones threw: " + e);
    }
    if (allowed) runAll(ops);
    else list = [];
  };

  // watch starts replacing in what changes on the page: while it loads with
  // a cached answer applied, and for good with setDynamicalReplacement.
  // Only what changed is scanned: nodes added, text changed in place and
  // links whose href changed (a framework's re-render keeps its nodes and
  // sets their text and attributes); the records of its own changes are
  // dropped, so a page that changes nothing costs nothing.
  var watch = () => {
    if (watcher) return;
    watcher = new MutationObserver(
      safe((records) => {
        var ops = [];
        if (ph && allowed) records.forEach((r) => (r.type == "childList" ? r.addedNodes : [r.target]).forEach((n) => scan(n, ops)));
        runAll(ops);
      })
    );
    watcher.observe(d.documentElement, { childList: true, subtree: true, characterData: true, attributeFilter: ["href", ...ATTRS] });
  };

  // scanAll replaces what is not replaced yet: nodes the page added since.
  var scanAll = () => {
    var ops = [];
    if (ph && allowed) scan(d.documentElement, ops);
    runAll(ops);
  };

  // pageLoaded finishes a cached answer applied while the page loaded:
  // targets are filled now that they have their text, and what the parser
  // adds is no longer watched unless setDynamicalReplacement asks.
  var pageLoaded = () => {
    if (!dynamical && watcher) watcher = watcher.disconnect();
    scanAll();
  };

  // apply shows p, unless the page shows it already; then, when rescan is
  // set, only what was not replaced yet is. The hook is asked once per
  // answer that changes something, and again when the page has defined
  // its own since (after the install code, which a cached answer may run
  // before).
  var apply = (p, rescan) => {
    var key = json(p && [p.numbers, p.selectors]);
    if (key != phKey || phHook !== w.__cs_onReplacePhones) {
      phKey = key;
      phHook = w.__cs_onReplacePhones;
      show(p);
    } else if (rescan) scanAll();
  };

  // renewed applies p, the "phones" of an answer that renewed the
  // visitor's leases (a page view's, rescanning the page, or a
  // heartbeat's), keeps it for the next page view of this ci for as long as
  // its "ttl" allows, and sets the next heartbeat.
  var renewed = (p, rescan) => {
    lastBeat = Date.now();
    apply(p, rescan);
    storage(PH, ph && json({ phones: p, exp: lastBeat + p.ttl * 1e3, ci }));
    schedule();
  };

  // schedule sets the next heartbeat, "renew" seconds after the last
  // renewal, while the page is visible and shows a leased number; hidden,
  // it sends none, so a closed or background tab lets the number go.
  // The heartbeat's answer changes the page only when it names other
  // numbers (a lease that lapsed was claimed anew). A failed one is tried
  // again "renew" seconds later: the lease lives several of those.
  var schedule = () => {
    clearTimeout(beat);
    if (cred && ph && renew && allowed && !d.hidden)
      beat = setTimeout(
        safe(() =>
          enqueue({
            p: "lease",
            b: {},
            c: 1,
            r: 1,
            done_: (v) => (v.success ? renewed(v.result && v.result.phones) : ((lastBeat = Date.now()), schedule())),
          })
        ),
        lastBeat + renew * 1e3 - Date.now()
      );
  };

  // --- the widget chunk, loaded on first use --------------------------------

  var widget; // a promise of the chunk's API, while it loads or once loaded

  // withWidget runs use(api) once the chunk is loaded, or fallback(error)
  // when it cannot be (the next call tries again).
  var withWidget = (use, fallback) => {
    widget =
      widget ||
      // (An absolute URL: a script of another origin imports with no base.
      // A fresh fragment each time: a browser may remember a failed import
      // of a URL for the page's life, as Chromium 148 does, and the next
      // call must fetch the chunk again.)
      import(abs(__CS_WIDGET_PATH__) + "#" + Date.now()).then(() => w.__cs_widget(core));
    widget.then(safe(use), () => {
      widget = 0;
      fallback("widget not loaded");
    });
  };

  // A visitor who starts filling in a form may send it as the page leaves:
  // the chunk that sends it loads while they type, so the form's writes are
  // not left for the next page view (flush).
  d.addEventListener("focusin", () => withWidget(Boolean, Boolean));

  // --- chat: the operators' status; the chat itself is in the widget chunk --

  var operators = false; // getOperatorStatus(): an operator of the site is online
  var chatPoll;
  var chatting; // the widget chunk keeps the status current

  // chatOf takes the site's chat state {operators, button} from a hit's
  // answer or the status poll (httpd/chat-protocol.md). With an operator
  // online, the floating button on, or a chat of this visitor kept in
  // localStorage, the widget chunk takes over: its socket keeps the status
  // current and shows the visitor in the console. Else the status is
  // polled every 30 s while the page is visible.
  var chatOf = (c) => {
    clearTimeout(chatPoll);
    if (!c) return;
    operators = !!c.operators;
    if (chatting || operators || c.button || storage("_cs_chat"))
      return withWidget((wd) => {
        chatting = true;
        wd.chat(c);
      }, warn);
    chatPoll = setTimeout(
      safe(() =>
        d.hidden
          ? chatOf(c)
          : fetch(base() + "t/v1/chat/status?k=" + encodeURIComponent(account), { credentials: "omit" })
              .then((r) => r.json())
              .then(
                (v) => chatOf(v && v.success ? { operators: v.result.operators, button: c.button } : c),
                () => chatOf(c)
              )
      ),
      3e4
    );
  };

  // core is what the widget chunk may use of this file.
  var core = {
    // site is the site key (setCsAccount).
    site_: () => account,
    // cred is the last hit's answer ({ci, key, ...}), undefined before it.
    cred_: () => cred,
    // operators sets (with v) and answers getOperatorStatus().
    operators_: (v) => (v == null ? operators : (operators = !!v)),
    // enqueue queues an outbox item (see the outbox).
    enqueue_: enqueue,
    phoneMask_: () => phoneMask,
    base_: base,
    warn_: warn,
  };

  // calls are the chunk's API calls made while it loads, {f: name, a:
  // args}, in call order; the page's writes among them are kept for the
  // next page view when the page hides before it has loaded (see flush).
  var calls = [];

  // failure is the answer of the chunk's call name when it was not made;
  // those whose answers carry a result have one (as the chunk's own).
  var failure = (name, err) => Object.assign(fail(err), { sitePhoneCall: { result: { status: 3, code: "not_sent" } }, addOfflineRequest: { result: { code: "not_sent" } } }[name]);

  // widgetCall makes an API function of the widget chunk's function name.
  // Its callback (the first function argument) gets {success:false} when
  // the chunk cannot be loaded.
  var widgetCall =
    (name) =>
    (...a) => {
      var cb = a.find(isFn);
      var call = { f: name, a, cb };
      // take is whether the call is still to be made, and forgets it.
      var take = () => calls.includes(call) && (calls = calls.filter((c) => c != call));
      calls.push(call);
      withWidget(
        (wd) => take() && wd[name](...a),
        (err) => take() && (cb ? answer(cb, failure(name, err)) : warn(name + ": " + err))
      );
    };

  // --- the API ---------------------------------------------------------------

  var Comagic = {
    push: (...cmds) => (cmds.forEach(run), q.length),

    // trackEvent(category, action, name?, value?): the appliance refuses an
    // event without category or action, and says so on the console.
    trackEvent: safe((...x) => {
      var [c, a, n, v] = x.map(text);
      enqueue({ p: "event", b: { c, a, n, v }, c: 1, h: 1, name_: "trackEvent" });
    }),

    getVisitorId: () => ids(0),

    getSessionId: () => ids(1),

    // getCredentials has every field of the reference always, and
    // comagic_id, the ci, which the reference's /vc/s/ takes from it
    // (ci=comagic_id); those not known before the first hit's answer are
    // null. A lead sent with them is never lost for being sent early: the
    // URLs are the appliance this file came from until the answer names
    // it, and the key is the one kept beside the ci of the visitor's last
    // page view, or for a first-time visitor the site key, which the
    // appliance takes as a lead of the site without a visit.
    getCredentials() {
      // (Ids are positive, keys and URLs not empty.)
      var c = cred || {};
      var url = c.server_url || abs("");
      return {
        site_key: account,
        key: keyOf() || null,
        uri: url,
        visitor_id: ids(0) || null,
        hit_id: c.hit_id || null,
        session_id: ids(1) || null,
        consultant_server_url: url,
        comagic_id: ci || null,
      };
    },

    // reinitTrackView records a page view of an SPA's new route: the
    // current URL and title, with the previous route as referrer; the
    // numbers are shown as on a page load (see view).
    reinitTrackView: safe(() => view()),

    // getOperatorStatus is true while at least one operator of the site is
    // online, as the last hit's answer, status poll or chat socket said.
    getOperatorStatus: () => operators,

    Captcha: {
      get_captcha: widgetCall("getCaptcha"),
    },

    // getPhones is every number given to the visitor, in the reference's
    // shapes: [] before an answer. getDTPhones is those of them that are
    // reserved for the visitor (dynamic), null when there are none.
    getPhones: () => issued().map(pub),

    getDTPhones() {
      var a = issued()
        .filter((e) => e.t == "dynamic")
        .map(pub);
      return a[0] ? a : null;
    },

    // getReplacedPhones() is {id: raw} of what was replaced on the page;
    // ("static") and ("dynamic") are {raw: [ids]} of that type only; none
    // ({}) before an answer or when __cs_onReplacePhones said no.
    getReplacedPhones(type) {
      var o = {};
      list.forEach((e) => {
        if (!type) o[e.id] = e.raw;
        else if (e.t == type) o[e.raw] = [...new Set(o[e.raw]).add(e.id)];
      });
      return o;
    },
  };

  var ComagicWidget = {
    openSitePhonePanel: widgetCall("openSitePhonePanel"),
    sitePhoneCall: widgetCall("sitePhoneCall"),
  };

  // The calls that answer later, or only open a form, are the widget
  // chunk's: it loads on the first of them.
  "addVisitorInfo addOfflineRequest setProperty deleteProperty hasProperty getProperty openSiteRequestPanel openChatWindow"
    .split(" ")
    .forEach((n) => (Comagic[n] = widgetCall(n)));


  // --- commands ----------------------------------------------------------------

  var commands = {
    setCsAccount(key) {
      account = String(key || "");
      start();
    },
    setCsHost(h) {
      if (h) host = String(h);
    },
    setDynamicalReplacement(on) {
      dynamical = !!on;
      if (dynamical) watch();
      else if (!loading()) pageLoaded(); // else pageLoaded stops it when the page has loaded
    },
    setUIPhoneMaskFormat(mask) {
      phoneMask = text(mask) || "";
    },
  };

  // run executes one queued command: ["name", args...].
  var run = safe((cmd) => {
    if (!Array.isArray(cmd)) return warn("a command is an array", 1);
    var name = String(cmd[0]);
    var own = (o) => o.hasOwnProperty(name) && isFn(o[name]) && o[name];
    var fn = own(commands) || (name != "push" && own(Comagic));
    fn ? fn(...cmd.slice(1)) : warn('unknown command "' + name + '"', "cmd:" + name);
  });

  // --- start -------------------------------------------------------------------

  safe(() => {
    var v = cookie(CI) || storage(CI);
    ci = ciRe.test(v) ? v : "";
    if (!isFn(w.__cs_onReplacePhones)) w.__cs_onReplacePhones = (phones) => true;
    w.Comagic = Comagic;
    w.ComagicWidget = ComagicWidget;

    var pending = q.slice();
    q.length = 0;
    q.csLoaded = true;
    q.push = Comagic.push;
    w.__cs = q;
    pending.forEach(run);
    loaded = true;
    // Anti-flicker: the last page view's numbers, at once and in what the
    // parser adds until the page has loaded; the hit's answer follows.
    early();
    start();
  })();
})(window, document);
