// The operator console (chat.html): one WebSocket to /chat/ws speaking
// httpd/chat-protocol.md. It lists the open chats of the operator's sites
// and the visitors on them now, shows the selected chat's messages beside
// the visitor's journey (GET /chat/visitor), and sends what the operator
// writes. Everything a visitor wrote is shown with textContent, never as
// markup. New chats and messages ring and notify, and the tab title counts
// unread messages, of the chats that are this operator's to answer (forMe);
// so does a chat a colleague transferred to this operator, or gave back to
// the queue. An open chat's header lists the colleagues online to transfer
// it to, and Release (the "transfer" frame). The page's address names the
// chat shown (?chat=ID): a link there opens it, a reload keeps it. The
// conversation is a log that is not live (it is drawn again whole);
// a new message of the open chat is read out once from a polite region.
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) return;

  // T is the console's texts in the reader's language, from the
  // dashboard's catalog (consoleText in httpd/dash_chat.go).
  var T = JSON.parse(root.getAttribute("data-text"));
  // fill puts v where text has its %s or %d.
  var fill = function (text, v) { return text.replace(/%[sd]/, function () { return v; }); };
  // fill2 puts a and b where text has its two %s, in one pass (a name
  // holding "%s" is not filled again).
  var fill2 = function (text, a, b) { var v = [a, b], i = 0; return text.replace(/%s/g, function () { return i < 2 ? v[i++] : ""; }); };

  var $ = function (id) { return document.getElementById(id); };
  var me = root.getAttribute("data-me") || "";
  // manage: a manager or the owner, who may transfer any open chat.
  var manage = root.getAttribute("data-manage") == "1";
  var chats = {}; // id -> {c: CHAT, msgs: {id: msg}, order: [ids], unread, typing}
  var visitors = {}; // "site:visitor" -> VISITOR
  var sites = {}; // key -> {name, operators: {name: status}}
  var canned = {};
  var selected = null; // {chat: id} or {visitor: "site:visitor"}
  var pending = {}; // ref -> {chat, text, node}
  var sock = null, welcomed = false, backoff = 0, retryTimer = 0, pinger = 0;
  var status = "online";
  var lastActivity = 0;
  var baseTitle = document.title;
  // wanted is the chat the address names (?chat=ID: a visitor card's or
  // the chat page's link, or this console's address of the chat it showed
  // before a reload), opened once the first welcome has listed the open
  // chats; 0 once done.
  var wanted = +root.getAttribute("data-chat") || 0;

  // BIDI are the Unicode bidi controls (the marks U+200E, U+200F and the
  // Arabic letter mark U+061C, embeddings, overrides, isolates): in a
  // visitor's text (messages, pages' titles and addresses, the name and
  // contact they left) they are shown as U+FFFD, as the server's pages show
  // them (showBidiControls in httpd/pages.go), so they cannot reorder what
  // the operator reads, here or in a desktop notification; dir=auto sets
  // each text apart from what is around it.
  var BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  function shown(text) { return String(text).replace(BIDI, "\ufffd"); }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) {
      n.textContent = shown(text);
      n.dir = "auto";
    }
    return n;
  }

  // --- labels --------------------------------------------------------------
  $("c-chats-title").textContent = T.chats;
  $("c-visitors-title").textContent = T.visitors;
  $("c-operators-title").textContent = T.operators;
  $("c-journey-title").textContent = T.journey;
  $("c-online-label").textContent = T.online;
  $("c-empty").textContent = T.empty;
  $("c-claim").textContent = T.claim;
  $("c-close").textContent = T.close;
  $("c-release").textContent = T.release;
  $("c-release").title = T.releaseHint;
  $("c-send").textContent = T.send;
  $("c-hint").textContent = T.hint;

  // --- the socket ------------------------------------------------------------
  function connect() {
    clearTimeout(retryTimer);
    setConn(T.connecting, false);
    var url = location.origin.replace(/^http/, "ws") + "/chat/ws";
    try { sock = new WebSocket(url); } catch (e) { return retry(); }
    var s = sock;
    s.onopen = function () {
      var have = {};
      Object.keys(chats).forEach(function (id) { have[id] = lastID(chats[id]); });
      s.send(JSON.stringify({ type: "hello", status: status, chats: have }));
      clearInterval(pinger);
      pinger = setInterval(function () { raw({ type: "ping" }); }, 25000);
    };
    s.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (_) { return; }
      if (f && typeof f == "object") frame(f);
    };
    s.onclose = function () {
      if (sock === s) sock = null;
      welcomed = false;
      clearInterval(pinger);
      setConn(T.lost, false);
      checkSession();
      retry();
    };
  }
  function retry() {
    backoff = Math.min(backoff ? backoff * 2 : 1, 30);
    retryTimer = setTimeout(connect, backoff * 1000 + Math.random() * 1000);
  }
  // reconnectNow skips the backoff's wait when the network is back or the
  // operator comes back to the tab (a laptop woken, a sign-in in another
  // tab): a console away for long is offline, and its site's chats turn
  // into leads.
  function reconnectNow() {
    if (sock || document.visibilityState != "visible") return;
    backoff = 0;
    connect();
  }
  window.addEventListener("online", reconnectNow);
  window.addEventListener("focus", reconnectNow);
  // checkSession asks whether the operator is still signed in when the
  // socket closed (the session ended, expired, or a password changed): the
  // socket cannot say, its upgrade is refused without words. Signed out,
  // the console says so with a sign-in link (a new tab: what was written
  // here waits, and is sent once the console reconnects).
  function checkSession() {
    if (!window.fetch) return;
    fetch("/chat", { credentials: "same-origin", redirect: "manual", cache: "no-store" }).then(function (r) {
      if (welcomed || !(r.type == "opaqueredirect" || r.status == 401 || r.status == 403)) return;
      var c = $("c-conn");
      c.textContent = T.signedOut + " ";
      c.className = "c-conn out";
      var a = el("a", "", T.signIn);
      a.href = "/login";
      a.target = "_blank";
      a.rel = "noopener";
      c.appendChild(a);
    }, function () {});
  }
  function raw(f) {
    if (sock && welcomed && sock.readyState == 1) { sock.send(JSON.stringify(f)); return true; }
    return false;
  }
  // renderMe says when the server counts this operator offline though the
  // console is connected and they chose "online": nothing was done here
  // for long (the idle timeout), and visitors are told nobody is there.
  function renderMe() {
    if (!welcomed) return;
    var idle = status == "online" && Object.keys(sites).some(function (k) { return sites[k].operators[me] == "offline"; });
    setConn(idle ? T.idle : T.connected, !idle);
  }
  function setConn(text, up) {
    var c = $("c-conn");
    c.textContent = text;
    c.className = "c-conn" + (up ? " up" : "");
  }

  // --- frames ----------------------------------------------------------------
  function frame(f) {
    switch (f.type) {
      case "welcome":
        welcomed = true;
        backoff = 0;
        setConn(T.connected, true);
        if (f.operator) me = f.operator;
        canned = f.canned || {};
        sites = {};
        (f.sites || []).forEach(function (s) {
          var ops = {};
          (s.operators || []).forEach(function (o) { ops[o.name] = o.status; });
          sites[s.key] = { name: s.name, operators: ops };
        });
        visitors = {};
        (f.visitors || []).forEach(function (v) { visitors[v.site + ":" + v.visitor] = v; });
        // Chats the page did not hold yet: their history, which is not
        // news (the hello brings what the page missed of the others).
        (f.chats || []).forEach(function (c) {
          if (!chats[c.id]) {
            chatOf(c, false);
            chats[c.id].loading = true;
            history(chats[c.id], 0);
          } else chatOf(c, false);
        });
        Object.keys(pending).forEach(function (ref) {
          var p = pending[ref];
          raw(p.invite ? { type: "invite", site: p.site, visitor: p.visitor, ref: ref, text: p.text } : { type: "send", chat: p.chat, ref: ref, text: p.text });
        });
        renderAll();
        if (wanted) openWanted();
        break;
      case "message": message(f); break;
      case "ack": acked(f); break;
      case "history":
        // An answer of a full page (ids have no gaps) has more after it.
        var hc = chats[f.chat];
        if (hc && f.id - (hc.historyAfter || 0) >= HISTORY_PAGE) history(hc, f.id);
        else if (hc) hc.loading = false;
        break;
      // Another chat's news leaves the open chat as it is (what the
      // operator selected in it, a screen reader's place in its log).
      case "chat": chatOf(f.chat, true); if (f.chat && isSel(f.chat.id)) renderAll(); else { renderChats(); renderVisitors(); title(); } break;
      case "typing":
        if (f.from == "visitor" && chats[f.chat]) {
          var ch = chats[f.chat];
          clearTimeout(ch.typingTimer);
          ch.typing = !!f.on;
          if (f.on) ch.typingTimer = setTimeout(function () { ch.typing = false; renderTyping(); }, 6000);
          renderTyping();
        } else if (f.from == "operator" && f.name != me && chats[f.chat]) {
          // A colleague writes a reply to this chat: two answers at once
          // would cross.
          var oc = chats[f.chat];
          clearTimeout(oc.opTypingTimer);
          oc.opTyping = f.on ? f.name : "";
          if (f.on) oc.opTypingTimer = setTimeout(function () { oc.opTyping = ""; renderTyping(); }, 6000);
          renderTyping();
        }
        break;
      case "delivered": case "read":
        if (f.type == "read" && f.from == "operator" && chats[f.chat]) {
          // Another console read the chat: it is read here too.
          readTo(chats[f.chat], f.id);
          renderChats();
          title();
        }
        if (f.from == "visitor" && chats[f.chat]) {
          var c2 = chats[f.chat];
          c2[f.type] = Math.max(c2[f.type] || 0, f.id);
          if (isSel(f.chat)) renderMarks(c2);
        }
        break;
      case "presence":
        if (f.site && sites[f.site]) {
          sites[f.site].operators[f.name] = f.status;
          renderOperators();
          if (f.name == me) renderMe();
          // A chat's operator went or came: whether it may be taken, and
          // whose news its messages are (the title's count).
          renderChats();
          title();
          if (selected && selected.chat && chats[selected.chat]) renderHead(chats[selected.chat].c);
        }
        break;
      case "visitor":
        var k = f.site + ":" + f.visitor;
        if (f.online) visitors[k] = { site: f.site, visitor: f.visitor, session: f.session, u: f.u, since: visitors[k] ? visitors[k].since : Date.now() };
        else delete visitors[k];
        renderVisitors();
        break;
      case "error": failed(f); break;
    }
  }

  // history asks for the chat's messages after the id, a page at a time
  // (the server answers at most HISTORY_PAGE): a long chat comes whole,
  // with the visitor's latest words, not only its first page.
  var HISTORY_PAGE = 500;
  function history(ch, after) {
    ch.historyAfter = after;
    raw({ type: "history", chat: ch.c.id, after: after });
  }

  function lastID(ch) { return ch.order.length ? ch.order[ch.order.length - 1] : 0; }

  // readTo moves the chat's operators' read mark (the chat's operator_read,
  // shared by every console) to id and counts the visitor's messages after
  // it as unread.
  function readTo(ch, id) {
    if (id <= (ch.opRead || 0)) return;
    ch.opRead = id;
    ch.unread = ch.order.filter(function (m) { return m > id && ch.msgs[m].from == "visitor"; }).length;
  }

  function chatOf(c, live) {
    if (!c || !c.id) return;
    var ch = chats[c.id];
    if (!ch) {
      ch = chats[c.id] = { c: c, msgs: {}, order: [], unread: 0 };
      // A chat that opened just now: what it holds is news.
      if (live && welcomed) history(ch, 0);
      if (live && c.status == "open" && c.assigned == "" && forMe(c)) alertOf(T.newChat, visitorNo(c.visitor), c.id);
    }
    ch.c = c;
    ch.read = Math.max(ch.read || 0, c.visitor_read || 0);
    readTo(ch, c.operator_read || 0);
    if (isSel(c.id)) renderChat();
  }

  function message(f) {
    var ch = chats[f.chat];
    if (!ch) {
      ch = chats[f.chat] = { c: { id: f.chat, status: "open", assigned: "", visitor: 0, site: "" }, msgs: {}, order: [], unread: 0 };
    }
    if (ch.msgs[f.id]) return;
    // This console's own message, here before its ack: it takes the place
    // of the "sending" copy, found by the ref the server echoes (a
    // colleague's message of the same words is not it: the copy stays
    // until its own ack, or says "not sent"). A message without a ref (a
    // replay of a chat that no longer keeps it) leaves the copy to the ack.
    var own = f.from == "operator" && f.ref && pending[f.ref];
    if (own && own.node) {
      own.node.remove();
      own.node = null;
    }
    ch.msgs[f.id] = f;
    ch.order.push(f.id);
    ch.order.sort(function (a, b) { return a - b; });
    if (f.from == "visitor") {
      ch.typing = false;
      raw({ type: "delivered", chat: f.chat, id: f.id });
      var seen = isSel(f.chat) && document.visibilityState == "visible";
      if (seen) {
        raw({ type: "read", chat: f.chat, id: f.id });
        readTo(ch, f.id);
      } else if (f.id > (ch.opRead || 0)) {
        // Unread until an operator reads it: also a message of the history
        // a reload brings, which is no news to alert of.
        ch.unread++;
        if (!ch.loading && forMe(ch.c)) alertOf(T.newMessage, f.text, f.chat);
      }
    }
    // A colleague handed the chat to this operator, or gave it back to the
    // queue while this operator is online: news, as a new message is
    // (the chat frame that follows makes it theirs, or nobody's).
    if (f.from == "system" && f.name != me && !ch.loading) {
      if (f.code == "transfer" && f.to == me) alertOf(T.transferredToYou, systemText(f), f.chat);
      else if (f.code == "release" && status == "online") alertOf(T.releasedNews, systemText(f), f.chat);
    }
    if (isSel(f.chat)) {
      appendMsg(ch, f);
      if (!ch.loading && !(f.from == "operator" && f.name == me)) announce(f);
    }
    renderChats();
    title();
  }

  // systemText is a system message in the reader's words: the lead's
  // note, a transfer's (who to whom), a release's; else the server's text.
  function systemText(m) {
    if (m.code == "lead") return T.lead;
    if (m.code == "transfer") return fill2(T.transferred, m.name, m.to);
    if (m.code == "release") return fill(T.released, m.name);
    return m.text;
  }
  // lastWord is the chat's latest message that is a word of the chat: a
  // transfer's note leaves the chat waiting for whom it waited.
  function lastWord(ch) {
    for (var i = ch.order.length - 1; i >= 0; i--) {
      var m = ch.msgs[ch.order[i]];
      if (m.code != "transfer" && m.code != "release") return m;
    }
    return null;
  }

  function acked(f) {
    var p = pending[f.ref];
    if (!p) return;
    delete pending[f.ref];
    if (p.invite) { select({ chat: f.chat }); return; }
    var ch = chats[f.chat];
    if (p.node) p.node.remove();
    if (ch && !ch.msgs[f.id]) message({ type: "message", chat: f.chat, id: f.id, from: "operator", name: me, text: p.text, at: f.at });
  }

  function failed(f) {
    var msg = T.errors[f.code] || f.message || f.code;
    var p = f.ref && pending[f.ref];
    if (p) {
      delete pending[f.ref];
      if (p.node) { p.node.classList.add("failed"); p.node.querySelector(".c-mark").textContent = T.failed; }
      // A refused invitation is shown nowhere else: its words go back to
      // its field (kept for it while another chat is open), unless the
      // operator has written something new there.
      var ta = $("c-text"), k = p.invite && draftKey({ visitor: p.site + ":" + p.visitor });
      if (k && selected && draftKey(selected) == k) { if (!ta.value.trim()) ta.value = p.text; }
      else if (k && !(drafts[k] || "").trim()) drafts[k] = p.text;
    }
    var e = $("c-error");
    e.textContent = msg;
    e.hidden = false;
    setTimeout(function () { e.hidden = true; }, 8000);
  }

  // --- alerts: sound, notification, title ---------------------------------------
  var audio = null;
  document.addEventListener("pointerdown", function () {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (window.Notification && Notification.permission == "default") Notification.requestPermission();
    activity();
  });
  document.addEventListener("keydown", activity);
  // Looking at the console is activity too: an operator who reads, or
  // comes back to the tab, is there (the server counts one with no sign of
  // life for 30 minutes as gone, and its visitors are told nobody is).
  document.addEventListener("mousemove", activity);
  window.addEventListener("focus", activity);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState == "visible") activity(); });
  function activity() {
    var now = Date.now();
    if (now - lastActivity > 60000 && raw({ type: "status", status: status })) lastActivity = now;
  }

  function alertOf(head, body, chat) {
    if (audio) {
      try {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = 880; g.gain.value = 0.08;
        o.connect(g); g.connect(audio.destination);
        o.start(); o.stop(audio.currentTime + 0.15);
      } catch (e) {}
    }
    if (window.Notification && Notification.permission == "granted" && (document.visibilityState != "visible" || !isSel(chat))) {
      try {
        var n = new Notification(head, { body: shown(body).slice(0, 200), tag: "chat-" + chat });
        n.onclick = function () { window.focus(); select({ chat: chat }); n.close(); };
      } catch (e) {}
    }
    title();
  }

  // title counts the unread messages of the open chats that are this
  // operator's to answer (forMe): one that ended unread (closed, became a
  // lead) has left the list and is no news here, nor is a chat a colleague
  // online has taken (its count stays on its row of the list).
  function title() {
    var n = 0;
    Object.keys(chats).forEach(function (id) { if (chats[id].c.status == "open" && forMe(chats[id].c)) n += chats[id].unread; });
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
  }

  // --- rendering -------------------------------------------------------------------
  function isSel(chat) { return selected && selected.chat == chat; }

  function renderAll() { renderChats(); renderVisitors(); renderOperators(); if (selected) renderSelected(); title(); }

  function siteName(key) { return (sites[key] && sites[key].name) || key; }
  // visitorNo is a visitor's name by number in the reader's language ("Посетитель № 12").
  function visitorNo(id) { return T.visitorNo.replace("%d", id || "?"); }

  // keepFocus draws a list again (draw) and gives the focus back to the
  // row (its attr) that had it: an operator at the keyboard keeps their
  // place while frames come.
  function keepFocus(ul, attr, draw) {
    var a = document.activeElement;
    var row = a && a != ul && ul.contains(a) && a.parentNode.getAttribute(attr);
    draw();
    var b = row && ul.querySelector("li[" + attr + '="' + row + '"] button');
    if (b) b.focus();
  }

  function renderChats() { keepFocus($("c-chats"), "data-chat", drawChats); }
  function drawChats() {
    var ul = $("c-chats");
    ul.textContent = "";
    var ids = Object.keys(chats).filter(function (id) { return chats[id].c.status == "open" || isSel(+id); });
    // Chats waiting for an answer (the visitor wrote last) first, then the
    // others; the latest active first within each: on a busy day the
    // visitors who wait are on top, not the newest chat.
    var waiting = function (id) { var ch = chats[id], m = lastWord(ch); return m ? m.from == "visitor" : !ch.c.assigned; };
    var lastAt = function (id) { var ch = chats[id], m = ch.msgs[lastID(ch)]; return (m && m.at) || ch.c.last_at || ch.c.created || 0; };
    ids.sort(function (a, b) { return (waiting(b) - waiting(a)) || (lastAt(b) - lastAt(a)) || (b - a); });
    if (!ids.length) ul.appendChild(el("li", "muted", T.noChats));
    ids.forEach(function (id) {
      var ch = chats[id], c = ch.c;
      var li = el("li", isSel(+id) ? "sel" : "");
      li.setAttribute("data-chat", id);
      var b = el("button");
      b.type = "button";
      var row = el("span", "c-row");
      row.appendChild(el("strong", "", visitorNo(c.visitor)));
      if (ch.unread) row.appendChild(el("span", "c-unread", ch.unread));
      b.appendChild(row);
      var last = ch.msgs[lastID(ch)];
      b.appendChild(el("span", "c-line", last ? (last.from == "system" ? systemText(last) : last.text) : ""));
      // an ended chat, listed while it is open on the screen, says so (as
      // its header does), not whose it was
      b.appendChild(el("span", "c-line", siteName(c.site) + " · " + (c.status != "open" ? (c.lead ? T.lead : T.closed) : whose(c))));
      b.addEventListener("click", function () { select({ chat: +id }); });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  function renderVisitors() { keepFocus($("c-visitors"), "data-visitor", drawVisitors); }
  function drawVisitors() {
    var ul = $("c-visitors");
    ul.textContent = "";
    var keys = Object.keys(visitors);
    if (!keys.length) ul.appendChild(el("li", "muted", T.noVisitors));
    keys.forEach(function (k) {
      var v = visitors[k];
      var li = el("li", selected && selected.visitor == k ? "sel" : "");
      li.setAttribute("data-visitor", v.visitor);
      var b = el("button");
      b.type = "button";
      var row = el("span", "c-row");
      row.appendChild(el("strong", "", visitorNo(v.visitor)));
      row.appendChild(el("span", "muted", minutes(v.since)));
      b.appendChild(row);
      b.appendChild(el("span", "c-line", v.u || ""));
      b.appendChild(el("span", "c-line", siteName(v.site)));
      b.addEventListener("click", function () { select({ visitor: k }); });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  function renderOperators() {
    var ul = $("c-operators");
    ul.textContent = "";
    Object.keys(sites).forEach(function (key) {
      var ops = sites[key].operators;
      Object.keys(ops).forEach(function (name) {
        var li = el("li");
        li.appendChild(el("span", "", name + " · " + sites[key].name));
        li.appendChild(el("span", "muted", T["status_" + ops[name]] || ops[name]));
        ul.appendChild(li);
      });
    });
  }

  function minutes(since) {
    return since ? fill(T.minutes, Math.max(0, Math.round((Date.now() - since) / 60000))) : "";
  }

  // Each chat (each visitor's invitation) keeps the reply typed in it and
  // not sent: another chat opened meanwhile has its own field, and Enter
  // there never sends one visitor's answer to another.
  var drafts = {};
  function draftKey(s) { return s.chat ? "c" + s.chat : "v" + s.visitor; }
  // openWanted opens the chat of the address when the console lists it
  // (open, whoever has it); else it says plainly that the chat is not
  // here (ended, or no such chat) and links to where its messages are.
  function openWanted() {
    var id = wanted;
    wanted = 0;
    if (chats[id] && chats[id].c.status == "open") { select({ chat: id }); return; }
    var p = $("c-missing");
    p.textContent = fill(root.getAttribute("data-found") ? T.ended : T.noSuchChat, id);
    var href = root.getAttribute("data-transcript");
    if (href) {
      p.appendChild(document.createTextNode(" "));
      var a = el("a", "", T.transcript);
      a.href = href;
      p.appendChild(a);
    }
    p.hidden = false;
    $("c-empty").hidden = true;
  }

  // address keeps the console's address on the chat it shows (?chat=ID),
  // so a reload, or the address copied, opens it again.
  function address(s) {
    if (!window.history || !window.history.replaceState) return;
    var q = s.chat ? "?chat=" + s.chat : "";
    if (location.search != q) window.history.replaceState(null, "", location.pathname + q);
  }

  function select(s) {
    var ta = $("c-text");
    if (selected) drafts[draftKey(selected)] = ta.value;
    if (!selected || draftKey(selected) != draftKey(s)) ta.value = drafts[draftKey(s)] || "";
    delete drafts[draftKey(s)];
    selected = s;
    address(s);
    renderSelected();
    renderChats();
    renderVisitors();
    $("c-text").focus();
  }

  function renderSelected() {
    $("c-empty").hidden = true;
    $("c-missing").hidden = true;
    $("c-chat").hidden = false;
    if (selected.chat) renderChat();
    else renderInvite();
  }

  // whose says who has the chat, and when another operator has it who is
  // not online (away, gone), their status: the chat may be taken over.
  function whose(c) {
    if (!c.assigned) return T.unassigned;
    var s = c.assigned == me ? T.assignedToMe : fill(T.assignedTo, c.assigned);
    var st = opStatus(c.site, c.assigned);
    return c.assigned != me && st != "online" ? s + " (" + (T["status_" + st] || st) + ")" : s;
  }
  function opStatus(site, name) { return (sites[site] && sites[site].operators[name]) || "offline"; }
  // forMe: the chat's news (a new message) is this operator's to hear of,
  // with a sound, a desktop notification and the tab's count: the chat is
  // theirs; or, while they are online (not away), it is nobody's or its
  // operator is not online (away, gone: it may be taken over, canTake). A
  // chat a colleague online has taken rings only in their console; whose
  // it is follows the chat and presence frames (taken, handed over, its
  // operator back).
  function forMe(c) {
    if (c.assigned == me) return true;
    return status == "online" && (!c.assigned || opStatus(c.site, c.assigned) != "online");
  }
  // canTake: the chat has nobody, or its operator is not online (the
  // server hands it over then, chat-protocol.md).
  function canTake(c) { return c.status == "open" && (!c.assigned || c.assigned != me && opStatus(c.site, c.assigned) != "online"); }
  // canWrite: the operator may answer the chat: it is not a colleague's
  // who is online (the server refuses it, error "assigned").
  function canWrite(c) { return c.status == "open" && (!c.assigned || c.assigned == me || opStatus(c.site, c.assigned) != "online"); }
  // canTransfer: the operator may hand the chat on: theirs, one they could
  // take, or any open chat for a manager or the owner.
  function canTransfer(c) { return c.status == "open" && (c.assigned == me || canTake(c) || manage); }

  function renderHead(c) {
    var had = document.activeElement;
    $("c-title").textContent = visitorNo(c.visitor) + " · " + siteName(c.site);
    $("c-sub").textContent = c.status != "open" ? (c.lead ? T.lead : T.closed) : whose(c);
    $("c-claim").hidden = !canTake(c);
    $("c-close").hidden = c.status != "open";
    renderTransfer(c);
    var ta = $("c-text");
    ta.disabled = !canWrite(c);
    ta.placeholder = c.status == "open" && !canWrite(c) ? fill(T.colleagueHas, c.assigned) : T.placeholder;
    // A header control used from the keyboard goes away with what it did
    // (taken, ended, handed on): the focus goes on to the reply field, or
    // the conversation, not to the top of the page.
    if (had && had.hidden && had.closest && had.closest(".c-actions")) (ta.disabled ? $("c-log") : ta).focus();
  }

  // renderTransfer fills the header's Transfer list with the colleagues
  // online on the chat's site (not away: a chat goes to whom can answer
  // it now), and shows Release while the chat is someone's. The list is
  // offered to the operator themselves only when they manage chats and
  // cannot simply take it (a colleague online has it): else Take does
  // that. It is drawn again only when what it offers changed, so a list
  // the operator has open is not closed under the mouse by every frame.
  function renderTransfer(c) {
    var s = $("c-transfer");
    var may = canTransfer(c);
    s.hidden = !may;
    $("c-release").hidden = !may || !c.assigned;
    var ops = (sites[c.site] && sites[c.site].operators) || {};
    var names = may ? Object.keys(ops).filter(function (n) {
      return ops[n] == "online" && n != c.assigned && (n != me || manage && !canTake(c));
    }).sort() : [];
    var sig = may + "\n" + c.id + "\n" + names.join("\n");
    if (s.getAttribute("data-offer") === sig) return;
    s.setAttribute("data-offer", sig);
    s.textContent = "";
    if (!may) return;
    var head = el("option", "", T.transfer);
    head.value = "";
    s.appendChild(head);
    names.forEach(function (n) {
      var o = el("option", "", n == me ? n + " (" + T.you + ")" : n);
      o.value = n;
      s.appendChild(o);
    });
    if (!names.length) {
      var none = el("option", "", T.noColleague);
      none.value = "";
      none.disabled = true;
      s.appendChild(none);
    }
    s.value = "";
  }

  function renderChat() {
    var ch = chats[selected.chat];
    if (!ch) return;
    var c = ch.c;
    $("c-send").textContent = T.send;
    renderHead(c);
    var log = $("c-log");
    // The chat drawn again (a frame of another chat, the tab shown again)
    // stays where the operator scrolled it, unless at its end.
    var keep = log.getAttribute("data-chat") == String(c.id) && log.scrollHeight - log.scrollTop - log.clientHeight >= 40 ? log.scrollTop : -1;
    log.setAttribute("data-chat", c.id);
    log.textContent = "";
    ch.order.forEach(function (id) { appendMsg(ch, ch.msgs[id], true); });
    Object.keys(pending).forEach(function (ref) { if (pending[ref].chat == c.id && pending[ref].node) log.appendChild(pending[ref].node); });
    log.scrollTop = keep >= 0 ? keep : log.scrollHeight;
    renderCanned(c.site);
    renderTyping();
    ch.unread = 0;
    var last = lastID(ch);
    if (last && document.visibilityState == "visible") {
      raw({ type: "read", chat: c.id, id: last });
      readTo(ch, last);
    }
    title();
    journey(c.site, c.visitor, c.session, c);
  }

  function renderInvite() {
    var v = visitors[selected.visitor];
    if (!v) return;
    $("c-title").textContent = visitorNo(v.visitor) + " · " + siteName(v.site);
    $("c-sub").textContent = T.invite;
    $("c-claim").hidden = true;
    $("c-close").hidden = true;
    $("c-transfer").hidden = true;
    $("c-release").hidden = true;
    $("c-log").textContent = "";
    $("c-log").removeAttribute("data-chat");
    $("c-typing").textContent = "";
    $("c-send").textContent = T.inviteSend;
    $("c-text").placeholder = T.invitePlaceholder;
    $("c-text").disabled = false;
    renderCanned(v.site);
    journey(v.site, v.visitor, v.session, null);
  }

  function renderCanned(site) {
    var s = $("c-canned");
    s.textContent = "";
    var list = canned[site] || [];
    s.hidden = !list.length;
    var o = el("option", "", T.canned);
    o.value = "";
    s.appendChild(o);
    list.forEach(function (text, i) {
      var op = el("option", "", text.length > 80 ? text.slice(0, 80) + "…" : text);
      op.value = String(i);
      s.appendChild(op);
    });
  }
  $("c-canned").addEventListener("change", function () {
    var site = selected && (selected.chat ? chats[selected.chat].c.site : visitors[selected.visitor] && visitors[selected.visitor].site);
    var text = (canned[site] || [])[+this.value];
    if (this.value !== "" && text) {
      var ta = $("c-text");
      ta.value = ta.value ? ta.value + "\n" + text : text;
      ta.focus();
    }
    this.value = "";
  });

  function renderTyping() {
    var ch = selected && selected.chat && chats[selected.chat];
    $("c-typing").textContent = !ch ? "" : [ch.typing ? T.typing : "", ch.opTyping ? fill(T.colleagueTyping, ch.opTyping) : ""].filter(Boolean).join(" ");
  }

  function appendMsg(ch, m, bulk) {
    var log = $("c-log");
    var n = el("div", "c-msg " + (m.from == "visitor" ? "visitor" : m.from == "system" ? "system" : "operator"));
    n.setAttribute("data-id", m.id);
    if (m.from != "system") n.appendChild(el("span", "c-who", m.from == "visitor" ? T.visitor : m.name || me));
    n.appendChild(el("span", "c-text", m.from == "system" ? systemText(m) : m.text));
    if (m.from == "operator") n.appendChild(el("span", "c-mark", mark(ch, m.id)));
    var atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.appendChild(n);
    if (!bulk && (atEnd || m.from == "operator")) log.scrollTop = log.scrollHeight;
    if (!bulk && m.from == "visitor" && document.visibilityState == "visible") raw({ type: "read", chat: ch.c.id, id: m.id });
  }

  // announce has a screen reader read out a message that came to the open
  // chat, once: the polite region holds that message alone (the
  // conversation is a log that is not live, since it is drawn again whole
  // as frames come). Its words are text, never markup.
  function announce(m) {
    var a = $("c-announce");
    a.textContent = "";
    a.appendChild(el("p", "", (m.from == "visitor" ? T.visitor : m.from == "system" ? T.note : m.name) + ": " + (m.from == "system" ? systemText(m) : m.text)));
  }

  function mark(ch, id) {
    return id <= (ch.read || 0) ? "✓✓ " + T.read : id <= (ch.delivered || 0) ? "✓✓ " + T.delivered : "✓ " + T.sent;
  }

  function renderMarks(ch) {
    Array.prototype.forEach.call($("c-log").querySelectorAll(".c-msg.operator[data-id]"), function (n) {
      var id = +n.getAttribute("data-id");
      if (id) n.querySelector(".c-mark").textContent = mark(ch, id);
    });
  }

  // --- the visitor's journey ---------------------------------------------------------
  var journeyKey = "";
  function journey(site, visitor, session, c) {
    var key = site + ":" + visitor + ":" + session;
    if (key == journeyKey) return;
    journeyKey = key;
    var body = $("c-journey-body");
    body.textContent = T.loading;
    fetch("/chat/visitor?site=" + encodeURIComponent(site) + "&visitor=" + encodeURIComponent(visitor) + "&session=" + encodeURIComponent(session || 0), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (v) {
        if (journeyKey != key) return;
        drawJourney(body, v && v.success ? v.result : null, c);
      }, function () { if (journeyKey == key) body.textContent = T.noJourney; });
  }

  function dl(pairs) {
    var d = el("dl");
    pairs.forEach(function (p) {
      if (p[1] == null || p[1] === "") return;
      d.appendChild(el("dt", "", p[0]));
      d.appendChild(el("dd", "", p[1]));
    });
    return d;
  }

  function drawJourney(body, j, c) {
    body.textContent = "";
    if (!j) { body.textContent = T.noJourney; return; }
    var src = j.source || (c && c.source) || {};
    // Each UTM tag under its name, as the dashboard's lists write them.
    var utm = [[T.source, src.utm_source], [T.medium, src.utm_medium], [T.campaign, src.utm_campaign], [T.term, src.utm_term], [T.content, src.utm_content]]
      .filter(function (p) { return p[1]; }).map(function (p) { return p[0] + ": " + p[1]; }).join(" · ");
    var pages = j.pages || [];
    var lastPage = pages[pages.length - 1] || {};
    body.appendChild(dl([
      [T.page, lastPage.url || (c && c.page) || ""],
      [T.title, lastPage.title || ""],
      [T.source, [src.channel, src.referrer].filter(Boolean).join(" · ")],
      [T.utm, utm],
      [T.began, c ? c.page : ""],
      [T.onSite, j.started ? minutes(j.started) : ""],
      [T.contact, [j.name].concat(j.phones || [], j.emails || []).filter(Boolean).join(", ")],
    ]));
    section(body, T.pages, pages.map(function (p) { return (p.title ? p.title + " — " : "") + p.url; }));
    section(body, T.earlier, (j.sessions || []).map(function (s) { return s.when + " · " + [s.channel, s.utm_campaign].filter(Boolean).join(" / ") + (s.landing ? " · " + s.landing : ""); }));
    section(body, T.calls, (j.calls || []).map(function (x) { return x.when + " · " + x.caller + (x.status ? " · " + x.status : ""); }));
    section(body, T.leads, (j.leads || []).map(function (x) { return x.when + " · " + [x.name, x.phone, x.email, x.message].filter(Boolean).join(" · "); }));
  }

  function section(body, title, lines) {
    body.appendChild(el("h2", "", title));
    if (!lines.length) { body.appendChild(el("p", "muted", T.none)); return; }
    var ol = el("ol");
    lines.slice(0, 50).forEach(function (l) { ol.appendChild(el("li", "", l)); });
    body.appendChild(ol);
  }

  // --- writing -------------------------------------------------------------------------
  function ref() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }

  function submit() {
    var ta = $("c-text");
    var text = ta.value.trim();
    if (!text || !selected) return;
    // The limit is 4096 bytes, the field's maxlength 4096 characters: a
    // longer reply (Cyrillic takes two bytes a letter) stays in the field
    // to be shortened, instead of being refused by the server, which
    // closes the socket on it.
    if (unescape(encodeURIComponent(text)).length > 4096) { failed({ code: "bad_text" }); return; }
    var r = ref();
    if (selected.visitor) {
      var v = visitors[selected.visitor];
      if (!v) return;
      pending[r] = { invite: true, site: v.site, visitor: v.visitor, text: text };
      raw({ type: "invite", site: v.site, visitor: v.visitor, ref: r, text: text });
    } else {
      var ch = chats[selected.chat];
      if (!ch || ch.c.status != "open") return;
      var n = el("div", "c-msg operator");
      n.appendChild(el("span", "c-who", me));
      n.appendChild(el("span", "c-text", text));
      n.appendChild(el("span", "c-mark", T.sending));
      $("c-log").appendChild(n);
      $("c-log").scrollTop = $("c-log").scrollHeight;
      pending[r] = { chat: ch.c.id, text: text, node: n };
      raw({ type: "send", chat: ch.c.id, ref: r, text: text });
      raw({ type: "typing", chat: ch.c.id, on: false });
      typingAt = 0;
    }
    ta.value = "";
  }

  var typingAt = 0;
  // On a touch screen (an owner answering from their phone) Enter is a
  // new line, as in the phone's messengers: its keyboard has no
  // Shift+Enter, and the Send button is at hand.
  var touch = function () { return !!window.matchMedia && matchMedia("(hover: none) and (pointer: coarse)").matches; };
  if (touch()) $("c-hint").hidden = true;
  $("c-text").addEventListener("keydown", function (e) {
    if (e.key == "Enter" && !e.shiftKey && !e.isComposing && !touch()) { e.preventDefault(); submit(); }
  });
  $("c-text").addEventListener("input", function () {
    if (!selected || !selected.chat || !this.value.trim()) return;
    var now = Date.now();
    if (now - typingAt > 2000) { typingAt = now; raw({ type: "typing", chat: selected.chat, on: true }); }
  });
  $("c-form").addEventListener("submit", function (e) { e.preventDefault(); submit(); });
  $("c-claim").addEventListener("click", function () { if (selected && selected.chat) raw({ type: "claim", chat: selected.chat }); });
  $("c-close").addEventListener("click", function () { if (selected && selected.chat) raw({ type: "close", chat: selected.chat }); });
  // A transfer names whose the console shows the chat is ("from"): one
  // that changed hands meanwhile is refused ("assigned"), not moved from
  // whoever has it now.
  function transfer(to) {
    var ch = selected && selected.chat && chats[selected.chat];
    if (ch) raw({ type: "transfer", chat: ch.c.id, operator: to, from: ch.c.assigned || "" });
  }
  $("c-transfer").addEventListener("change", function () {
    var to = this.value;
    this.value = "";
    if (to) transfer(to);
  });
  $("c-release").addEventListener("click", function () { transfer(""); });
  $("c-online").addEventListener("change", function () {
    status = this.checked ? "online" : "away";
    raw({ type: "status", status: status });
    title();
  });
  document.addEventListener("visibilitychange", function () {
    // back in the tab: the open chat is read, its row's count too
    if (document.visibilityState == "visible" && selected && selected.chat) { renderChat(); renderChats(); }
  });
  setInterval(renderVisitors, 60000);

  renderAll();
  connect();
})();
