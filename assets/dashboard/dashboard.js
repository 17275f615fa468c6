// Dashboard behaviour that needs no framework. Loaded in every page's
// <head> (the Content-Security-Policy allows scripts only from this
// server, and no inline script or on* attribute): it marks the page as
// scripted at once, so the phone menu is closed before the first paint,
// and wires the rest once the document is parsed.
document.documentElement.classList.add("js");

// Copy buttons: <button data-target="ID"> copies the text of element ID.
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-target]");
  if (!b) return;
  var el = document.getElementById(b.getAttribute("data-target"));
  if (!el) return;
  var text = el.textContent;
  var label = b.getAttribute("data-label") || b.textContent;
  b.setAttribute("data-label", label);
  var done = function () { b.textContent = b.getAttribute("data-copied") || "Copied"; setTimeout(function () { b.textContent = label; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () {});
  } else {
    var r = document.createRange(); r.selectNodeContents(el);
    var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
    try { document.execCommand("copy"); done(); } catch (_) {}
  }
});

// The phone menu: the Menu button opens and closes the navigation; Escape
// closes it and gives the focus back to the button.
document.addEventListener("click", function (e) {
  var b = e.target.closest(".menu-button");
  if (!b) return;
  var nav = document.getElementById(b.getAttribute("aria-controls"));
  var open = b.getAttribute("aria-expanded") !== "true";
  b.setAttribute("aria-expanded", String(open));
  nav.classList.toggle("open", open);
  if (open) { var first = nav.querySelector("a, button"); if (first) first.focus(); }
});
document.addEventListener("keydown", function (e) {
  if (e.key !== "Escape") return;
  var b = document.querySelector('.menu-button[aria-expanded="true"]');
  if (!b) return;
  b.setAttribute("aria-expanded", "false");
  document.getElementById(b.getAttribute("aria-controls")).classList.remove("open");
  b.focus();
});

// Wide tables: a box that scrolls sideways gets .overflowing and, before
// it, a hint (the text is the body's data-scroll-hint), so a phone user
// knows there are more columns; it is focusable so the keyboard can
// scroll it too. Re-checked when the window changes size.
function markScrollers() {
  var hint = document.body.getAttribute("data-scroll-hint") || "";
  document.querySelectorAll(".table-scroll, .table-wrap").forEach(function (box) {
    var over = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("overflowing", over);
    var prev = box.previousElementSibling;
    var has = prev && prev.classList.contains("scroll-hint");
    if (over && !has && hint) {
      var p = document.createElement("p");
      p.className = "scroll-hint";
      p.textContent = hint;
      box.parentNode.insertBefore(p, box);
    } else if (!over && has) {
      prev.remove();
    }
    // A box the page made focusable itself keeps its attributes.
    if (over && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      var label = !box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby") && hint;
      if (label) box.setAttribute("aria-label", hint);
      box.setAttribute("data-scroll-focus", label ? "label" : "");
    } else if (!over && box.hasAttribute("data-scroll-focus")) {
      if (box.getAttribute("data-scroll-focus") === "label") box.removeAttribute("aria-label");
      ["tabindex", "role", "data-scroll-focus"].forEach(function (a) { box.removeAttribute(a); });
    }
  });
}
document.addEventListener("DOMContentLoaded", markScrollers);
window.addEventListener("resize", markScrollers);
document.addEventListener("toggle", markScrollers, true); // a <details> opened or closed

// A new site's time zone: the adding browser's (its owner's, as a rule),
// sent with the form, so that its reports' days are not the server's
// (often UTC) unless the owner chooses so in the site's settings.
document.addEventListener("DOMContentLoaded", function () {
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (_) {}
  document.querySelectorAll("input[data-browser-zone]").forEach(function (el) { if (!el.value) el.value = zone; });
});

// A site page with no visits yet (#no-visits): asked again every 5 s while
// shown, its visits card is swapped for the new one once the first visit
// has come, so that an owner who has just pasted the install code and
// opened the site sees it arrive without reloading.
document.addEventListener("DOMContentLoaded", function () {
  if (!document.getElementById("no-visits") || !window.fetch || !window.DOMParser) return;
  var timer = setInterval(function () {
    if (document.visibilityState !== "visible") return;
    fetch(location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        var now = new DOMParser().parseFromString(html, "text/html").getElementById("visits");
        var old = document.getElementById("visits");
        if (!now || !old || now.querySelector("#no-visits")) return;
        clearInterval(timer);
        old.replaceWith(document.importNode(now, true));
        markScrollers();
      }, function () {});
  }, 5000);
});

// The operator console (/chat) is a script of its own, loaded only on its
// page, in the version of this file.
(function () {
  var v = (document.currentScript && document.currentScript.src.split("?")[1]) || "";
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("console")) return;
    var s = document.createElement("script");
    s.src = "/assets/console.js" + (v ? "?" + v : "");
    document.head.appendChild(s);
  });
})();

// Chats waiting for an operator's answer, on every page but the console:
// a count beside "Chat" in the menu and in the tab's title, so that an
// operator on another page (or another tab) learns that a visitor wrote.
// Asked every 10 s while the page is visible, and when it is shown again.
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var link = document.querySelector('#main-nav a[href="/chat"]');
    if (!link || document.getElementById("console") || !window.fetch) return;
    var title = document.title, badge = null;
    function ask() {
      if (document.visibilityState !== "visible") return;
      fetch("/chat/waiting", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) { if (j && j.success) show(j.result.waiting, j.result.label); }, function () {});
    }
    function show(n, label) {
      if (n > 0 && !badge) {
        badge = document.createElement("span");
        badge.className = "nav-badge";
        link.appendChild(badge);
      }
      if (badge) {
        badge.hidden = !n;
        badge.textContent = String(n);
        badge.title = label;
        badge.setAttribute("aria-label", label);
      }
      document.title = (n ? "(" + n + ") " : "") + title;
    }
    ask();
    setInterval(ask, 10000);
    document.addEventListener("visibilitychange", ask);
  });
})();

// A recount of a site's reports on its settings page: while one runs, its
// state (#rebuild-state, data-poll the URL of its JSON) is asked for every
// 2 s while the page is visible, and shown in its place, the server's
// words in the user's language, until it ends; then the recount button
// works again. Without this script the page's Refresh link does it.
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var state = document.getElementById("rebuild-state");
    var url = state && state.getAttribute("data-poll");
    if (!url || !window.fetch) return;
    var timer = setInterval(ask, 2000);
    function ask() {
      if (!timer || document.visibilityState !== "visible") return;
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) { if (j && j.success && timer) show(j.result); }, function () {});
    }
    function show(r) {
      if (r.text) {
        state.textContent = r.text;
        state.className = r.error ? "error" : "flash";
        state.setAttribute("role", r.error ? "alert" : "status");
      }
      if (r.running) return;
      clearInterval(timer);
      timer = 0;
      state.removeAttribute("data-poll");
      var button = document.querySelector("#rebuild-form button");
      if (button) button.disabled = false;
    }
    document.addEventListener("visibilitychange", ask);
  });
})();
