/*
 * cs.js — the core of the appliance's tracking snippet, a drop-in for
 * CoMagic's: the same globals (Comagic, ComagicWidget, __cs,
 * window.__cs_onReplacePhones), arguments, callbacks and result shapes.
 *
 * The server (httpd/snippet.go) minifies this file with esbuild once at
 * start and serves it at /static/cs.min.js. __CS_WIDGET_PATH__ is replaced
 * at that build with the content-hashed path of the widget chunk
 * ("static/cs-widget.<hash>.min.js"), loaded only on first use of a widget
 * call. The wire format is httpd/tracker-protocol.md.
 *
 * Model
 *   - The page pushes commands on `__cs` before this file has loaded; they
 *     run in order here, and after that `__cs.push` / `Comagic.push` run a
 *     command at once.
 *   - Every request to the appliance goes through one outbox, sent one at a
 *     time in call order, so `setProperty(n); hasProperty(n, cb)` sees the
 *     property. Calls that need credentials (everything but a hit) wait for
 *     the first hit's answer, which brings the visitor's ci and key.
 *   - When the page is hidden or unloads, writes still in the outbox go out
 *     with navigator.sendBeacon; writes that have no credentials at all
 *     (a first-time visitor who leaves before the first answer) are kept in
 *     localStorage and sent after the next page view's hit.
 *   - No API call throws into the page: every entry point is wrapped, and a
 *     callback always gets an answer, {success:false, error:"..."} when the
 *     appliance cannot be reached. Callbacks run asynchronously, always.
 */
(function (w, d) {
  "use strict";

  var q = w.__cs;
  if (q && q.csLoaded) return; // the install code was pasted twice
  if (!Array.isArray(q)) q = [];

  var CI = "_cs_ci"; // cookie and localStorage name of the compound id
  var KEY = "_cs_key"; // cookie: the credential key of the ci's session, beside _cs_ci
  var CRED = "_cs_cred"; // localStorage: last credentials, for unload beacons
  var LATER = "_cs_later"; // localStorage: writes kept for the next page view
  var TWO_YEARS = 63072000; // seconds
  var TIMEOUT = 10000; // ms before a request counts as failed
  var LATER_MAX = 20;

  // --- configuration, set by commands -------------------------------------

  var account = ""; // site key, from setCsAccount
  var host = scriptBase(); // "//host/" from setCsHost, else where this file came from
  var dynamical = false; // setDynamicalReplacement: replace numbers in nodes added later
  var phoneMask = ""; // setUIPhoneMaskFormat; used by the callback form in the widget chunk

  // --- visitor state --------------------------------------------------------

  var ci = ""; // "visitor.session.first_visit_unix", "" for a first-time visitor
  var cred = null; // answer of the last successful hit: {ci, visitor_id, session_id, hit_id, key, server_url}
  var lastURL = ""; // URL of the last hit, the referrer of the next SPA hit
  var loaded = false; // the commands queued before this file ran have run
  var started = false; // the page view's hit was queued
  var failed = ""; // why no credentials can come (no account, hit failed); "" while they may

  // --- the outbox -----------------------------------------------------------

  // An item is {p: path under t/v1/, b: its own body fields, hit: a page
  // view (sends the current ci), c: needs credentials (ci, key), h: sends the
  // hit id too, r: a read (only its answer matters: never beaconed), cb: the
  // page's callback, done: the snippet's own handler of the answer, name:
  // the API call, for the console when a call without callback fails}.
  var outbox = [];
  var busy = false;

  function base() {
    return host.replace(/\/?$/, "/");
  }

  // scriptBase is the appliance this file was loaded from, the default host.
  function scriptBase() {
    var s = d.currentScript;
    return s && s.src ? s.src.replace(/static\/[^/]*$/, "") : "";
  }

  // --- small helpers ------------------------------------------------------

  var warned = {};
  function warnOnce(key, msg) {
    if (warned[key]) return;
    warned[key] = 1;
    warn(msg);
  }
  function warn(msg) {
    try {
      console.warn("[cs] " + msg);
    } catch (e) {}
  }

  // answer calls cb with v asynchronously; an exception in the page's own
  // callback is reported on the console and does not break the snippet.
  function answer(cb, v) {
    if (typeof cb != "function") return;
    setTimeout(function () {
      try {
        cb(v);
      } catch (e) {
        try {
          console.error(e);
        } catch (e2) {}
      }
    }, 0);
  }

  function fail(error) {
    return { success: false, error: error };
  }

  // safe wraps an API function so that it never throws into the page.
  function safe(fn, fallback) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (e) {
        warn("internal error: " + e);
        return typeof fallback == "function" ? fallback() : fallback;
      }
    };
  }

  // cut shortens s to at most max UTF-8 bytes without splitting a character
  // (page-derived fields: the server refuses longer ones).
  function cut(s, max) {
    s = s == null ? "" : String(s);
    if (s.length * 3 <= max) return s;
    for (var i = 0, n = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? 4 : c >= 0xdc00 && c < 0xe000 ? 0 : 3;
      if (n > max) break;
    }
    return s.slice(0, i);
  }

  // text is an optional text argument: undefined stays absent.
  function text(v) {
    return v == null ? undefined : String(v);
  }

  function storage(key, value) {
    try {
      var ls = w.localStorage;
      if (value === undefined) return ls.getItem(key);
      if (value === null) ls.removeItem(key);
      else ls.setItem(key, value);
    } catch (e) {} // storage disabled or full: the cookie still works
    return null;
  }

  function parse(s) {
    try {
      return JSON.parse(s);
    } catch (e) {
      return null;
    }
  }

  // --- ci: first-party cookie + localStorage --------------------------------

  var ciRe = /^\d+\.\d+\.\d+$/;

  function readCI() {
    var m = null;
    try {
      m = /(?:^|;\s*)_cs_ci=([\d.]+)/.exec(d.cookie);
    } catch (e) {} // sandboxed frame
    var v = m ? m[1] : storage(CI);
    return v && ciRe.test(v) ? v : "";
  }

  // cookieKey is the key in the cookies when they hold ci v: what a page on
  // another sub-domain (its own, empty localStorage) continues the visitor
  // with.
  function cookieKey(v) {
    try {
      var c = d.cookie;
      var m = /(?:^|;\s*)_cs_ci=([\d.]+)/.exec(c);
      var k = /(?:^|;\s*)_cs_key=([0-9a-f]{32})(?:;|$)/.exec(c);
      return m && k && m[1] == v ? k[1] : "";
    } catch (e) {
      return "";
    }
  }

  var cookieDomain; // undefined until found; "" for a host-only cookie

  // findCookieDomain is the widest domain that takes a cookie (example.com
  // for www.example.com and for example.com itself), so that one visitor is
  // one visitor across the site's sub-domains; a public suffix (co.uk)
  // refuses it. An IP address or a single label keeps a host-only cookie.
  function findCookieDomain() {
    var h = location.hostname;
    var parts = h.split(".");
    cookieDomain = "";
    if (parts.length < 2 || /^[\d.]+$|:/.test(h)) return;
    for (var i = parts.length - 2; i >= 0; i--) {
      var dom = parts.slice(i).join(".");
      d.cookie = "_cs_t=1; path=/; domain=" + dom;
      if (/(?:^|;\s*)_cs_t=1/.test(d.cookie)) {
        d.cookie = "_cs_t=; path=/; max-age=0; domain=" + dom;
        cookieDomain = dom;
        return;
      }
    }
  }

  // saveCI remembers the visitor: ci and its session's key, in cookies on
  // the widest domain (so the site's other sub-domains continue the
  // visitor) and in localStorage.
  function saveCI(v, key) {
    ci = v;
    storage(CI, v);
    try {
      if (cookieDomain === undefined) findCookieDomain();
      var attrs =
        "; path=/; max-age=" + TWO_YEARS + "; SameSite=Lax" +
        (cookieDomain ? "; domain=" + cookieDomain : "") +
        (location.protocol == "https:" ? "; Secure" : "");
      d.cookie = CI + "=" + v + attrs;
      if (/^[0-9a-f]{32}$/.test(key)) d.cookie = KEY + "=" + key + attrs;
    } catch (e) {}
  }

  // ids of a ci: [visitor, session], numbers, or undefined for "".
  function ciPart(i) {
    return ci ? +ci.split(".")[i] : undefined;
  }

  // --- requests -------------------------------------------------------------

  // body is an item's JSON with the credentials it needs.
  function body(it, cr) {
    var b = { k: account };
    if (it.hit && ci) {
      b.ci = ci; // read when sent: an earlier hit may have renewed it
      // The session's key vouches for the ci (its ids are guessable, the
      // key is not; a ci without it is a new visitor): from this page's
      // last answer, the saved credentials, or the cookie beside the ci.
      var saved = cred && cred.ci == ci ? cred : parse(storage(CRED));
      if (saved && saved.ci == ci && (cred == saved || saved.site == account)) b.key = saved.key;
      else b.key = cookieKey(ci) || undefined;
    }
    if (it.c) {
      b.ci = cr.ci;
      b.key = cr.key;
      if (it.h) b.hi = cr.hit_id;
    }
    for (var f in it.b) b[f] = it.b[f];
    return JSON.stringify(b);
  }

  // post sends one request; done gets the answer {success, result|error}
  // exactly once, also when the appliance does not answer in time.
  function post(path, json, done) {
    var ctl = w.AbortController ? new AbortController() : null;
    var over = false;
    var end = function (v) {
      if (over) return;
      over = true;
      clearTimeout(timer);
      done(v);
    };
    var timer = setTimeout(function () {
      if (ctl) ctl.abort();
      end(fail("the appliance did not answer in time"));
    }, TIMEOUT);
    var status = 0;
    fetch(base() + "t/v1/" + path, {
      method: "POST",
      body: json, // a string: Content-Type text/plain, no CORS preflight
      keepalive: true,
      credentials: "omit",
      signal: ctl ? ctl.signal : undefined,
    })
      .then(function (r) {
        status = r.status;
        return r.json();
      })
      .then(
        function (v) {
          // An answer with a result is given as it is: sitePhoneCall's
          // statuses 1-4 come as {success:false, result:{status, code}},
          // and its refused requests (4xx) and addOfflineRequest's with a
          // result too (tracker-protocol.md §6, §8).
          end(v && (v.success === true || (v.result && typeof v.result == "object")) ? v : fail((v && v.error) || "HTTP " + status));
        },
        function (e) {
          end(fail(status ? "HTTP " + status : "appliance unreachable: " + ((e && e.message) || e)));
        }
      );
  }

  // enqueue adds a call to the outbox, in call order.
  function enqueue(it) {
    outbox.push(it);
    pump();
  }

  // pump sends the outbox's first item once the previous one is answered.
  function pump() {
    if (busy || !outbox.length || (!started && !failed)) return;
    var it = outbox.shift();
    if (it.c && !cred) {
      if (!failed) {
        outbox.unshift(it); // the hit's answer is still to come
        return;
      }
      finish(it, fail(failed));
      return pump();
    }
    busy = true;
    try {
      post(it.p, body(it, cred), function (v) {
        busy = false;
        finish(it, v);
        pump();
      });
    } catch (e) {
      busy = false; // fetch itself threw (replaced or blocked by the page)
      finish(it, fail("request failed: " + e));
      pump();
    }
  }

  function finish(it, v) {
    try {
      if (it.done) it.done(v);
    } catch (e) {
      warn("internal error: " + e);
    }
    // A call whose answers carry a result has one when the request never
    // got an answer from the appliance too.
    if (!v.success && !v.result && it.result) v.result = it.result();
    if (it.cb) answer(it.cb, v);
    else if (!v.success && it.name) warn(it.name + " failed: " + v.error);
  }

  // --- page hide: beacons ---------------------------------------------------

  // flush sends the outbox's writes with sendBeacon (the page may never run
  // again); reads stay, their answers matter only if the page comes back.
  function flush() {
    var keep = [];
    var later = [];
    var cr = cred || stored();
    outbox.forEach(function (it) {
      if (it.r) return keep.push(it);
      if (it.c && !cr) {
        later.push({ p: it.p, b: it.b, h: it.h, s: account });
        return finish(it, fail("the page was hidden before the appliance answered; kept for the next page view"));
      }
      it.done = null; // a beacon has no answer: a hit's ci and key stay as they are
      var ok = false;
      try {
        ok = navigator.sendBeacon(base() + "t/v1/" + it.p, body(it, cr));
      } catch (e) {}
      finish(it, ok ? { success: true, result: null } : fail("the browser refused to send on page hide"));
    });
    outbox = keep;
    if (later.length) {
      var old = parse(storage(LATER)) || [];
      storage(LATER, JSON.stringify(old.concat(later).slice(-LATER_MAX)));
    }
  }

  // stored is the last credentials of this site saved by an earlier page.
  function stored() {
    var c = parse(storage(CRED));
    return c && c.site == account && c.ci == ci ? c : null;
  }

  // replay queues the writes an earlier page kept for later.
  function replay() {
    var later = parse(storage(LATER));
    if (!Array.isArray(later)) return;
    storage(LATER, null);
    later.reverse().forEach(function (l) {
      if (l && l.s == account) outbox.unshift({ p: l.p, b: l.b, c: true, h: l.h, name: l.p + " (kept from an earlier page)" });
    });
  }

  function onHide() {
    try {
      if (d.visibilityState == "hidden") flush();
    } catch (e) {}
  }
  w.addEventListener("pagehide", safe(flush));
  d.addEventListener("visibilitychange", onHide);

  // --- page views -----------------------------------------------------------

  // hit queues a page view with the current URL and title, in front of the
  // calls waiting for credentials when it is the page's first.
  function hit(first) {
    var u = location.href;
    var it = {
      p: "hit",
      hit: true,
      b: { u: cut(u, 2048), r: cut(first ? d.referrer : lastURL, 2048), t: cut(d.title, 512) },
      done: function (v) {
        var r = v.result || {};
        if (v.success && !ciRe.test(r.ci)) v = fail("the appliance answered no ci");
        if (!v.success) {
          if (!cred) failed = "the page view was not recorded: " + v.error;
          warn("page view not recorded: " + v.error);
          return;
        }
        cred = r;
        failed = "";
        saveCI(r.ci, r.key);
        storage(CRED, JSON.stringify({ site: account, ci: r.ci, key: r.key, hit_id: r.hit_id, server_url: r.server_url }));
        replay();
        replacePhones(r.phones);
        chatOf(r.chat);
      },
    };
    lastURL = u;
    if (first) outbox.unshift(it);
    else outbox.push(it);
  }

  // start sends the page view's hit once the page is parsed (for its title)
  // and the site key is known; calls queued before it wait behind it.
  function start() {
    // Before the queued commands ran, a later setCsHost may still change
    // where the hit goes.
    if (started || !loaded || d.readyState == "loading") return;
    if (!account) {
      // Calls answer with the failure rather than wait for ever.
      failed = "setCsAccount was not called: no site key";
      warnOnce("account", failed);
      pump();
      return;
    }
    started = true;
    failed = "";
    hit(true);
    pump();
  }
  d.addEventListener("DOMContentLoaded", safe(start));

  // --- number replacement (tracker-protocol.md §7) ---------------------------
  //
  // A "phones" answer (of a hit, of a lease heartbeat, or cached from the
  // last page view) names the site's own numbers and what replaces each.
  // Targets are elements with id, class or name comagic_phone, elements of
  // the site's extra selectors, text (a number may run across the inline
  // elements of one block), form fields and tel: links. A written number
  // keeps its format, on every page view: the replacement's digits take
  // the places of the original's, in the nodes they were in. Everything replaced is recorded with a way back, so that a
  // later answer (a new lease, a hook that now says no) starts from the
  // page as it was. An image target shows a picture of its number that
  // the appliance draws from a URL it signed (the answer's img); its URL
  // is the getters' img.

  var PH = "_cs_ph"; // localStorage: {phones, exp, ci}, the last answer for the next page view
  var TARGETS = ["#comagic_phone", ".comagic_phone", "[name=comagic_phone]"];
  var SKIP = /^(SCRIPT|STYLE|NOSCRIPT|TEXTAREA|TITLE)$/; // text that is not shown as such
  // Elements inside a line of text: a number may run across them.
  var INLINE = /^(A|ABBR|B|BDI|BDO|BIG|CITE|CODE|DATA|DFN|EM|FONT|I|KBD|MARK|NOBR|Q|S|SAMP|SMALL|SPAN|STRONG|SUB|SUP|TIME|TT|U|VAR|WBR)$/;
  var NOTEXT = /^(PICTURE|SOURCE|VIDEO|AUDIO|CANVAS|IFRAME|OBJECT|EMBED|BR|HR|SELECT|svg)$/; // targets that cannot show a number's text
  var ph = null; // the answer applied now, or null
  var phKey; // its numbers and selectors as JSON, to tell a new answer from the same
  var phHook; // the __cs_onReplacePhones that was asked about it
  var phRe = null; // matches any written form of ph's site numbers
  var sels = TARGETS; // target selectors: TARGETS and ph's valid selectors
  var allowed = false; // __cs_onReplacePhones agreed to ph
  var list = []; // what was replaced: getPhones' entries, with t: "static"|"dynamic"
  var undo = []; // functions that put back what was replaced, in order done
  var filled = []; // target elements given a number's text
  var watcher = null; // MutationObserver of added nodes
  var beat = 0; // timer of the next lease heartbeat
  var lastBeat = 0; // Date.now() of the last answer that renewed the leases

  function digits(s) {
    return String(s).replace(/\D/g, "");
  }

  // numberOf is the entry of ph whose site number is written with digits dg
  // (cc+nsn, trunk+nsn or nsn).
  function numberOf(dg) {
    return ph.numbers.filter(function (n) {
      var s = n.site;
      return dg == s.cc + s.nsn || dg == s.trunk + s.nsn || dg == s.nsn;
    })[0];
  }

  // format writes n's replacement as w, a written form of n's site number,
  // is written: "8 (487) 275-14-04" -> "8 (495) 000-00-01". A replacement
  // with another length in that form, or of another country, is n.text.
  function format(w, n) {
    var s = n.site;
    var dg = digits(w);
    var r = dg == s.cc + s.nsn ? n.cc + n.nsn : dg == s.nsn ? n.nsn : n.trunk ? n.trunk + n.nsn : "";
    var i = 0;
    if (r.length != dg.length || n.cc != s.cc) return n.text;
    return w.replace(/\d/g, function () {
      return r[i++];
    });
  }

  // each returns str with every site number written in it replaced by
  // fn(written); a run of digits that only contains one is not one.
  function each(str, fn) {
    return str.replace(phRe, function (w, i) {
      return /\d/.test(str.charAt(i - 1) + str.charAt(i + w.length)) ? w : fn(w, i);
    });
  }

  // add records one replaced target for the getters: each of an id once
  // for every way it is shown.
  function add(id, n, text, img) {
    img = img || null;
    for (var i = 0; i < list.length; i++) if (list[i].id == id && list[i].text == text && list[i].img == img && list[i].raw == n.raw) return;
    list.push({ id: id, img: img, text: text, raw: n.raw, t: n.type });
  }

  // issued is every number given to the visitor: what replaced targets, and
  // after it each number that replaced none (a page without number markup,
  // a hook that said no), under the id of the site's number it stands for.
  function issued() {
    var a = list.slice();
    (ph ? ph.numbers : []).forEach(function (n) {
      for (var i = 0; i < a.length; i++) if (a[i].raw == n.raw) return;
      a.push({ id: "number=" + n.site.cc + n.site.nsn, img: null, text: n.text, raw: n.raw, t: n.type });
    });
    return a;
  }

  // entry is a list entry as the getters give it: a copy, without t.
  function entry(e) {
    return { id: e.id, img: e.img, text: e.text, raw: e.raw };
  }

  // targetId is the reference's id of a target element: "#comagic_phone",
  // ".comagic_phone", "[name=comagic_phone]" or the site's selector.
  function targetId(el) {
    return sels.filter(function (s) {
      return el.matches(s);
    })[0];
  }

  // scan plans the replacements in root (an element or a text node): it
  // records them in list and pushes on ops the functions that make them.
  // While the page is still loading, an element may not have its text yet,
  // so targets are only filled once it has loaded.
  function scan(root, ops) {
    var p = root.parentNode;
    if (root.nodeType == 3 && p && p.nodeType == 1 && !SKIP.test(p.nodeName)) swapRun([root], ops);
    if (root.nodeType != 1) return;
    var all = function (sel) {
      var a = [].slice.call(root.querySelectorAll(sel));
      if (root.matches(sel)) a.unshift(root);
      return a;
    };
    // A target whose text holds no site number shows the first one's
    // replacement in place of its content; a field, in its value; an
    // image, in a picture the appliance draws. Another that cannot show
    // text is left, and not reported.
    if (d.readyState != "loading") {
      all(sels.join()).forEach(function (el) {
        var field = /^(INPUT|TEXTAREA)$/.test(el.nodeName);
        if (filled.indexOf(el) >= 0) return;
        if (el.nodeName == "IMG") return swapImage(el, ops);
        if (!field && NOTEXT.test(el.nodeName)) return;
        var v = field ? el.value : el.textContent;
        var n = ph.numbers[0];
        var has = 0;
        each(v, function (w) {
          return (has = w);
        });
        if (has && !field) return; // its text nodes are swapped in place
        var nv = has
          ? each(v, function (w) {
              return swapped(w, el);
            })
          : n.text;
        if (!has) add(targetId(el), n, nv);
        filled.push(el);
        ops.push(function () {
          if (field) {
            el.value = nv;
            return undo.push(function () {
              if (el.value == nv) el.value = v;
            });
          }
          var old = [].slice.call(el.childNodes);
          var t = d.createTextNode(nv);
          el.replaceChildren(t);
          undo.push(function () {
            if (t.parentNode == el) el.replaceChildren.apply(el, old);
          });
        });
      });
    }
    // Runs of text inside one block: a number may be written across
    // several nodes (<span>8 (487)</span> 275-14-04).
    var tw = d.createTreeWalker(root, 5); // NodeFilter.SHOW_ELEMENT | SHOW_TEXT
    var run = [];
    var blk = null;
    for (var node; (node = tw.nextNode()); ) {
      p = node.parentNode;
      var b = p;
      while (b && INLINE.test(b.nodeName)) b = b.parentNode;
      if (node.nodeType == 1 ? !INLINE.test(node.nodeName) : b != blk || SKIP.test(p.nodeName)) {
        swapRun(run, ops);
        run = [];
      }
      blk = b;
      if (node.nodeType == 3 && !SKIP.test(p.nodeName)) run.push(node);
    }
    swapRun(run, ops);
    all('a[href^="tel:"]').forEach(function (a) {
      var h = a.getAttribute("href");
      var m = "";
      try {
        each(decodeURIComponent(h.slice(4)), function (w) {
          return (m = m || w);
        });
      } catch (e) {} // a malformed %-escape: not a number of ours
      if (!m) return;
      var n = numberOf(digits(m));
      var nh = "tel:+" + n.raw;
      var id = "number=" + digits(m);
      var shown = list.some(function (e) {
        return e.id == id;
      });
      if (!shown) add(id, n, n.text); // a link shows no number: reported when no text of its id is
      ops.push(function () {
        a.setAttribute("href", nh);
        undo.push(function () {
          if (a.getAttribute("href") == nh) a.setAttribute("href", h);
        });
      });
    });
  }

  // swapImage plans showing the picture of a number in image el: the one
  // its alt text writes, else the first; drawn in el's font size and
  // colours. Its srcset goes, so that the picture is what is shown.
  function swapImage(el, ops) {
    var n = ph.numbers[0];
    each(el.alt, function (w) {
      return (n = numberOf(digits(w)));
    });
    if (!/^img\/phone\?/.test(n.img)) return; // an answer cached by an older appliance
    var cs = getComputedStyle(el);
    var src = base() + n.img + "&size=" + Math.max(8, Math.min(96, parseInt(cs.fontSize) || 16)) + hex("color", cs.color) + hex("bg", cs.backgroundColor);
    filled.push(el);
    add(targetId(el), n, null, src);
    ops.push(function () {
      var old = ["src", "srcset"].map(function (a) {
        return el.getAttribute(a);
      });
      el.removeAttribute("srcset");
      el.setAttribute("src", src);
      undo.push(function () {
        if (el.getAttribute("src") != src) return;
        ["src", "srcset"].forEach(function (a, i) {
          if (old[i] == null) el.removeAttribute(a);
          else el.setAttribute(a, old[i]);
        });
      });
    });
  }

  // hex is "&name=" and CSS colour c as hex digits, "" for a transparent one.
  function hex(name, c) {
    var m = /rgba?\((\d+), *(\d+), *(\d+)(?:, *([\d.]+))?/.exec(c);
    if (!m || m[4] == 0) return "";
    return "&" + name + "=" + [m[1], m[2], m[3]].map(function (v) {
      return (256 + +v).toString(16).slice(1);
    }).join("");
  }

  // swapped is w, a site number written in el (or in the text of a
  // target's descendant), written as its replacement; it records it for
  // the getters under the target's id, or "number=" + its digits.
  function swapped(w, el) {
    var n = numberOf(digits(w));
    var s = format(w, n);
    var t = el.closest(sels.join());
    if (t && filled.indexOf(t) < 0) filled.push(t); // shows its number: not to be filled
    add(t ? targetId(t) : "number=" + digits(w), n, s);
    return s;
  }

  // swapRun plans the replacement of the site numbers written in a run of
  // text nodes read as one text. Each character of a number is written
  // back into the node it came from, so every node keeps its markup; a
  // replacement written differently (another length) goes whole into the
  // node where the number starts.
  function swapRun(run, ops) {
    var str = "";
    var at = []; // at[i]: [node index, offset] of str's character i
    run.forEach(function (node, k) {
      for (var i = 0; i < node.data.length; i++) at.push([k, i]);
      str += node.data;
    });
    if (!/\d/.test(str) || !run[0].parentNode) return;
    var chars = []; // chars[k]: node k's characters, once one changes
    each(str, function (w, i) {
      var s = swapped(w, run[at[i][0]].parentNode);
      for (var j = 0; j < w.length; j++) {
        var a = at[i + j];
        var c = (chars[a[0]] = chars[a[0]] || run[a[0]].data.split(""));
        c[a[1]] = s.length == w.length ? s[j] : j ? "" : s;
      }
      return s;
    });
    chars.forEach(function (c, k) {
      var node = run[k];
      var v = node.data;
      var nv = c.join("");
      if (nv == v) return;
      ops.push(function () {
        node.data = nv;
        undo.push(function () {
          if (node.data == nv) node.data = v;
        });
      });
    });
  }

  function runAll(ops) {
    ops.forEach(function (op) {
      op();
    });
    if (watcher) watcher.takeRecords(); // our own changes: nothing new to scan
  }

  // show makes p (a "phones" answer, or null) what the page shows: it puts
  // back what an earlier answer replaced, asks __cs_onReplacePhones with
  // the list of what p would replace, and replaces it unless told not to.
  // It runs in one task, so the page is never painted in between.
  function show(p) {
    while (undo.length) undo.pop()();
    list = [];
    filled = [];
    allowed = false;
    ph = null;
    var forms = [];
    var nums = p && p.v == 1 && Array.isArray(p.numbers) ? p.numbers : [];
    nums = nums.filter(function (n) {
      var s = n && n.site;
      if (!s || !/^\d+$/.test(s.nsn) || !/^\d+$/.test(n.raw)) return false;
      [s.cc + s.nsn, s.trunk + s.nsn, s.nsn].forEach(function (f) {
        f = digits(f); // a cache the page changed gets no say in the pattern
        if (forms.indexOf(f) < 0) forms.push(f);
      });
      return true;
    });
    if (!nums.length) return;
    ph = { numbers: nums, renew: +p.renew || 0 };
    // Longer forms first: at one place, cc+nsn wins over a bare nsn.
    forms.sort(function (a, b) {
      return b.length - a.length;
    });
    phRe = new RegExp(
      "\\+?\\(?(?:" +
        forms
          .map(function (f) {
            return f.split("").join("[\\s().-]*");
          })
          .join("|") +
        ")",
      "g"
    );
    sels = TARGETS.concat(
      (Array.isArray(p.selectors) ? p.selectors : []).filter(function (s) {
        try {
          return d.createDocumentFragment().querySelector(s), true;
        } catch (e) {
          return false; // a selector the browser rejects is skipped
        }
      })
    );
    var ops = [];
    scan(d.documentElement, ops);
    // The reference's hook: true replaces, false does not. Any other
    // falsy answer counts as false, as in a hook written "return true
    // when ..."; one that throws leaves the default, replacing.
    var hook = w.__cs_onReplacePhones;
    allowed = true;
    try {
      if (typeof hook == "function") allowed = !!hook(list.map(entry));
    } catch (e) {
      warn("__cs_onReplacePhones threw, numbers replaced as by default: " + e);
    }
    if (allowed) runAll(ops);
    else list = [];
  }

  // watch starts replacing in nodes added to the page: while it loads with
  // a cached answer applied, and for good with setDynamicalReplacement.
  // Only added nodes are scanned, and the records of its own changes are
  // dropped, so a page that adds nothing costs nothing.
  function watch() {
    if (watcher || !w.MutationObserver) return;
    watcher = new MutationObserver(
      safe(function (records) {
        if (!ph || !allowed) return;
        var ops = [];
        records.forEach(function (r) {
          [].forEach.call(r.addedNodes, function (n) {
            scan(n, ops);
          });
        });
        runAll(ops);
      })
    );
    watcher.observe(d.documentElement, { childList: true, subtree: true });
  }

  function unwatch() {
    if (watcher) watcher.disconnect();
    watcher = null;
  }

  // scanAll replaces what is not replaced yet: nodes the page added since.
  function scanAll() {
    if (!ph || !allowed) return;
    var ops = [];
    scan(d.documentElement, ops);
    runAll(ops);
  }

  // pageLoaded finishes a cached answer applied while the page loaded:
  // targets are filled now that they have their text.
  function pageLoaded() {
    if (!dynamical) unwatch();
    scanAll();
  }

  // apply shows p, unless the page shows it already; then, when rescan is
  // set, only what was not replaced yet is. The hook is asked once per
  // answer that changes something, and again when the page has defined
  // its own since (after the install code, which a cached answer may run
  // before).
  function apply(p, rescan) {
    var key = JSON.stringify(p ? [p.numbers, p.selectors] : null);
    if (key != phKey || phHook !== w.__cs_onReplacePhones) {
      phKey = key;
      phHook = w.__cs_onReplacePhones;
      show(p);
    } else if (rescan) scanAll();
  }

  // cached is the answer the last page view of this ci stored, when it may
  // be shown before this page view's answer: not past its expiry, and not
  // on a URL of a new campaign, which may get another number.
  function cached() {
    var c = parse(storage(PH));
    if (c && c.ci == ci && c.exp > Date.now() && !/[?&](utm_|[gy]clid=|fbclid=)/.test(location.search)) return c.phones;
    storage(PH, null);
  }

  // replacePhones applies the "phones" of a page view's answer, which
  // renewed the visitor's leases, and keeps it for the next page view.
  function replacePhones(p) {
    lastBeat = Date.now();
    apply(p, true);
    remember(p);
  }

  // remember keeps p for the next page view of this ci, for as long as
  // its "ttl" allows, and sets the next heartbeat.
  function remember(p) {
    if (ph) storage(PH, JSON.stringify({ phones: p, exp: Date.now() + p.ttl * 1000, ci: ci }));
    else storage(PH, null);
    schedule();
  }

  // schedule sets the next heartbeat, "renew" seconds after the last
  // renewal, while the page is visible and shows a leased number; hidden,
  // it sends none, so a closed or background tab lets the number go.
  function schedule() {
    clearTimeout(beat);
    if (cred && ph && ph.renew && allowed && d.visibilityState != "hidden") {
      beat = setTimeout(safe(heartbeat), lastBeat + ph.renew * 1000 - Date.now());
    }
  }
  d.addEventListener("visibilitychange", safe(schedule));

  // heartbeat renews the visitor's leases. Its answer changes the page
  // only when it names other numbers (a lease that lapsed was claimed
  // anew). A failed one is tried again "renew" seconds later: the lease
  // lives several of those.
  function heartbeat() {
    enqueue({
      p: "lease",
      b: {},
      c: true,
      r: true,
      done: function (v) {
        lastBeat = Date.now();
        if (!v.success) return schedule();
        var p = v.result && v.result.phones;
        apply(p, false);
        remember(p);
      },
    });
  }

  // --- the widget chunk, loaded on first use --------------------------------

  var widget = null; // the chunk's API once loaded
  var widgetWait = null; // [use, fallback] pairs while it loads

  // withWidget runs use(widget) once the chunk is loaded, or fallback(error)
  // when it cannot be.
  function withWidget(use, fallback) {
    if (widget) return use(widget);
    if (widgetWait) return widgetWait.push([use, fallback]);
    widgetWait = [[use, fallback]];
    var done = function (err) {
      var waiting = widgetWait;
      widgetWait = null;
      waiting.forEach(function (p) {
        try {
          if (err) p[1](err);
          else p[0](widget);
        } catch (e) {
          warn("internal error: " + e);
        }
      });
    };
    var s = d.createElement("script");
    s.async = true;
    s.src = base() + __CS_WIDGET_PATH__;
    s.onload = function () {
      var init = w.__cs_widget;
      try {
        widget = typeof init == "function" ? init(core) : null;
      } catch (e) {}
      done(widget ? "" : "the widget did not start");
    };
    s.onerror = function () {
      done("the widget could not be loaded from the appliance");
    };
    (d.head || d.documentElement).appendChild(s);
  }

  // --- chat: the operators' status; the chat itself is in the widget chunk --

  var operators = false; // getOperatorStatus(): an operator of the site is online
  var chatPoll = 0;
  var chatting = false; // the widget chunk keeps the status current

  // chatOf takes the site's chat state {operators, button} from a hit's
  // answer or the status poll (httpd/chat-protocol.md). With an operator
  // online, the floating button on, or a chat of this visitor kept in
  // localStorage, the widget chunk takes over: its socket keeps the status
  // current and shows the visitor in the console. Else the status is
  // polled every 30 s while the page is visible.
  function chatOf(c) {
    clearTimeout(chatPoll);
    if (!c) return;
    operators = !!c.operators;
    if (chatting) return widget.chat(c);
    if (operators || c.button || storage("_cs_chat")) {
      return withWidget(function (wd) {
        chatting = true;
        wd.chat(c);
      }, warn);
    }
    chatPoll = setTimeout(
      safe(function () {
        if (d.visibilityState == "hidden") return chatOf(c);
        fetch(base() + "t/v1/chat/status?k=" + encodeURIComponent(account), { credentials: "omit" })
          .then(function (r) {
            return r.json();
          })
          .then(
            function (v) {
              chatOf(v && v.success ? { operators: v.result.operators, button: c.button } : c);
            },
            function () {
              chatOf(c);
            }
          );
      }),
      30000
    );
  }

  // core is what the widget chunk may use of this file.
  var core = {
    credentials: function () {
      return Comagic.getCredentials();
    },
    // cred is the last hit's answer ({ci, key, ...}), null before it.
    cred: function () {
      return cred;
    },
    // operators sets (with v) and answers getOperatorStatus().
    operators: function (v) {
      if (v != null) operators = !!v;
      return operators;
    },
    // send queues a request to t/v1/<path> with the visitor's credentials.
    send: function (path, fields, cb) {
      enqueue({ p: path, b: fields, c: true, h: true, r: true, cb: cb });
    },
    phoneMask: function () {
      return phoneMask;
    },
    base: base,
    warn: warn,
    answer: answer,
  };

  // notSent is the result of a call that got no answer from the appliance.
  function notSent() {
    return { code: "not_sent" };
  }

  // widgetCall makes an API function of the widget chunk's function name;
  // its callback (argument cbAt) gets {success:false} when the chunk fails.
  function widgetCall(name, cbAt) {
    return safe(function () {
      var args = arguments;
      withWidget(
        function (wd) {
          wd[name].apply(null, args);
        },
        function (err) {
          var v = fail(err);
          if (name == "sitePhoneCall") v.result = { status: 3, code: "not_sent" };
          if (cbAt >= 0 && typeof args[cbAt] == "function") answer(args[cbAt], v);
          else warn(name + ": " + err);
        }
      );
    });
  }

  // --- the API ---------------------------------------------------------------

  function needName(name, call) {
    if (name == null || String(name) === "") {
      warn(call + ": the name is required");
      return false;
    }
    return true;
  }

  var Comagic = {
    push: safe(function () {
      for (var i = 0; i < arguments.length; i++) run(arguments[i]);
      return q.length;
    }, 0),

    trackEvent: safe(function (category, action, name, value) {
      if (category == null || category === "" || action == null || action === "") {
        warn("trackEvent: category and action are required; nothing sent");
        return;
      }
      enqueue({
        p: "event",
        b: { c: String(category), a: String(action), n: text(name), v: text(value) },
        c: true,
        h: true,
        name: "trackEvent",
      });
    }),

    // getVisitorId and getSessionId answer the current page view's ids once
    // the appliance answered its hit. Before that they answer the ids this
    // visitor had on the previous page view (the visitor id does not change;
    // the session id changes when that session has ended: 30 minutes idle
    // or a new campaign), and undefined for a first-time visitor.
    getVisitorId: safe(function () {
      return cred ? cred.visitor_id : ciPart(0);
    }),

    getSessionId: safe(function () {
      return cred ? cred.session_id : ciPart(1);
    }),

    // getCredentials has every field of the reference always; those not
    // known before the first hit's answer are null.
    getCredentials: safe(function () {
      var c = cred || {};
      var url = c.server_url || null;
      var id = function (v, i) {
        v = v != null ? v : ciPart(i);
        return v != null ? v : null;
      };
      return {
        site_key: account,
        key: c.key || null,
        uri: url,
        visitor_id: id(c.visitor_id, 0),
        hit_id: c.hit_id != null ? c.hit_id : null,
        session_id: id(c.session_id, 1),
        consultant_server_url: url,
      };
    }),

    addVisitorInfo: safe(function (info, cb) {
      info = info || {};
      var b = { name: text(info.name), phone: text(info.phone), email: text(info.email) };
      if (!b.name && !b.phone && !b.email) return answer(cb, fail("give at least one of name, phone, email"));
      enqueue({ p: "visitor", b: b, c: true, h: true, cb: cb, name: "addVisitorInfo" });
    }),

    setProperty: safe(function (name, value) {
      if (!needName(name, "setProperty")) return;
      enqueue({ p: "property", b: { op: "set", name: String(name), value: text(value) }, c: true, name: "setProperty" });
    }),

    deleteProperty: safe(function (name) {
      if (!needName(name, "deleteProperty")) return;
      enqueue({ p: "property", b: { op: "delete", name: String(name) }, c: true, name: "deleteProperty" });
    }),

    hasProperty: safe(function (name, cb) {
      if (name == null || String(name) === "") return answer(cb, fail("the property name is required"));
      enqueue({ p: "property", b: { op: "has", name: String(name) }, c: true, r: true, cb: cb });
    }),

    getProperty: safe(function (name, cb) {
      if (name == null || String(name) === "") return answer(cb, fail("the property name is required"));
      enqueue({ p: "property", b: { op: "get", name: String(name) }, c: true, r: true, cb: cb });
    }),

    // reinitTrackView records a page view of an SPA's new route: the
    // current URL and title, with the previous route as referrer.
    reinitTrackView: safe(function () {
      if (!account) return warn("reinitTrackView: setCsAccount was not called");
      if (!started) return start(); // the first hit is still to come; it takes the current URL
      hit(false);
      pump();
    }),

    // addOfflineRequest stores a lead: cb({success:true, result:null}). The
    // fields go as the page gave them (a form's strings or numbers); the
    // appliance checks them (a sale cost needs is_sale:true) and says why
    // it refuses one.
    addOfflineRequest: safe(function (req, cb) {
      req = req || {};
      var b = { u: cut(location.href, 2048) };
      ["name", "email", "phone", "message", "is_sale", "sale_cost", "group_id", "form_name"].forEach(function (f) {
        if (req[f] != null) b[f] = req[f];
      });
      enqueue({ p: "lead", b: b, c: true, h: true, cb: cb, name: "addOfflineRequest", result: notSent });
    }),

    // getOperatorStatus is true while at least one operator of the site is
    // online, as the last hit's answer, status poll or chat socket said.
    getOperatorStatus: safe(function () {
      return operators;
    }, false),

    openSiteRequestPanel: widgetCall("openSiteRequestPanel", -1),
    openChatWindow: widgetCall("openChatWindow", -1),

    Captcha: {
      get_captcha: widgetCall("getCaptcha", 0),
    },

    // getPhones is every number given to the visitor, in the reference's
    // shapes: [] before an answer. getDTPhones is those of them that are
    // reserved for the visitor (dynamic), null when there are none.
    getPhones: safe(
      function () {
        return issued().map(entry);
      },
      function () {
        return [];
      }
    ),

    getDTPhones: safe(function () {
      var a = issued()
        .filter(function (e) {
          return e.t == "dynamic";
        })
        .map(entry);
      return a.length ? a : null;
    }, null),

    // getReplacedPhones() is {id: raw} of what was replaced on the page;
    // ("static") and ("dynamic") are {raw: [ids]} of that type only; none
    // ({}) before an answer or when __cs_onReplacePhones said no.
    getReplacedPhones: safe(
      function (type) {
        var o = {};
        list.forEach(function (e) {
          if (!type) o[e.id] = e.raw;
          else if (e.t == type && (o[e.raw] = o[e.raw] || []).indexOf(e.id) < 0) o[e.raw].push(e.id);
        });
        return o;
      },
      function () {
        return {};
      }
    ),
  };

  var ComagicWidget = {
    openSitePhonePanel: widgetCall("openSitePhonePanel", -1),
    sitePhoneCall: widgetCall("sitePhoneCall", 1),
  };

  // --- commands ----------------------------------------------------------------

  var commands = {
    setCsAccount: function (key) {
      account = String(key || "");
      start();
    },
    setCsHost: function (h) {
      if (h) host = String(h);
    },
    setDynamicalReplacement: function (on) {
      dynamical = !!on;
      if (dynamical) watch();
      else if (d.readyState != "loading") unwatch(); // else pageLoaded stops it
    },
    setUIPhoneMaskFormat: function (mask) {
      phoneMask = mask == null ? "" : String(mask);
    },
  };

  // run executes one queued command: ["name", args...].
  function run(cmd) {
    try {
      if (!Array.isArray(cmd)) return warnOnce("array", 'a command is an array ["name", args...]; ignored ' + typeof cmd);
      var name = String(cmd[0]);
      var args = cmd.slice(1);
      if (commands.hasOwnProperty(name)) return commands[name].apply(null, args);
      if (name != "push" && Comagic.hasOwnProperty(name) && typeof Comagic[name] == "function") {
        return Comagic[name].apply(Comagic, args);
      }
      warnOnce("cmd:" + name, 'unknown command "' + name + '" ignored');
    } catch (e) {
      warn("internal error: " + e);
    }
  }

  // --- start -------------------------------------------------------------------

  try {
    ci = readCI();
    if (typeof w.__cs_onReplacePhones != "function") {
      w.__cs_onReplacePhones = function (phones) {
        return true;
      };
    }
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
    var last = cached();
    if (last) {
      apply(last, false);
      if (d.readyState == "loading") {
        watch();
        d.addEventListener("DOMContentLoaded", safe(pageLoaded));
      }
    }
    start();
  } catch (e) {
    warn("internal error: " + e);
  }
})(window, document);
