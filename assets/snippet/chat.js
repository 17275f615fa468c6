/*
 * chat.js — the visitor's chat window, part of the widget chunk
 * (widget.js imports it; httpd bundles both). The wire format is
 * httpd/chat-protocol.md.
 *
 * Model
 *   - One connection per page: a WebSocket to t/v1/chat/ws, or when that
 *     cannot be had (two failed connects, or no WebSocket) the long-poll
 *     POST t/v1/chat carrying the same frames. It opens when the core hands
 *     the chat over (an operator online, the floating button on, or a chat
 *     of this visitor kept), so the visitor shows in the console's live
 *     list and getOperatorStatus() follows the presence frames.
 *   - Messages are keyed chat:id and shown once, whatever comes twice (a
 *     resumed socket, two polls). A reconnect says hello with the chat and
 *     the last id held; a new page says it with 0, so it gets the whole
 *     conversation again, and with "earlier" (it holds nothing yet), so
 *     the visitor's recent ended chats come too: shown above, read only,
 *     each closed by a note that it ended (the server bounds them).
 *   - A message typed is shown at once as "sending" and kept in
 *     localStorage under a key of its own (UNSENT + its ref) until its ack:
 *     a reconnect or the next page resends it with the same ref, and the
 *     server stores it once (it answers a ref it holds with the first id).
 *     Tabs of the site share those keys and never rewrite each other's: a
 *     tab removes a key only on the ack (or refusal) of that ref; at each
 *     welcome it sends what any tab left unsent, and a tab that closes
 *     hands its unsent messages to the others (pagehide, storage event).
 *     Two tabs may so send one message twice; the server keeps it once,
 *     and the window shows it once (by chat:id).
 *   - Everything the operator or the server sends is shown with
 *     textContent: it is never markup.
 *   - The window is a panel beside the page, which the visitor keeps
 *     browsing (Tab leaves it, Esc and the button come back), except where
 *     it fills the screen (PHONE, a phone held upright): there it is a
 *     modal dialog (modal.js) while open, and turning the phone switches.
 */

import { PHONE, layer, trap } from "./modal.js";

var TEXT = {
  ru: {
    title: "Онлайн-консультант",
    online: "Оператор на связи",
    offline: "Сейчас никого нет на связи. Оставьте вопрос и телефон или эл. почту — мы свяжемся с вами.",
    placeholder: "Напишите сообщение…",
    field: "Сообщение",
    hint: "Enter — отправить, Shift+Enter — новая строка",
    send: "Отправить",
    minimize: "Свернуть чат",
    open: "Открыть чат",
    operator: "Оператор",
    typing: " печатает…",
    sending: "Отправляется",
    sent: "Отправлено",
    delivered: "Доставлено",
    read: "Прочитано",
    failed: "Не отправлено",
    joined: " отвечает вам",
    released: "Ваш вопрос передан другим операторам — скоро вам ответят.",
    closed: "Чат завершён. Напишите, чтобы начать новый.",
    ended: "Этот чат завершён",
    lead: "К сожалению, никто не успел ответить. Ваши сообщения сохранены — мы свяжемся с вами.",
    reconnecting: "Нет связи с сервером, переподключаемся…",
    unread: "Новых сообщений: ",
    log: "Переписка",
    errors: {
      bad_text: "Сообщение пустое или слишком длинное.",
      rate_limit: "Слишком много сообщений. Подождите минуту.",
      chat_full: "Переписка слишком длинная. Начните новый чат.",
      chat_closed: "Чат завершён. Напишите, чтобы начать новый.",
      server_error: "Сервер не смог сохранить сообщение. Попробуйте ещё раз позже.",
    },
  },
  en: {
    title: "Chat with us",
    online: "An operator is online",
    offline: "No one is online now. Write your question and a phone number or email, and we will get back to you.",
    placeholder: "Type a message…",
    field: "Message",
    hint: "Enter sends, Shift+Enter starts a new line",
    send: "Send",
    minimize: "Minimize the chat",
    open: "Open the chat",
    operator: "Operator",
    typing: " is typing…",
    sending: "Sending",
    sent: "Sent",
    delivered: "Delivered",
    read: "Read",
    failed: "Not sent",
    joined: " is answering you",
    released: "Your question has been passed to our other operators: someone will answer shortly.",
    closed: "The chat has ended. Write to start a new one.",
    ended: "This chat has ended",
    lead: "No one could answer just now. Your messages are saved and we will get in touch.",
    reconnecting: "Connection lost, reconnecting…",
    unread: "New messages: ",
    log: "Conversation",
    errors: {
      bad_text: "The message is empty or too long.",
      rate_limit: "Too many messages. Please wait a minute.",
      chat_full: "This conversation is too long. Please start a new chat.",
      chat_closed: "The chat has ended. Write to start a new one.",
      server_error: "The server could not save the message. Please try again later.",
    },
  },
};

var CSS =
  // the top z-index, as the dialogs have (a site's menu bar may have it too:
  // the window comes later in the page and so is drawn over it); drawn in
  // light colours and left to right whatever the page's scheme and
  // direction, its own texts being Russian or English
  // (sized by the window, 100%, not by viewport units: see the dialog's)
  ".chat{position:fixed;bottom:16px;right:16px;z-index:2147483647;color-scheme:light;width:min(370px,calc(100% - 32px));height:min(560px,calc(100% - 32px));display:flex;" +
  "flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 20px 50px rgba(16,24,40,.3);overflow:hidden;" +
  "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d2330;text-align:left}" +
  ".chat.left,.fab.left{right:auto;left:16px}" +
  // hidden (minimized; the button while the window is open) wins over
  // the display above, which the browser's own [hidden] rule loses to
  ".chat[hidden],.fab[hidden]{display:none}" +
  ".chat header{display:flex;align-items:flex-start;gap:8px;padding:14px 16px;background:var(--c);color:var(--i)}" +
  ".chat header div{flex:1;min-width:0}.chat h2{font-size:17px;margin:0;font-weight:650;color:var(--i)}" +
  ".chat .status{font-size:13px;margin:2px 0 0;color:var(--i)}" +
  ".chat header button{background:transparent;color:var(--i);width:44px;height:44px;margin:-8px -8px -8px 0;font-size:22px;line-height:1;border:0;cursor:pointer;border-radius:6px}" +
  ".log{flex:1;overflow-y:auto;padding:12px 14px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}" +
  ".m{max-width:82%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;" +
  "box-shadow:0 1px 2px rgba(16,24,40,.08);align-self:flex-start}" +
  ".m.visitor{align-self:flex-end;background:var(--c);color:var(--i)}" +
  ".m .who{display:block;font-size:12px;font-weight:600;color:#475467;margin-bottom:2px}" +
  ".m .mark{display:block;font-size:11px;text-align:right;margin-top:2px}.m.failed{background:#b42318;color:#fff}" +
  ".note{align-self:center;text-align:center;font-size:13px;color:#475467;max-width:92%;white-space:pre-wrap;overflow-wrap:anywhere}" +
  ".note.ended{align-self:stretch;max-width:none;border-bottom:1px solid #d0d5dd;padding-bottom:6px}" +
  ".typing{min-height:20px;padding:0 14px;font-size:13px;color:#475467;background:#f6f7f9}" +
  ".chat form{display:flex;gap:8px;padding:10px;border-top:1px solid #e4e7ec;align-items:flex-end;margin:0}" +
  // 16px: a phone's browser (iOS Safari) zooms the page into a smaller field it focuses
  ".chat textarea{flex:1;min-width:0;min-height:44px;max-height:140px;resize:none;font:inherit;font-size:16px;color:inherit;padding:9px 11px;border:1px solid #667085;" +
  "border-radius:8px;background:#fff;margin:0}" +
  ".chat form button{background:var(--c);color:var(--i);min-height:44px;padding:10px 14px;font:inherit;font-weight:600;border:0;border-radius:8px;cursor:pointer}" +
  ".hint{font-size:11px;color:#667085;padding:0 12px 8px;margin:0}" +
  ".fab{position:fixed;bottom:20px;right:20px;z-index:2147483646;width:58px;height:58px;border-radius:50%;border:0;cursor:pointer;" +
  "background:var(--c);color:var(--i);color-scheme:light;box-shadow:0 8px 24px rgba(16,24,40,.3);display:flex;align-items:center;justify-content:center}" +
  ".fab svg{width:28px;height:28px;fill:var(--i)}" +
  ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;border-radius:10px;background:#d92d20;color:#fff;" +
  "font:600 12px/20px system-ui,sans-serif;padding:0 5px}" +
  ".greet{align-self:flex-start;background:#fff;padding:8px 11px;border-radius:12px;max-width:82%;white-space:pre-wrap;overflow-wrap:anywhere}" +
  ".chat :focus-visible,.fab:focus-visible{outline:2px solid #2f6fed;outline-offset:1px}" +
  "@media " +
  PHONE +
  "{.chat,.chat.left{inset:0;width:auto;height:auto;border-radius:0}}";

var STORE = "_cs_chat"; // localStorage: {s: site key, chat, open, h: last id read out, r: last operator's id seen}
var UNSENT = "_cs_chat_p"; // localStorage: UNSENT + ref -> {s: site key, text, h: handed over at} for each message not acked yet
var MAX_TEXT = 4096; // bytes of one message, the server's limit
var MAX_PARTS = 5; // messages one text is sent as at most: the server takes 20 a minute of a visitor
var COLOR = /^#[0-9a-fA-F]{6}$/;

// printable is what a visitor typed or pasted as the appliance takes it: a
// vertical tab, form feed or NEL (what some editors put on the clipboard for
// a line break) a line break, and the other control characters, which show
// as nothing and for which the appliance refuses a text, dropped.
export function printable(s) {
  return String(s)
    .replace(/[\v\f\x85]/g, "\n")
    .replace(/[\0-\x08\x0e-\x1f\x7f-\x9f]/g, "");
}

// chatWindow makes the chat window over the widget's helpers: core (the
// snippet core's), el, shadow (the shadow root), sheet(root, name, css)
// (gives the root a stylesheet), announce(text, urgent)
// (a live region's), deepActive() (the focused element, inside the shadow
// root too), lang, withSettings, settings() and leadForm().
export function chatWindow(env) {
  var w = window;
  var d = document;
  var core = env.core;
  var el = env.el;

  var site = ""; // the site key, once started
  var started = false;
  var kept = {}; // what localStorage holds for this site
  var chatID = 0; // the visitor's current chat
  var after = 0; // the last message id held of chatID
  var heard = 0; // the last message id of chatID read out (announce), kept across pages
  var status = ""; // "open" | "closed" | "" (no chat yet)
  var endNote = null; // the note that chatID has ended, after its conversation, when a page opens on the ended chat
  var fresh = true; // the window holds nothing yet: the first welcome brings the visitor's earlier chats too
  var seen = {}; // "chat:id" -> the message's node
  var leadShown = {}; // chat -> its "became a lead" system message is shown
  var pending = []; // [{ref, text, node}] sent, not acked, in the order typed
  var gone = {}; // ref -> a pending message another tab got the ack of: its own ack may still come here
  var opMax = 0; // the last operator message id of chatID
  var readSent = 0;
  var deliveredSent = 0;
  var marks = { delivered: 0, read: 0 }; // the operators' marks of chatID

  var sock = null;
  var welcomed = false;
  var mode = w.WebSocket ? "ws" : "poll";
  var fails = 0; // connects that failed before opening
  var wsWorked = false; // a socket opened on this page: a later failure is the server's, not the network's
  var backoff = 0;
  var retryTimer = 0;
  var pinger = 0;
  var stopped = false;
  var polling = false; // the long poll is out
  var outq = []; // frames for the next poll request

  var ui = null; // the window once built: {panel, log, input, status, typing}
  var fabBtn = null; // the floating button, when the site has it
  var badgeEl = null;
  var isOpen = false;
  var unread = 0;
  var typingOff = 0;
  var typingSent = 0;
  var typingStop = 0;
  var back = null; // what had the focus before the window opened: it gets it back
  var phone = w.matchMedia ? w.matchMedia(PHONE) : null; // the window fills the screen

  function t(key) {
    return TEXT[env.lang()][key];
  }

  function parse(s) {
    try {
      return JSON.parse(s);
    } catch (e) {
      return null;
    }
  }

  function load() {
    try {
      var v = parse(w.localStorage.getItem(STORE));
      return v && v.s == (site || core.site_()) ? v : {};
    } catch (e) {
      return {};
    }
  }

  function save(open) {
    try {
      w.localStorage.setItem(STORE, JSON.stringify({ s: site, chat: chatID, open: open || isOpen, h: heard, r: readSent }));
    } catch (e) {}
  }

  // keep stores p under its own key until its ack; h marks it handed over
  // to the other tabs.
  function keep(p, h) {
    try {
      w.localStorage.setItem(UNSENT + p.ref, JSON.stringify({ s: site, text: p.text, h: h }));
    } catch (e) {}
  }

  // take removes the message of ref from pending (or gone) and from
  // localStorage, and returns it.
  function take(ref) {
    var p = gone[ref];
    delete gone[ref];
    for (var i = 0; ref && i < pending.length; i++) {
      if (pending[i].ref == ref) p = pending.splice(i, 1)[0];
    }
    if (p) {
      try {
        w.localStorage.removeItem(UNSENT + ref);
      } catch (e) {}
    }
    return p;
  }

  // adopt takes up the messages of the site left unsent in localStorage
  // (by this page's predecessor, or another tab): they are shown as
  // sending and resent with their refs. only: the one ref to look at.
  // It returns those new here.
  function adopt(only) {
    var got = [];
    try {
      var ls = w.localStorage;
      var refs = [];
      for (var i = 0; i < ls.length; i++) {
        var k = ls.key(i) || "";
        if (k.indexOf(UNSENT) == 0 && (!only || k == UNSENT + only)) refs.push(k.slice(UNSENT.length));
      }
      refs.forEach(function (ref) {
        var v = parse(ls.getItem(UNSENT + ref));
        var known = gone[ref] || pending.some(function (p) {
          return p.ref == ref;
        });
        if (known || !v || v.s != site || typeof v.text != "string" || !v.text) return;
        var p = { ref: ref, text: v.text };
        p.node = bubble("visitor", "", p.text, chatID, 0);
        markText(p.node, t("sending"));
        pending.push(p);
        got.push(p);
      });
    } catch (e) {}
    if (got.length) {
      // in the order typed (a ref begins with the time), last in the log
      pending.sort(function (a, b) {
        return a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0;
      });
      pending.forEach(function (p) {
        if (p.node.parentNode) p.node.parentNode.appendChild(p.node);
      });
    }
    return got;
  }

  // shared follows the other tabs' unsent messages: one acked there is no
  // longer this tab's to send (the server's message frame shows it), and
  // one handed over by a closing tab is sent from here.
  function shared(e) {
    var k = e.key || "";
    if (k == STORE) return seenElsewhere(parse(e.newValue) || {});
    if (k.indexOf(UNSENT)) return;
    var ref = k.slice(UNSENT.length);
    if (e.newValue == null) {
      for (var i = 0; i < pending.length; i++) {
        if (pending[i].ref != ref) continue;
        var p = (gone[ref] = pending.splice(i, 1)[0]);
        if (p.node.parentNode) p.node.parentNode.removeChild(p.node);
        return;
      }
    } else if ((parse(e.newValue) || {}).h) {
      adopt(ref).forEach(send);
    }
  }

  // seenElsewhere follows the operator's messages the visitor saw in
  // another tab (its saved state, v): they are no longer counted here.
  function seenElsewhere(v) {
    if (v.s != site || v.chat != chatID || !(+v.r > readSent)) return;
    readSent = +v.r;
    unread = 0;
    for (var k in seen) {
      var n = seen[k];
      if (n.getAttribute("data-chat") == chatID && n.classList.contains("operator") && +n.getAttribute("data-id") > readSent) unread++;
    }
    badge();
  }

  // pageURL is the page's URL cut as the hit's is (at most 2048 bytes):
  // the server refuses a longer one.
  function pageURL() {
    return core.cut_(location.href, 2048);
  }

  // send sends p. On a socket every welcome (a new socket) sends again
  // what is not acked. In poll mode every answer has a welcome, and p once
  // queued stays out (p.out) until a request carries it and is answered:
  // request puts it back in its place only when that request failed or
  // its answer did not answer it, so it is not sent again with each poll
  // answer (behind a later message), only after a failure, with backoff.
  function send(p) {
    if (mode == "poll") {
      if (p.out) return;
      p.out = true;
    }
    raw({ type: "send", ref: p.ref, text: p.text });
  }

  function chatSettings() {
    var s = env.settings();
    return (s && s.chat) || {};
  }

  function color() {
    var c = chatSettings().color;
    return COLOR.test(c) ? c : "#2f6fed";
  }

  // ink is the text colour on the site's colour c: white, or the widget's
  // dark grey on a light colour (a yellow button), whichever reads better.
  function ink(c) {
    var l = [1, 3, 5].map(function (i) {
      var v = parseInt(c.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    var y = 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
    // contrast with white (L 1) against with #1d2330 (L about 0.016)
    return 1.05 / (y + 0.05) >= (y + 0.05) / 0.066 ? "#fff" : "#1d2330";
  }

  function paint(n) {
    n.style.setProperty("--c", color());
    n.style.setProperty("--i", ink(color()));
  }

  // --- the connection ------------------------------------------------------

  function wsURL() {
    var b = core.base_();
    if (b.indexOf("//") === 0) b = (location.protocol == "https:" ? "https:" : "http:") + b;
    return b.replace(/^http/, "ws") + "t/v1/chat/ws?k=" + encodeURIComponent(site);
  }

  function connect() {
    clearTimeout(retryTimer);
    if (stopped || sock || polling) return;
    if (!core.cred_()) {
      // the page view is not answered yet: the hello needs its ci and key
      retryTimer = setTimeout(connect, 1000);
      return;
    }
    if (mode == "poll") return poll();
    var s;
    try {
      s = new w.WebSocket(wsURL());
    } catch (e) {
      s = 0;
    }
    // A socket the page's Content-Security-Policy refuses (a connect-src
    // without the appliance's ws: or wss:) throws, or in Chromium is born
    // closed and fires its error but never its close: poll.
    if (!s || s.readyState == 3) {
      mode = "poll";
      return poll();
    }
    sock = s;
    welcomed = false;
    var opened = false;
    s.onopen = function () {
      opened = true;
      wsWorked = true;
      fails = 0;
      var c = core.cred_() || {};
      s.send(JSON.stringify({ type: "hello", ci: c.ci, key: c.key, u: pageURL(), chat: chatID, after: after, earlier: fresh }));
      clearInterval(pinger);
      pinger = setInterval(function () {
        raw({ type: "ping" });
      }, 25000);
    };
    s.onmessage = function (e) {
      var f = parse(e.data);
      if (f && typeof f == "object") frame(f);
    };
    s.onclose = function () {
      if (sock === s) sock = null;
      clearInterval(pinger);
      welcomed = false;
      // Two sockets that never opened, on a page where none ever did: the
      // network blocks WebSockets, so poll. (A server restarting is not
      // that: it comes back on the socket.)
      if (!opened && ++fails >= 2 && !wsWorked) mode = "poll";
      retry();
      showStatus();
    };
  }

  // reconnect connects at once, without waiting out the backoff, when the
  // network is back or the page is shown again (a phone left the metro, a
  // tab comes out of the background): the next retry may be 30 s away.
  function reconnect() {
    if (d.visibilityState == "hidden") return;
    if (kickTimer) {
      // frames waiting out a failed request's backoff go now
      clearTimeout(kickTimer);
      kickTimer = 0;
      kicking = false;
      kickBackoff = 0;
      kick();
    }
    if (sock || polling) return;
    backoff = 0;
    connect();
  }

  // retry connects again after 1, 2, 4 ... 30 s, plus up to 1 s.
  function retry() {
    if (stopped) return;
    backoff = Math.min(backoff ? backoff * 2 : 1, 30);
    retryTimer = setTimeout(connect, backoff * 1000 + Math.random() * 1000);
  }

  // raw sends a frame now when the socket is up; in poll mode it is queued
  // for the next request. It reports whether the frame went (or is queued).
  function raw(f) {
    if (mode == "poll") {
      outq.push(f);
      kick();
      return true;
    }
    if (sock && welcomed && sock.readyState == 1) {
      sock.send(JSON.stringify(f));
      return true;
    }
    return false;
  }

  // poll is the long-poll loop: one request held open at a time.
  function poll() {
    if (stopped || polling) return;
    polling = true;
    request(25, function (ok) {
      polling = false;
      if (ok) {
        backoff = 0;
        poll();
      } else retry();
    });
  }

  var kicking = false;
  var kickTimer = 0;
  var kickBackoff = 0;
  // kick sends queued frames at once in a request that does not wait, beside
  // the long poll, one request at a time (so in order). After a failed one
  // the frames wait 1, 2, 4 ... 30 s (plus up to 1 s) before they go again.
  function kick() {
    if (kicking || !outq.length || stopped) return;
    kicking = true;
    setTimeout(function () {
      request(0, function (ok) {
        if (ok) {
          kicking = false;
          kickBackoff = 0;
          return kick();
        }
        kickBackoff = Math.min(kickBackoff ? kickBackoff * 2 : 1, 30);
        kickTimer = setTimeout(function () {
          kickTimer = 0;
          kicking = false;
          kick();
        }, kickBackoff * 1000 + Math.random() * 1000);
      });
    }, 0);
  }

  function request(wait, done) {
    var c = core.cred_() || {};
    var frames = wait ? [] : outq.splice(0, 10);
    var ctl = w.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () {
      if (ctl) ctl.abort();
    }, (wait + 10) * 1000);
    var back = function (ok) {
      clearTimeout(timer);
      // A send the answer did not answer (an earlier frame's error ended
      // the request's frames) is not sent: it goes again, in its place.
      var left = ok
        ? frames.filter(function (f) {
            return f.type == "send" && pending.some(function (p) {
              return p.ref == f.ref;
            });
          })
        : frames;
      outq = left.concat(outq);
      done(ok && !left.length);
    };
    fetch(core.base_() + "t/v1/chat", {
      method: "POST",
      body: JSON.stringify({ k: site, ci: c.ci, key: c.key, u: pageURL(), chat: chatID, after: after, earlier: fresh, status: status, wait: wait, frames: frames }),
      credentials: "omit",
      signal: ctl ? ctl.signal : undefined,
    })
      .then(function (r) {
        return r.json().then(function (v) {
          return { status: r.status, v: v };
        });
      })
      .then(
        function (a) {
          var v = a.v || {};
          if (v.success && v.result) {
            welcomed = true;
            (v.result.frames || []).forEach(frame);
            return back(true);
          }
          if (a.status == 403 || a.status == 404) {
            stopped = true; // not this site's visitor or page: nothing to retry
            core.warn_("chat: " + (v.error || "HTTP " + a.status));
            return back(true);
          }
          back(false);
        },
        function () {
          back(false);
        }
      );
  }

  // --- frames from the server ---------------------------------------------

  function frame(f) {
    switch (f.type) {
      case "welcome":
        welcomed = true;
        fresh = false;
        backoff = 0;
        setOperators(f.operators);
        if (f.chat) switchChat(f.chat);
        // The server sends the whole chat again (after 0) when the id held
        // is one it does not have: the window resumes from what comes.
        if (f.chat == chatID && f.after === 0) after = 0;
        var was = status;
        status = f.chat ? f.status || "open" : "";
        // A page that opens on an ended chat says so after its
        // conversation, as the page that saw it end did (not read out: it
        // is no news). The messages that follow go before the note.
        if (status == "closed" && was != "closed") {
          endNote = el("div", { class: "note", "data-chat": chatID }, [t("closed")]);
          append(endNote);
        }
        mark("delivered", f.delivered);
        mark("read", f.read);
        showStatus();
        resend();
        break;
      case "message":
        // The visitor's own message, here before its ack (or instead of
        // it: a slow answer, a poll's): its ref says it is stored, and the
        // copy shown as sending becomes it, not a second bubble.
        if (f.from == "visitor" && f.ref && f.chat && f.id) acked(f);
        message(f);
        break;
      case "ack":
        acked(f);
        break;
      case "typing":
        if (f.from != "visitor") showTyping(f.on ? (f.name || t("operator")) + t("typing") : "");
        break;
      case "delivered":
      case "read":
        if (f.from != "visitor" && f.chat == chatID) mark(f.type, f.id);
        break;
      case "assigned":
        // no name: the operator returned the chat to the queue
        if (f.chat == chatID) note(f.name ? f.name + t("joined") : t("released"));
        break;
      case "ended":
        // an earlier chat's end, after its messages (a new page's replay):
        // a separator, not news
        var ek = f.chat + ":end";
        if (f.chat && f.chat < chatID && !seen[ek]) {
          seen[ek] = el("div", { class: "note ended", "data-chat": f.chat }, [t("ended")]);
          append(seen[ek]);
        }
        break;
      case "closed":
        if (f.chat == chatID) {
          status = "closed";
          // not twice: a welcome that already found the chat ended said so
          var said = endNote && endNote.getAttribute("data-chat") == f.chat;
          if (f.by == "lead") {
            if (!leadShown[f.chat]) note(t("lead"));
          } else if (!said) note(t("closed"));
          showTyping("");
        }
        break;
      case "presence":
        setOperators(f.operators);
        showStatus();
        break;
      case "error":
        failedSend(f);
        break;
    }
  }

  function setOperators(v) {
    if (typeof v == "boolean") core.operators_(v);
  }

  function switchChat(id) {
    if (id == chatID) return;
    chatID = id;
    after = heard = 0;
    opMax = readSent = deliveredSent = 0;
    marks = { delivered: 0, read: 0 };
    save();
  }

  function message(f) {
    if (!f.chat || !f.id) return;
    // a later chat: the visitor's next one, or an operator's invitation
    var invited = f.chat > chatID && f.from == "operator";
    if (f.chat > chatID) switchChat(f.chat);
    var k = f.chat + ":" + f.id;
    if (f.chat == chatID) {
      if (f.id > after) after = f.id;
      if (status != "closed") status = "open";
    }
    if (seen[k]) return;
    // a system message is shown in the window's language when known
    var sys = f.from == "system" && f.code == "lead";
    if (sys) leadShown[f.chat] = true;
    // the lead's note says how the chat ended
    if (sys && endNote && endNote.getAttribute("data-chat") == f.chat) {
      if (endNote.parentNode) endNote.parentNode.removeChild(endNote);
      endNote = null;
    }
    var n = bubble(f.from, f.name, sys ? t("lead") : f.text, f.chat, f.id);
    seen[k] = n;
    // Read out what is new to the visitor, once: not their own words, and
    // not the conversation a new page is sent again.
    if (f.from != "visitor" && f.chat == chatID && f.id > heard) {
      heard = f.id;
      announce(sys ? t("lead") : String(f.name || t("operator")) + ": " + f.text);
      save();
    }
    if (f.from == "operator" && f.chat == chatID) {
      showTyping("");
      if (f.id > opMax) opMax = f.id;
      // news unless seen already (here, or on an earlier page: the
      // conversation comes whole to each new page)
      if (!isOpen && f.id > readSent) {
        // An invitation opens the window; so does an answer when there is
        // no floating button to show the unread count on.
        if (invited || !fabBtn) show(false);
        else {
          unread++;
          badge();
        }
      }
      marksOut();
    }
  }

  function acked(f) {
    var p = take(f.ref);
    if (!p) return;
    if (f.chat) switchChat(f.chat);
    status = "open";
    var k = f.chat + ":" + f.id;
    if (seen[k] && seen[k] !== p.node) {
      p.node.parentNode && p.node.parentNode.removeChild(p.node);
    } else {
      seen[k] = p.node;
      // sent before the chat existed, the node learns its chat here: the
      // ack may come before the message's own frame (chat-protocol.md)
      p.node.setAttribute("data-chat", f.chat);
      p.node.setAttribute("data-id", f.id);
      setMark(p.node, f.id);
      if (!p.node.parentNode) append(p.node); // taken off when another tab got its ack first
    }
    if (f.id > after) after = f.id;
    save();
  }

  function failedSend(f) {
    var msgs = TEXT[env.lang()].errors;
    var p = take(f.ref);
    if (p) {
      p.node.className = "m visitor failed";
      markText(p.node, t("failed"));
    }
    if (f.code == "chat_closed") status = "closed";
    if (f.code == "wrong_key" || f.code == "unknown_site") stopped = true;
    if (msgs[f.code]) note(msgs[f.code]);
    else core.warn_("chat: " + (f.message || f.code));
  }

  // resend sends again what was typed and not acked, here or in a tab of
  // the site that could not send it, with the same refs.
  function resend() {
    adopt();
    pending.forEach(send);
  }

  // --- marks -----------------------------------------------------------------

  function mark(kind, id) {
    if (!(id > marks[kind])) return;
    marks[kind] = id;
    for (var k in seen) {
      var n = seen[k];
      var at = +n.getAttribute("data-id");
      if (n.getAttribute("data-chat") == chatID && n.classList.contains("visitor") && at) setMark(n, at);
    }
  }

  function setMark(n, id) {
    var m = id <= marks.read ? "read" : id <= marks.delivered ? "delivered" : "sent";
    n.setAttribute("data-mark", m);
    markText(n, m == "sent" ? "✓ " + t("sent") : "✓✓ " + t(m));
  }

  function markText(n, s) {
    var m = n.querySelector(".mark");
    if (m) m.textContent = s;
  }

  // marksOut tells the server what the visitor got and saw.
  function marksOut() {
    if (!opMax) return;
    if (opMax > deliveredSent && raw({ type: "delivered", chat: chatID, id: opMax })) deliveredSent = opMax;
    if (isOpen && d.visibilityState == "visible" && opMax > readSent && raw({ type: "read", chat: chatID, id: opMax })) {
      readSent = opMax;
      save();
    }
  }

  // --- the window --------------------------------------------------------------

  function root() {
    var r = env.shadow();
    env.sheet(r, "chat", CSS);
    return r;
  }

  function build() {
    if (ui && ui.panel.isConnected) return ui;
    var r = root();
    var left = chatSettings().position == "left" ? " left" : "";
    var close = el("button", { type: "button", class: "min", "aria-label": t("minimize"), title: t("minimize") }, ["×"]);
    var st = el("p", { class: "status", role: "status" });
    // The log is not itself live: a new page appends the whole conversation
    // to it, which a screen reader would read out from the start; what is
    // new is read out through announce.
    var log = el("div", { class: "log", role: "log", "aria-live": "off", "aria-label": t("log"), tabindex: "0" });
    var typing = el("div", { class: "typing" });
    var input = el("textarea", { id: "cs-chat-text", dir: "auto", rows: "2", placeholder: t("placeholder"), "aria-label": t("field"), "aria-describedby": "cs-chat-hint" });
    input.value = draft();
    var sendBtn = el("button", { type: "submit" }, [t("send")]);
    var form = el("form", { novalidate: true }, [input, sendBtn]);
    var hint = el("p", { class: "hint", id: "cs-chat-hint" }, [t("hint")]);
    var panel = el("section", { class: "chat" + left, role: "dialog", "aria-labelledby": "cs-chat-title", lang: env.lang(), dir: "ltr", hidden: true }, [
      el("header", {}, [el("div", {}, [el("h2", { id: "cs-chat-title" }, [t("title")]), st]), close]),
      log,
      typing,
      form,
      hint,
    ]);
    paint(panel);
    var greeting = chatSettings().greeting;
    if (greeting) log.appendChild(el("div", { class: "greet", dir: "auto" }, [String(greeting)]));
    close.addEventListener("click", minimize);
    panel.addEventListener("keydown", function (e) {
      if (e.key == "Escape" || e.key == "Esc") {
        e.preventDefault();
        minimize();
      } else if (panel.hasAttribute("aria-modal")) trap(e, panel);
    });
    // On a touch screen Enter is a new line, as in a phone's messengers:
    // its keyboard has no Shift+Enter, and the Send button is at hand.
    if (touch()) {
      hint.hidden = true;
      input.removeAttribute("aria-describedby");
    }
    input.addEventListener("keydown", function (e) {
      if (e.key == "Enter" && !e.shiftKey && !e.isComposing && !touch()) {
        e.preventDefault();
        submit();
      }
    });
    input.addEventListener("input", typed);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      submit();
    });
    // under a dialog open meanwhile (an invitation over the lead form) and
    // a popup shown meanwhile
    r.insertBefore(panel, r.querySelector(".wrap, .toast"));
    ui = { panel: panel, log: log, input: input, status: st, typing: typing };
    // what arrived before the window was built: the ended chat's note,
    // its messages before it, and a later chat's after it
    if (endNote) log.appendChild(endNote);
    Object.keys(seen).forEach(function (k) {
      if (!seen[k].isConnected) append(seen[k]);
    });
    pending.forEach(function (p) {
      if (!p.node.isConnected) log.appendChild(p.node);
    });
    showStatus();
    return ui;
  }

  // touch reports whether the visitor types on a touch screen's keyboard
  // (a phone, a tablet): no mouse, a finger.
  function touch() {
    return !!w.matchMedia && w.matchMedia("(hover: none) and (pointer: coarse)").matches;
  }

  // bubble makes a message's node; text is set as text, never markup,
  // in the direction of its own script (dir=auto: Hebrew or Arabic reads
  // right to left in a Russian window, and is set apart from the marks).
  function bubble(from, name, text, chat, id) {
    var n = el("div", { class: "m " + (from == "visitor" ? "visitor" : from == "system" ? "note" : "operator"), "data-chat": chat || "", "data-id": id || "" });
    if (from == "visitor" && !id) n.setAttribute("data-mark", "sending");
    if (from == "system") {
      n.className = "note";
      n.textContent = String(text);
    } else {
      if (from != "visitor") n.appendChild(el("span", { class: "who", dir: "auto" }, [String(name || t("operator"))]));
      n.appendChild(el("span", { class: "text", dir: "auto" }, [String(text)]));
      if (from == "visitor") {
        n.appendChild(el("span", { class: "mark" }));
        if (id && chat == chatID) setMark(n, id); // an earlier chat's marks are not chatID's
      }
    }
    append(n);
    return n;
  }

  function note(text) {
    append(el("div", { class: "note" }, [text]));
    announce(text);
  }

  // announce has screen readers read text out, politely (after what they
  // are reading), also while the window is minimized: the widget's live
  // region, outside the window.
  function announce(text) {
    env.announce(text, false);
  }

  // append adds n to the log: a message the server has goes before the
  // visitor's messages still waiting for their ack, which stay last.
  function append(n) {
    if (!ui || !ui.log.isConnected) return;
    var log = ui.log;
    var atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    var wait = pending.filter(function (p) {
      return p.node && p.node !== n && p.node.parentNode === log;
    })[0];
    var sending = n.getAttribute("data-mark") == "sending";
    // the ended chat's messages go before its note, and so do those of the
    // chats before it (a new page's replay of the visitor's earlier chats)
    var nc = +n.getAttribute("data-chat");
    var end = !sending && endNote && endNote !== n && endNote.parentNode === log && nc && nc <= +endNote.getAttribute("data-chat");
    if (wait && !sending) log.insertBefore(n, wait.node);
    else if (end) log.insertBefore(n, endNote);
    else log.appendChild(n);
    if (atEnd || n.classList.contains("visitor")) log.scrollTop = log.scrollHeight;
  }

  function showStatus() {
    if (!ui) return;
    if (fabBtn) fabBtn.hidden = isOpen;
    var lost = !welcomed && (fails > 0 || backoff > 0);
    var s = lost ? t("reconnecting") : core.operators_() ? t("online") : t("offline");
    // a status region reads out each change: set only what changed
    if (ui.status.textContent != s) ui.status.textContent = s;
  }

  function showTyping(s) {
    clearTimeout(typingOff);
    if (!ui) return;
    ui.typing.textContent = s;
    if (s) {
      typingOff = setTimeout(function () {
        ui.typing.textContent = "";
      }, 6000);
    }
  }

  // typed tells the operator the visitor is typing: at most every 2 s, and
  // that they stopped 3 s after the last key.
  // draft keeps the words typed and not sent yet for the tab (v given;
  // "" lets them go) or returns them: the window on the site's next page
  // has them back, as the lead form has its own.
  function draft(v) {
    var k = "_cs_chat_d_" + (site || core.site_() || "");
    try {
      var ss = w.sessionStorage;
      if (v === undefined) return ss.getItem(k) || "";
      if (v.trim()) ss.setItem(k, v);
      else ss.removeItem(k);
    } catch (e) {}
    return "";
  }

  function typed() {
    draft(ui.input.value);
    var now = Date.now();
    if (now - typingSent > 2000 && ui.input.value.trim()) {
      typingSent = now;
      raw({ type: "typing", on: true });
    }
    clearTimeout(typingStop);
    typingStop = setTimeout(stopTyping, 3000);
  }

  function stopTyping() {
    clearTimeout(typingStop);
    if (!typingSent) return;
    typingSent = 0;
    raw({ type: "typing", on: false });
  }

  // split cuts text into messages of at most MAX_TEXT bytes of UTF-8 (the
  // server's limit), each ending at its last space or line break when one
  // is in its second half, so that a long text the visitor wrote or pasted
  // goes whole, in order.
  function split(text) {
    var out = [];
    while (text) {
      var n = 0;
      var size = 0;
      var space = 0;
      for (var ch of text) {
        size += ch.length > 1 ? 4 : ch < "\x80" ? 1 : ch < "\u0800" ? 2 : 3;
        if (size > MAX_TEXT) break;
        n += ch.length;
        if (/\s/.test(ch)) space = n;
      }
      if (n < text.length && space > n / 2) n = space;
      out.push(text.slice(0, n).trim());
      text = text.slice(n).trim();
    }
    return out;
  }

  function submit() {
    var text = printable(ui.input.value).trim();
    if (!text) return;
    var parts = split(text);
    if (parts.length > MAX_PARTS) {
      note(TEXT[env.lang()].errors.bad_text);
      return;
    }
    ui.input.value = "";
    draft("");
    stopTyping();
    // Refs begin with the time, then the part's place: pending sorts by ref.
    var at = Date.now().toString(36);
    parts = parts.map(function (part, i) {
      var p = { ref: at + i + Math.random().toString(36).slice(2, 10), text: part };
      pending.push(p);
      p.node = bubble("visitor", "", part, chatID, 0);
      markText(p.node, t("sending"));
      keep(p);
      return p;
    });
    save();
    parts.forEach(send);
    ui.input.focus();
  }

  function badge() {
    if (!fabBtn) return;
    badgeEl.textContent = unread ? String(unread) : "";
    badgeEl.hidden = !unread;
    fabBtn.setAttribute("aria-label", t("open") + (unread ? ". " + t("unread") + unread : ""));
  }

  function fab() {
    var s = chatSettings();
    if (!s.button || (fabBtn && fabBtn.isConnected)) return;
    var r = root();
    // the count is in the button's name (badge): the badge is only seen
    var b = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    var icon = d.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    var path = d.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    icon.appendChild(path);
    var btn = el("button", { type: "button", class: "fab" + (s.position == "left" ? " left" : ""), "aria-label": t("open"), title: t("open") }, [icon, b]);
    paint(btn);
    btn.addEventListener("click", openWindow);
    r.appendChild(btn);
    fabBtn = btn;
    badgeEl = b;
    if (isOpen) btn.hidden = true;
    badge();
  }

  // show opens the window; focus moves into it when the visitor asked.
  function show(focus) {
    build();
    var a = env.deepActive();
    if (focus && !ui.panel.contains(a)) back = a;
    isOpen = true;
    ui.panel.hidden = false;
    if (fabBtn) fabBtn.hidden = true;
    modal();
    unread = 0;
    badge();
    save();
    ui.log.scrollTop = ui.log.scrollHeight;
    if (focus) ui.input.focus();
    marksOut();
  }

  // minimize closes the window; the focus goes back to what opened it
  // (the page's button, the floating one), else to the floating button.
  function minimize() {
    isOpen = false;
    if (ui) ui.panel.hidden = true;
    if (fabBtn) fabBtn.hidden = false;
    modal();
    save();
    var to = back && back.isConnected && back != d.body ? back : fabBtn && fabBtn.isConnected ? fabBtn : null;
    try {
      if (to && to.focus) to.focus();
    } catch (e) {}
  }

  // modal makes the window a modal dialog while it is open and fills the
  // screen, else a panel the visitor can Tab out of to the page. It is
  // the lowest modal layer: a lead form opens over it.
  function modal() {
    if (!ui) return;
    var on = isOpen && !!phone && phone.matches;
    if (on) ui.panel.setAttribute("aria-modal", "true");
    else ui.panel.removeAttribute("aria-modal");
    layer(ui.panel, on, true);
  }

  // turned follows the screen across PHONE (a phone turned, a window
  // resized) while the window is open. A control of the page that had the
  // focus is inert once the window fills the screen: the focus moves in.
  function turned() {
    if (!ui || !isOpen) return;
    var a = env.deepActive();
    var page = a && a != d.body && a.getRootNode() == d;
    modal();
    if (page && ui.panel.hasAttribute("aria-modal")) {
      back = a;
      ui.input.focus();
    }
  }

  // openWindow is Comagic.openChatWindow(): the chat when an operator is
  // online or the visitor's chat is going on, else the lead form.
  function openWindow() {
    env.withSettings(function () {
      if (!started && !core.operators_() && !load().chat) return env.leadForm();
      if (!started) start({ operators: core.operators_() });
      if (core.operators_() || (chatID && status == "open") || pending.length) show(true);
      else env.leadForm();
    });
  }

  // start takes the chat over from the core ({operators, button} of a
  // hit's answer); called again on later hits (an SPA's new route).
  function start(c) {
    setOperators(c && c.operators);
    showStatus();
    if (started) return;
    started = true;
    if (phone) phone.addEventListener ? phone.addEventListener("change", turned) : phone.addListener(turned);
    site = core.site_() || "";
    kept = load();
    chatID = +kept.chat || 0;
    heard = +kept.h || 0;
    readSent = +kept.r || 0; // the operators' messages seen on the pages before
    if (kept.p) {
      // the list an older snippet kept: one key each from now on
      [].concat(kept.p).forEach(function (p) {
        if (p && p.ref && p.text) keep({ ref: String(p.ref), text: String(p.text) });
      });
      save(kept.open);
    }
    env.withSettings(function () {
      fab();
      adopt();
      if (kept.open) show(false);
      connect();
      w.addEventListener("online", reconnect);
      d.addEventListener("visibilitychange", reconnect);
      w.addEventListener("storage", shared);
      w.addEventListener("pagehide", function () {
        pending.forEach(function (p) {
          keep(p, Date.now());
        });
      });
    });
    d.addEventListener("visibilitychange", marksOut);
  }

  return { start: start, openWindow: openWindow };
}
