/*
 * widget.js — the snippet's lazy chunk: the visitor-facing UI (the lead
 * form, the callback panel, the popup with a callback's outcome), the calls
 * that only that UI needs (callbacks, captchas), and the page's calls that
 * answer later (addVisitorInfo, addOfflineRequest, the property calls),
 * which few pages make. The core (cs.js) imports it the first time one of
 * these calls is made, from a content-hashed URL cached for a year, and
 * hands it the calls made meanwhile in call order.
 *
 * Contract with the core: this file sets window.__cs_widget to a function
 * that takes the core's helpers ({site_(), cred_(), operators_(v),
 * enqueue_(item), phoneMask_(), base_(), warn_(msg)}: names ending in "_"
 * are shortened by the build, the same way in both files; it adds send_,
 * answer_ and cut_ of its own) and returns an object
 * with the functions below; the core calls them with the page's arguments.
 * send(path, ...) posts to t/v1/<path> with the visitor's credentials,
 * after the page view's hit, and gives cb the answer: {success:true,
 * result}, an answer with a result as it is (sitePhoneCall's statuses 1-4
 * come with success:false), or {success:false, error}.
 *
 * chat(state) and openChatWindow() belong to the chat window (chat.js).
 *
 * The UI lives in a shadow root of one host element (<cs-widget>), so the
 * page's CSS cannot reach it, and builds every node with textContent and
 * attributes, never from HTML strings. Dialogs are modal (modal.js): focus
 * stays inside (Tab and Shift+Tab cycle), the page behind is inert and does
 * not scroll, Esc closes, and focus returns to where it was. For screen
 * readers (README, Accessibility): a refused field is marked invalid,
 * described by the form's alert region and focused; what happens outside
 * a dialog (the popup, the chat's new messages) is read out through two
 * live regions of the shadow root, made before anything is said in them.
 * Texts are in Russian or English: the site's setting, else the
 * browser's language. The site's settings (captcha required and its
 * length, language, groups) come from GET t/v1/widget
 * (httpd/tracker-protocol.md §8).
 */
import { chatWindow, printable } from "./chat.js";
import { layer, trap } from "./modal.js";

(function (w, d) {
  "use strict";

  var RU_MASK = "+7 (___) ___-__-__";
  var MIN_DIGITS = 7; // the fewest digits of a phone number with its country code

  var TEXT = {
    ru: {
      close: "Закрыть",
      leadTitle: "Оставить заявку",
      leadIntro: "Оставьте контакты — мы свяжемся с вами.",
      name: "Имя",
      phone: "Телефон",
      email: "Эл. почта",
      message: "Сообщение",
      send: "Отправить",
      sending: "Отправляем…",
      leadNeed: "Укажите имя, телефон или эл. почту либо напишите сообщение.",
      emailCheck: "Проверьте адрес эл. почты: похоже, в нём опечатка. Исправьте его или нажмите «Отправить» ещё раз, чтобы отправить как есть.",
      tooLong: "Слишком длинный текст в поле «%s»: сократите его.",
      leadDone: "Спасибо! Заявка отправлена, мы скоро свяжемся с вами.",
      leadSent: "Спасибо! Сообщение отправлено.",
      formName: "Форма заявки",
      failed: "Не удалось отправить. Попробуйте ещё раз позже.",
      // codes: what the visitor reads for a refused request's result code
      // (tracker-protocol.md §6, §8); the server's error is for developers.
      codes: {
        queued: "Спасибо! Мы получили ваш номер и перезвоним вам.",
        captcha_required: "Введите цифры с картинки: без них звонок заказать нельзя.",
        invalid_phone: "Проверьте номер телефона: он не указан или слишком длинный.",
        invalid_time: "Выберите другое время: не раньше чем через минуту и не позже чем через 30 дней.",
        empty_lead: "Укажите имя, телефон или эл. почту либо напишите сообщение.",
        rate_limit: "Слишком много запросов. Попробуйте через минуту.",
        not_sent: "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.",
      },
      cbTitle: "Заказать обратный звонок",
      cbIntro: "Оставьте номер — мы перезвоним.",
      phoneNeed: "Введите номер телефона.",
      when: "Когда позвонить",
      now: "Сейчас",
      later: "Позже",
      time: "Дата и время звонка",
      timeNeed: "Укажите, когда позвонить: дату и время, которые ещё не наступили.",
      group: "Отдел",
      anyGroup: "Любой",
      captcha: "Цифры с картинки",
      captchaImg4: "Картинка с четырьмя цифрами: введите их в поле ниже. Если цифры не разобрать, нажмите «Прослушать цифры»",
      captchaImg6: "Картинка с шестью цифрами: введите их в поле ниже. Если цифры не разобрать, нажмите «Прослушать цифры»",
      captchaNew: "Показать другую картинку",
      captchaListen: "Прослушать цифры",
      captchaNeed4: "Введите четыре цифры с картинки.",
      captchaNeed6: "Введите шесть цифр с картинки.",
      call: "Позвоните мне",
      status: [
        "Спасибо! Сейчас мы вам перезвоним.",
        "Цифры с картинки введены неверно. Попробуйте ещё раз.",
        "Обратный звонок на этом сайте пока не настроен.",
        "Не получилось заказать звонок. Попробуйте позже.",
        "Слишком много звонков за последнее время. Попробуйте через несколько минут.",
      ],
      scheduled: "Спасибо! Мы позвоним вам ",
      locale: "ru-RU",
    },
    en: {
      close: "Close",
      leadTitle: "Send us a request",
      leadIntro: "Leave your contacts and we will get back to you.",
      name: "Name",
      phone: "Phone",
      email: "Email",
      message: "Message",
      send: "Send",
      sending: "Sending…",
      leadNeed: "Give your name, phone or email, or write a message.",
      emailCheck: "Check the email address: it looks mistyped. Correct it, or press Send again to send it as it is.",
      tooLong: "The %s field is too long: please shorten it.",
      leadDone: "Thank you! Your request was sent; we will be in touch soon.",
      leadSent: "Thank you! Your message was sent.",
      formName: "Lead form",
      failed: "Could not send. Please try again later.",
      codes: {
        queued: "Thank you! We have your number and will call you back.",
        captcha_required: "Type the digits in the picture: a call cannot be ordered without them.",
        invalid_phone: "Check the phone number: it is empty or too long.",
        invalid_time: "Pick another time: from a minute to 30 days ahead.",
        empty_lead: "Give your name, phone or email, or write a message.",
        rate_limit: "Too many requests. Please try again in a minute.",
        not_sent: "Could not reach the server. Check your connection and try again.",
      },
      cbTitle: "Request a callback",
      cbIntro: "Leave your number and we will call you back.",
      phoneNeed: "Enter your phone number.",
      when: "When to call",
      now: "Now",
      later: "Later",
      time: "Date and time of the call",
      timeNeed: "Pick a time in the future.",
      group: "Department",
      anyGroup: "Any",
      captcha: "Digits in the picture",
      captchaImg4: "Picture of four digits: type them in the field below. Cannot see them? Press Listen to the digits",
      captchaImg6: "Picture of six digits: type them in the field below. Cannot see them? Press Listen to the digits",
      captchaNew: "Show another picture",
      captchaListen: "Listen to the digits",
      captchaNeed4: "Type the four digits in the picture.",
      captchaNeed6: "Type the six digits in the picture.",
      call: "Call me",
      status: [
        "Thank you! We are calling you back.",
        "The digits do not match the picture. Please try again.",
        "Callbacks are not set up on this site yet.",
        "The call could not be ordered. Please try again later.",
        "Too many calls lately. Please try again in a few minutes.",
      ],
      scheduled: "Thank you! We will call you ",
      locale: "en-GB",
    },
  };

  var CSS =
    ":host{all:initial}" +
    "*{box-sizing:border-box}" +
    // drawn in light colours whatever the page's scheme (a dark one would
    // draw the radio buttons and the date field's icon for a dark dialog)
    ".wrap,.toast{color-scheme:light}" +
    ".wrap{position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;justify-content:center;" +
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d2330;text-align:left}" +
    ".backdrop{position:absolute;inset:0;background:rgba(16,24,40,.55)}" +
    // Sized by the window (100%: the wrap is the window), not by viewport
    // units, which a page's zoom scales past the window's edges and a
    // phone's browser takes without its address bar.
    ".dialog{position:relative;width:min(420px,calc(100% - 24px));max-height:calc(100% - 24px);overflow:auto;" +
    "background:#fff;border-radius:12px;padding:24px;box-shadow:0 20px 50px rgba(16,24,40,.3)}.dialog:focus{outline:0}" +
    "h2{font-size:20px;line-height:1.3;margin:0 40px 6px 0;font-weight:650}" +
    "p{margin:0 0 14px;color:#475467}" +
    "label,legend{display:block;font-weight:550;margin:12px 0 4px;padding:0}" +
    "fieldset{border:0;margin:14px 0 0;padding:0;min-width:0}fieldset legend{margin:0 0 4px}" +
    // 16px: a phone's browser (iOS Safari) zooms the page into a smaller field it focuses
    "input,select,textarea{display:block;width:100%;font:inherit;font-size:16px;color:inherit;padding:9px 11px;border:1px solid #667085;" +
    "border-radius:8px;background:#fff;margin:0}" +
    "[aria-invalid=true]{border-color:#b42318;box-shadow:0 0 0 1px #b42318}" +
    "input,select{min-height:44px}textarea{min-height:84px;resize:vertical}" +
    "input:focus,select:focus,textarea:focus,button:focus{outline:2px solid #2f6fed;outline-offset:1px}" +
    ".radios{display:flex;flex-wrap:wrap;gap:0 18px}.radios label{display:flex;align-items:center;gap:8px;font-weight:400;margin:0;min-height:44px}" +
    ".radios input{width:20px;height:20px;min-height:0}" +
    ".captcha{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-top:14px}.captcha img{height:60px;width:180px;border:1px solid #d0d5dd;" +
    "border-radius:8px;background:#f2f4f7}" +
    "button{font:inherit;cursor:pointer;border:0;border-radius:8px}" +
    ".primary{display:block;width:100%;min-height:44px;margin-top:18px;padding:11px 14px;background:#2f6fed;color:#fff;font-weight:600}" +
    ".primary[disabled]{opacity:.6;cursor:default}" +
    ".ghost{display:inline-flex;align-items:center;justify-content:center;background:#f2f4f7;color:#1d2330;padding:8px 12px;min-width:44px;min-height:44px;border:1px solid #667085}" +
    ".close{position:absolute;top:8px;right:8px;width:44px;height:44px;background:transparent;color:#475467;" +
    "font-size:24px;line-height:1}" +
    ".msg{margin-top:12px;min-height:1em}.msg.err{color:#b42318}.msg.ok{color:#067647}" +
    ".toast{position:fixed;right:16px;bottom:16px;z-index:2147483647;max-width:min(360px,calc(100% - 32px));" +
    "display:flex;gap:10px;align-items:flex-start;background:#1d2330;color:#fff;border-radius:10px;padding:14px 16px;" +
    "box-shadow:0 12px 30px rgba(16,24,40,.35);font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}" +
    ".toast.err{background:#b42318}.toast .close{position:static;flex:none;color:#fff;width:44px;height:44px;margin:-10px -10px -10px 0;font-size:20px}" +
    // what screen readers read out, unseen
    ".sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}" +
    // nothing moves (no transition or animation) but a browser's own smooth scrolling
    "@media (prefers-reduced-motion:reduce){*{scroll-behavior:auto!important}}";

  // applyMask formats the digits typed into value by mask, where "_" is a
  // digit slot and every other character is written as it is; literals
  // after the last typed digit are left off, so erasing works. The mask's
  // own leading digits (the 7 of "+7 (") are not taken for typed ones, and
  // a Russian trunk 8 in front of a whole number is dropped for +7. The
  // mask is a help, never a limit: what it cannot hold (another country's
  // "+44", more digits than it has slots, a letter as in "доб. 12") is
  // left as the visitor typed it.
  function applyMask(mask, value) {
    var first = mask.indexOf("_");
    if (first < 0 || /[^\d\s().+-]/.test(value)) return value;
    var prefix = mask.slice(0, first);
    var lead = prefix.replace(/\D/g, "");
    var slots = mask.split("_").length - 1;
    var typed = value;
    var hasPrefix = prefix && typed.indexOf(prefix) === 0;
    if (hasPrefix) typed = typed.slice(prefix.length);
    var digits = typed.replace(/\D/g, "");
    if (!hasPrefix && /^\s*\+/.test(value)) {
      // a country code typed: the mask's own is taken off; another one
      // (or a "+" with none yet) stays as typed
      if (prefix.charAt(0) != "+" || !lead || digits.indexOf(lead) !== 0 || digits == lead) return value;
      digits = digits.slice(lead.length);
    } else if (lead && digits.length > slots && digits.indexOf(lead) === 0) digits = digits.slice(lead.length);
    if (lead == "7" && digits.length > slots && digits.charAt(0) == "8") digits = digits.slice(1);
    if (digits.length > slots) return value;
    var out = "";
    for (var k = 0, i = 0; k < mask.length && i < digits.length; k++) {
      out += mask.charAt(k) == "_" ? digits.charAt(i++) : mask.charAt(k);
    }
    // typing on past a whole number (" доб. 12"): the space stays
    return i == slots && value.indexOf(out) === 0 ? value : out;
  }

  w.__cs_widget = function (core) {
    // send queues a request to t/v1/<path> with the visitor's credentials;
    // a lead goes without them when the page view's hit failed (s_: the
    // appliance keeps it as the site's, or the last page view's visitor's).
    core.send_ = function (p, b, cb) {
      core.enqueue_({ p: p, b: b, c: 1, h: 1, r: 1, s_: p == "lead", cb: cb });
    };
    // answer calls cb with v asynchronously, as every API callback is.
    core.answer_ = function (cb, v) {
      if (typeof cb == "function")
        setTimeout(function () {
          cb(v);
        });
    };
    // cut shortens s to at most max UTF-8 bytes without splitting a
    // character (a character cut in two decodes as U+FFFD, which goes).
    core.cut_ = function (s, max) {
      return new TextDecoder().decode(new TextEncoder().encode(s).slice(0, max)).replace(/\ufffd$/, "");
    };
    // page is the page's URL as the appliance takes it with a lead or a
    // callback: at most 2048 bytes, as the hit's, so that a long URL (an
    // ad's query string) does not get the visitor's request refused.
    var page = function () {
      return core.cut_(location.href, 2048);
    };
    var settings = null; // the site's widget settings, once loaded
    var waiting = null; // functions waiting for them
    var root = null; // the shadow root
    var open = null; // the open dialog: {node, back: element focused before, stop: what ends with it}
    var toastTimer = 0;

    // stash reads the draft of form ("lead", "callback"): what the visitor
    // typed into it, {} when none; with v, it keeps v as the draft (null
    // drops it). A draft lives in sessionStorage, per site, until the
    // appliance took the request: a send that failed (the network down),
    // or whose answer the page did not live to see, is not lost with the
    // page, and the form opened on a later page of the tab has the words
    // back. Sent again it is still one lead or call: the appliance takes
    // a repeat for the first (tracker-protocol.md §6, §8). Storage
    // disabled or full: the form still works, without a draft.
    function stash(form, v) {
      var k = "_cs_draft_" + form + "_" + (core.site_() || "");
      try {
        var ss = w.sessionStorage;
        if (v === undefined) {
          v = JSON.parse(ss.getItem(k) || "null");
          return v && typeof v == "object" ? v : {}; // not ours (the page's code wrote it): none
        }
        if (v) ss.setItem(k, JSON.stringify(v));
        else ss.removeItem(k);
      } catch (e) {
        return {};
      }
    }

    // withSettings runs fn once the site's settings are known; when they
    // cannot be had, the defaults do (no captcha: the server says status 1
    // if one is needed).
    function withSettings(fn) {
      if (settings) return fn();
      if (waiting) return waiting.push(fn);
      waiting = [fn];
      var done = function (s) {
        settings = s || { captcha: false, captcha_digits: 4, lang: "", groups: [], callback: true };
        var list = waiting;
        waiting = null;
        list.forEach(function (f) {
          try {
            f();
          } catch (e) {
            core.warn_("internal error: " + e);
          }
        });
      };
      var timer = setTimeout(function () {
        done(null);
      }, 8000);
      try {
        fetch(core.base_() + "t/v1/widget?k=" + encodeURIComponent(core.site_() || ""), { credentials: "omit" })
          .then(function (r) {
            return r.json();
          })
          .then(
            function (v) {
              clearTimeout(timer);
              if (!waiting) return;
              done(v && v.success ? v.result : null);
            },
            function () {
              clearTimeout(timer);
              if (waiting) done(null);
            }
          );
      } catch (e) {
        clearTimeout(timer);
        done(null);
      }
    }

    function lang() {
      var l = settings && settings.lang;
      if (l == "ru" || l == "en") return l;
      var nav = String(navigator.language || (navigator.languages || [])[0] || "").toLowerCase();
      return nav.indexOf("ru") === 0 ? "ru" : "en";
    }

    function t(key) {
      return TEXT[lang()][key];
    }

    // digits is how many digits the site's captchas have: 4 or 6.
    function digits() {
      return settings && settings.captcha_digits == 6 ? 6 : 4;
    }

    // mask is the phone field's mask: the page's (setUIPhoneMaskFormat),
    // else the Russian one for Russian. A page mask with room for fewer
    // than MIN_DIGITS digits (the reference's own example, "1 () __-__",
    // has five) cannot hold a phone number: the field then takes the
    // number as typed, and the page's console says why.
    function mask() {
      var m = core.phoneMask_();
      if (m && m.replace(/[^\d_]/g, "").length < MIN_DIGITS) {
        core.warn_('setUIPhoneMaskFormat("' + m + '") has room for fewer than ' + MIN_DIGITS + " digits, too few for a phone number; the callback form takes the number as typed");
        m = "";
      }
      return m ? m : lang() == "ru" && !core.phoneMask_() ? RU_MASK : "";
    }

    // el makes an element: attrs become attributes (on* never), kids are
    // nodes or strings (as text).
    function el(tag, attrs, kids) {
      var n = d.createElement(tag);
      for (var a in attrs || {}) {
        if (attrs[a] === false || attrs[a] == null) continue;
        n.setAttribute(a, attrs[a] === true ? "" : String(attrs[a]));
      }
      (kids || []).forEach(function (k) {
        if (k != null) n.appendChild(typeof k == "string" ? d.createTextNode(k) : k);
      });
      return n;
    }

    // shadow returns the shadow root, making the host on first use. The
    // host is the root element's last child, after the body: a body the
    // site transforms or filters (a page-transition script's translateZ,
    // a grey mourning filter) would be what the widgets' fixed boxes are
    // placed in, a long page's height away from the screen; and after the
    // body, they are drawn over what the page adds to it later with the
    // same top z-index.
    function shadow() {
      if (root && root.host.isConnected) return root;
      var host = d.createElement("cs-widget");
      host.setAttribute("data-cs-widget", "");
      host.style.setProperty("display", "block", "important");
      host.style.setProperty("position", "static", "important");
      d.documentElement.appendChild(host);
      root = host.attachShadow({ mode: "open" });
      sheet(root, "widget", CSS);
      return root;
    }

    // sheet gives the shadow root r the rules css (named name), once. A
    // constructed stylesheet, adopted, is no inline style to the page's
    // Content-Security-Policy: a shop whose style-src has no
    // 'unsafe-inline' refuses a <style> element, in a shadow root too, and
    // the widgets would be drawn unstyled. A browser without constructed
    // stylesheets (Safari before 16.4) gets the <style>.
    var sheets = {};
    function sheet(r, name, css) {
      var s = sheets[name];
      if (!s && r.adoptedStyleSheets)
        try {
          s = new CSSStyleSheet();
          s.replaceSync(css);
          sheets[name] = s;
        } catch (e) {
          s = null;
        }
      if (s) {
        if (r.adoptedStyleSheets.indexOf(s) < 0) r.adoptedStyleSheets = r.adoptedStyleSheets.concat(s);
      } else if (!r.querySelector('style[data-sheet="' + name + '"]')) r.appendChild(el("style", { "data-sheet": name }, [css]));
    }

    // deepActive is the focused element, inside a shadow root too (the chat
    // window's button that opened the lead form), so that focus can return
    // to it.
    function deepActive() {
      var a = d.activeElement;
      while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
      return a;
    }

    // live is the widget's polite live region (urgent: its assertive one),
    // made before anything is said in it: screen readers read out what
    // changes in a region they know, not a region that appears with its
    // text.
    function live(urgent) {
      var r = shadow();
      var kind = urgent ? "assertive" : "polite";
      var n = r.querySelector(".sr[aria-live=" + kind + "]");
      if (!n) {
        n = el("div", { class: "sr", "aria-live": kind, "aria-relevant": "additions" });
        r.appendChild(n);
      }
      return n;
    }

    // announce has screen readers read text out, after what they are
    // reading (urgent: at once).
    function announce(text, urgent) {
      var n = live(urgent);
      n.setAttribute("lang", lang());
      n.appendChild(el("div", {}, [text]));
      while (n.childNodes.length > 5) n.removeChild(n.firstChild);
    }

    // dialog opens a modal dialog titled title with body nodes; the first
    // field takes the focus. It is modal at every width (modal.js): its
    // backdrop covers the page, which is inert and still until it closes.
    function dialog(kind, title, body) {
      close();
      var r = shadow();
      var closeBtn = el("button", { type: "button", class: "close", "aria-label": t("close") }, ["×"]);
      var box = el("div", { class: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "cs-title", "data-kind": kind, tabindex: -1 }, [
        closeBtn,
        el("h2", { id: "cs-title" }, [title]),
      ].concat(body));
      var backdrop = el("div", { class: "backdrop" });
      // left to right on a right-to-left page too: the texts are Russian or
      // English (what a visitor types takes its own direction, dir=auto)
      var wrap = el("div", { class: "wrap", lang: lang(), dir: "ltr" }, [backdrop, box]);
      open = { node: wrap, back: deepActive() };
      closeBtn.addEventListener("click", close);
      backdrop.addEventListener("click", close);
      wrap.addEventListener("keydown", function (e) {
        if (e.key == "Escape" || e.key == "Esc") {
          e.preventDefault();
          close();
          return;
        }
        trap(e, box);
      });
      r.appendChild(wrap);
      layer(wrap, true);
      var first = box.querySelector("input, select, textarea") || closeBtn;
      first.focus();
      return box;
    }

    function close() {
      if (!open) return;
      var o = open;
      open = null;
      if (o.node.parentNode) o.node.parentNode.removeChild(o.node);
      if (o.stop) o.stop();
      // the page is no longer inert when the focus goes back to it
      layer(o.node, false);
      try {
        if (o.back && o.back.focus) o.back.focus();
      } catch (e) {}
    }

    // speaker is a loudspeaker icon, drawn (a phone may have no emoji font).
    function speaker() {
      var ns = "http://www.w3.org/2000/svg";
      var icon = d.createElementNS(ns, "svg");
      icon.setAttribute("viewBox", "0 0 24 24");
      icon.setAttribute("width", "20");
      icon.setAttribute("height", "20");
      icon.setAttribute("aria-hidden", "true");
      var path = d.createElementNS(ns, "path");
      path.setAttribute("d", "M3 9h4l5-4v14l-5-4H3zM15 8.5a4.5 4.5 0 0 1 0 7M17.5 5.5a8.5 8.5 0 0 1 0 13");
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "2");
      path.setAttribute("stroke-linejoin", "round");
      icon.appendChild(path);
      return icon;
    }

    // field is a labelled input; id names it inside the shadow root.
    function field(id, label, input) {
      input.id = id;
      return [el("label", { for: id }, [label]), input];
    }

    // say shows text in the form's message area msg, a live region that
    // screen readers read out as it changes; bad are the fields it is
    // about: they are marked invalid and described by it (read with the
    // field's label when it takes the focus) until the visitor edits one,
    // and the first of them takes the focus. The text is shown right
    // under that field, not at the form's end: on a phone (a long form,
    // the on-screen keyboard up) the end is off the screen when the field
    // scrolls into view, and the visitor would see the focus move and no
    // reason why. Without a field it is at the form's end, by the button.
    function say(msg, text, ok, bad) {
      var form = msg.closest("form");
      var at = bad && bad[0];
      if (form) {
        if (at) at.parentNode.insertBefore(msg, at.nextSibling);
        else form.appendChild(msg);
      }
      msg.textContent = text;
      msg.className = "msg " + (ok ? "ok" : "err");
      msg.setAttribute("role", ok ? "status" : "alert");
      Array.prototype.forEach.call(form ? form.querySelectorAll("[aria-invalid]") : [], valid);
      (bad || []).forEach(function (f) {
        f.setAttribute("aria-invalid", "true");
        f.setAttribute("aria-describedby", msg.id);
        f.addEventListener("input", function () {
          bad.forEach(valid);
        });
      });
      if (!at) return;
      at.focus();
      // the text too, when the field scrolled into view has it below the
      // dialog's visible part (the dialog scrolls, never the page)
      var box = msg.closest(".dialog");
      var below = box ? msg.getBoundingClientRect().bottom - box.getBoundingClientRect().bottom + 8 : 0;
      if (below > 0) box.scrollTop += below;
    }

    function valid(f) {
      f.removeAttribute("aria-invalid");
      f.removeAttribute("aria-describedby");
    }

    // busy disables a form's submit button while a request is out. A
    // disabled button loses the focus: it has it back when enabled, unless
    // the visitor has moved on, so that a keyboard is not left outside the
    // dialog.
    // Meanwhile the dialog itself holds the focus the button had (not the
    // page's body, where Esc would not reach the dialog).
    function busy(btn, on, label) {
      var r = btn.getRootNode();
      var box = btn.closest(".dialog");
      if (on && box && r.activeElement == btn) box.focus();
      btn.disabled = on;
      btn.textContent = on ? t("sending") : label;
      if (!on && btn.isConnected && (!r.activeElement || r.activeElement == box)) btn.focus();
    }

    // --- the lead form ------------------------------------------------------

    function leadForm() {
      // The appliance's limits are in UTF-8 bytes (tracker-protocol.md §6),
      // maxlength counts characters: a Cyrillic one is two bytes.
      var limits = { name: 256, phone: 64, email: 254, message: 4096 };
      // The visitor's words are in the direction of their script (dir=auto).
      var name = el("input", { type: "text", dir: "auto", autocomplete: "name", maxlength: limits.name });
      var phone = el("input", { type: "tel", autocomplete: "tel", inputmode: "tel", maxlength: limits.phone });
      var email = el("input", { type: "email", autocomplete: "email", maxlength: limits.email });
      var message = el("textarea", { dir: "auto", maxlength: limits.message, rows: 4 });
      var msg = el("div", { class: "msg", id: "cs-msg", role: "alert" });
      var submit = el("button", { type: "submit", class: "primary" }, [t("send")]);
      var form = el(
        "form",
        { novalidate: true },
        [].concat(
          field("cs-name", t("name"), name),
          field("cs-phone", t("phone"), phone),
          field("cs-email", t("email"), email),
          field("cs-message", t("message"), message),
          [submit, msg]
        )
      );
      var fields = { name: name, phone: phone, email: email, message: message };
      // What the visitor typed outlives the form until it is sent: closed
      // (Esc, a tap beside it, after a failure to send) and opened again,
      // on this page or a later one of the tab, the form has it back.
      var draft = stash("lead");
      var save = function () {
        Object.keys(fields).forEach(function (f) {
          draft[f] = fields[f].value;
        });
        stash("lead", draft);
      };
      Object.keys(fields).forEach(function (f) {
        fields[f].value = typeof draft[f] == "string" ? draft[f] : "";
        fields[f].addEventListener("input", save);
      });
      var box = dialog("lead", t("leadTitle"), [el("p", {}, [t("leadIntro")]), form]);
      // an address that looks mistyped, the only way back (no phone), is
      // told once before it is sent (it would be stored as typed, and no
      // one could write back), never refused: sent as it is when Send is
      // pressed again; with a phone the lead goes at once, the address
      // stored as typed and flagged
      var asked = "";
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        // What the appliance takes of each field (a control character pasted
        // in would have it refuse the lead).
        [name, phone, email, message].forEach(function (n) {
          n.value = printable(n.value);
        });
        save(); // the words as sent, should the page go before the answer
        if (!name.value.trim() && !phone.value.trim() && !email.value.trim() && !message.value.trim()) {
          say(msg, t("leadNeed"), false, [name, phone, email, message]);
          return;
        }
        for (var f in fields) {
          if (new TextEncoder().encode(fields[f].value.trim()).length > limits[f]) {
            say(msg, t("tooLong").replace("%s", t(f)), false, [fields[f]]);
            return;
          }
        }
        var em = email.value.trim();
        if (em && em != asked && !phone.value.trim() && !/^[^\s@,;:<>()[\]"\\]+@[^\s@,;:<>()[\]"\\]+\.[^\s@,;:<>()[\]"\\.]+$/.test(em)) {
          asked = em;
          say(msg, t("emailCheck"), false, [email]);
          return;
        }
        // "we will be in touch" only when there is a way to: a lead with
        // neither phone nor email (a name, a message) is thanked for the
        // message
        var thanks = t(phone.value.trim() || em ? "leadDone" : "leadSent");
        busy(submit, true, t("send"));
        // the popup's live regions, should the form be closed meanwhile
        live(false);
        live(true);
        core.send_(
          "lead",
          {
            name: name.value,
            phone: phone.value,
            email: email.value,
            message: message.value,
            form_name: t("formName"),
            u: page(),
          },
          function (v) {
            // sent, also when the form was closed meanwhile: a form opened
            // again is empty
            if (v.success) stash("lead", null);
            // closed while it was sending: the popup tells how it went (the
            // words of one that did not go are kept for the form)
            if (!box.isConnected) return toast(v.success ? thanks : said(v.result || { code: "not_sent" }), v.success);
            busy(submit, false, t("send"));
            if (v.success) {
              form.parentNode.replaceChild(done(thanks), form);
            } else {
              // the appliance says why it refuses a lead (a result code): a
              // failure without one is a lead that did not get there, as
              // addOfflineRequest has it
              say(msg, said(v.result || { code: "not_sent" }), false);
            }
          }
        );
      });
    }

    // done is the message that replaces a sent form, with a button to close.
    // The button takes the focus and is described by the message, so a
    // screen reader reads the outcome with it.
    function done(text) {
      var btn = el("button", { type: "button", class: "primary", "aria-describedby": "cs-done" }, [t("close")]);
      btn.addEventListener("click", close);
      var n = el("div", {}, [el("p", { class: "msg ok", role: "status", id: "cs-done" }, [text]), btn]);
      setTimeout(function () {
        btn.focus();
      }, 0);
      return n;
    }

    // --- callbacks ------------------------------------------------------------

    // outcome is the visitor's text for sitePhoneCall's answer v; at is
    // the call's delayed_call_time, milliseconds as a number or, as the
    // reference types it, text ("1508927547000", which Date would not
    // read as milliseconds).
    function outcome(v, at) {
      var r = v && v.result;
      // a call kept for the staff names the time picked too (they see it)
      if (r && r.status === 0 && (r.code == "scheduled" || (r.code == "queued" && Date.now() < at)) && at) {
        return t("scheduled") + new Date(+at).toLocaleString(t("locale"), { dateStyle: "long", timeStyle: "short" }) + ".";
      }
      return said(r);
    }

    // said is the visitor's text for a result r: the widget's own for its
    // code, else for its status (3 only for "telephony_failed": the other
    // codes of 3 are refused requests), else that it could not be sent;
    // never the server's error, which is for developers, in English.
    function said(r) {
      var codes = t("codes");
      if (!r) return t("failed");
      if (Object.prototype.hasOwnProperty.call(codes, r.code)) return codes[r.code];
      if (typeof r.status == "number" && t("status")[r.status] && (r.status != 3 || r.code == "telephony_failed")) return t("status")[r.status];
      return t("failed");
    }

    // call sends a callback request; done gets the answer.
    function call(params, done) {
      params = params || {};
      core.send_(
        "callback",
        {
          phone: opt(params.phone),
          captcha_key: opt(params.captcha_key),
          captcha_value: opt(params.captcha_value),
          delayed_call_time: params.delayed_call_time == null || params.delayed_call_time === "" ? undefined : params.delayed_call_time,
          group_id: params.group_id == null || params.group_id === "" ? undefined : params.group_id,
          u: page(),
        },
        function (v) {
          // Every answer has a result, also when the appliance never
          // answered (tracker-protocol.md §8).
          if (!v.success && !v.result) v.result = { status: 3, code: "not_sent" };
          done(v);
        }
      );
    }

    // toast is the built-in popup notification.
    function toast(text, ok) {
      var r = shadow();
      var old = r.querySelector(".toast");
      if (old) old.parentNode.removeChild(old);
      clearTimeout(toastTimer);
      var x = el("button", { type: "button", class: "close", "aria-label": t("close") }, ["×"]);
      // read out through the live regions made before the call went
      var n = el("div", { class: "toast" + (ok ? "" : " err"), lang: lang(), dir: "ltr" }, [el("div", {}, [text]), x]);
      announce(text, !ok);
      var remove = function () {
        if (n.parentNode) n.parentNode.removeChild(n);
      };
      x.addEventListener("click", remove);
      r.appendChild(n);
      toastTimer = setTimeout(remove, 12000);
    }

    function captchaOf(cb) {
      core.send_("captcha", {}, function (v) {
        cb(v && v.success ? v.result : v);
      });
    }

    // localInput is a datetime-local value for time ms.
    function localInput(ms) {
      var t0 = new Date(ms);
      var p = function (n) {
        return (n < 10 ? "0" : "") + n;
      };
      return t0.getFullYear() + "-" + p(t0.getMonth() + 1) + "-" + p(t0.getDate()) + "T" + p(t0.getHours()) + ":" + p(t0.getMinutes());
    }

    // phonePanel opens the callback panel; keep is what the visitor typed
    // into the one it replaces ({phone, later, when, group}), which the
    // site's settings had without the captcha it asks for.
    function phonePanel(keep) {
      var m = mask();
      var phone = el("input", { type: "tel", autocomplete: "tel", inputmode: "tel", maxlength: 64, placeholder: m || null, "aria-required": "true" });
      phone.addEventListener("input", function () {
        var v = m ? applyMask(m, phone.value) : phone.value;
        if (v == phone.value) return;
        // The caret stays after the digit it was after: a digit fixed in
        // the middle goes there, not at the end (which setting the value
        // moves the caret to).
        var at = phone.selectionEnd;
        var end = at >= phone.value.length;
        var n = phone.value.slice(0, at).replace(/\D/g, "").length;
        phone.value = v;
        if (end) return;
        for (at = 0; n && at < v.length; at++) if (/\d/.test(v.charAt(at))) n--;
        phone.setSelectionRange(at, at);
      });
      var nowR = el("input", { type: "radio", name: "cs-when", value: "now", id: "cs-when-now", checked: true });
      var laterR = el("input", { type: "radio", name: "cs-when", value: "later", id: "cs-when-later" });
      var hour = 3600000;
      // The picker offers no time the server refuses: from now to its
      // limit (max_delay_ms, callbacks.MaxDelay), in the visitor's own
      // time zone as every time the panel reads and tells. The limit is
      // floored to the minute and only moves on, so its last minute is
      // taken when sent.
      var maxDelay = settings.max_delay_ms;
      // The time offered first is the top of the hour after next, unless
      // that is at night (21:00 to 9:00 where the visitor is): then 10:00
      // the next morning, not a call at 1 at night.
      var first = new Date(Math.ceil(Date.now() / hour) * hour + hour);
      if (first.getHours() < 9 || first.getHours() >= 21) {
        if (first.getHours() >= 21) first.setDate(first.getDate() + 1);
        first.setHours(10, 0, 0, 0);
      }
      var when = el("input", {
        type: "datetime-local",
        min: localInput(Date.now()),
        max: maxDelay ? localInput(Date.now() + maxDelay) : null,
        value: localInput(maxDelay ? Math.min(+first, Date.now() + maxDelay) : +first),
      });
      var whenBox = el("div", { hidden: true }, field("cs-time", t("time"), when));
      var toggle = function () {
        whenBox.hidden = !laterR.checked;
      };
      nowR.addEventListener("change", toggle);
      laterR.addEventListener("change", toggle);
      var parts = [].concat(field("cs-phone", t("phone"), phone), [
        el("fieldset", {}, [
          el("legend", {}, [t("when")]),
          el("div", { class: "radios" }, [el("label", { for: "cs-when-now" }, [nowR, t("now")]), el("label", { for: "cs-when-later" }, [laterR, t("later")])]),
        ]),
        whenBox,
      ]);
      var group = null;
      if (settings.groups && settings.groups.length) {
        group = el("select", {}, [el("option", { value: "" }, [t("anyGroup")])].concat(
          settings.groups.map(function (g) {
            return el("option", { value: g.id }, [String(g.name)]);
          })
        ));
        parts = parts.concat(field("cs-group", t("group"), group));
      }
      var captchaKey = "";
      var img = null;
      var answer = null;
      var lost = false; // the visitor was told no picture could be had
      var sound = null; // the digits being spoken (Listen)
      // hush stops the spoken digits and lets their sound go: when the
      // panel closes (it would speak on over the page), the picture changes
      // (they are no longer its digits) or the form is done.
      var hush = function () {
        if (!sound) return;
        try {
          sound.pause();
          sound.removeAttribute("src");
          sound.load();
        } catch (e) {}
        sound = null;
      };
      var refresh = function () {
        hush();
        captchaKey = "";
        img.removeAttribute("src");
        captchaOf(function (c) {
          if (c && c.key) {
            captchaKey = c.key;
            img.src = c.url;
            if (lost && msg.textContent == said({ code: "not_sent" })) msg.textContent = "";
            lost = false;
          } else {
            core.warn_("captcha: " + ((c && c.error) || "no answer"));
            // not an empty frame and silence: the visitor is told, and ↻
            // asks again
            if (box.isConnected) say(msg, said({ code: "not_sent" }), false);
            lost = true;
          }
        });
      };
      var n = digits();
      if (settings.captcha) {
        img = el("img", { alt: t("captchaImg" + n), width: 180, height: 60 });
        var again = el("button", { type: "button", class: "ghost", "aria-label": t("captchaNew"), title: t("captchaNew") }, ["↻"]);
        again.addEventListener("click", function () {
          refresh();
          answer.value = "";
          answer.focus();
        });
        // The same digits spoken (GET the picture's URL as .wav), for a
        // visitor who cannot see them; focus stays on the button, so the
        // visitor can play it again, then Tab to the field.
        var listen = el("button", { type: "button", class: "ghost", "aria-label": t("captchaListen"), title: t("captchaListen") }, [speaker()]);
        listen.addEventListener("click", function () {
          if (!img.src) return;
          try {
            hush();
            sound = new Audio(img.src.replace(/\.png$/, ".wav") + "?lang=" + lang());
            sound.play().catch(function (e) {
              core.warn_("captcha sound: " + e);
            });
          } catch (e) {
            core.warn_("captcha sound: " + e);
          }
        });
        // room for spaces a visitor may type between the digits
        answer = el("input", {
          type: "text",
          inputmode: "numeric",
          autocomplete: "off",
          maxlength: n + 4,
          placeholder: new Array(n + 1).join("_"),
          "aria-required": "true",
        });
        parts = parts.concat([el("div", { class: "captcha" }, [img, again, listen])], field("cs-captcha", t("captcha"), answer));
        refresh();
      }
      var msg = el("div", { class: "msg", id: "cs-msg", role: "alert" });
      var submit = el("button", { type: "submit", class: "primary" }, [t("call")]);
      var form = el("form", { novalidate: true }, parts.concat([submit, msg]));
      var box = dialog("callback", t("cbTitle"), [el("p", {}, [t("cbIntro")]), form]);
      open.stop = hush;
      // What the visitor typed is kept as the lead form's is (stash): the
      // panel opened again, on this page or a later one of the tab, has it
      // back until a call was taken.
      var had = keep || stash("callback");
      if (typeof had.phone == "string") {
        phone.value = had.phone;
        laterR.checked = !!had.later;
        nowR.checked = !had.later;
        toggle();
        if (had.when) when.value = had.when;
        if (group && had.group) group.value = had.group;
      }
      if (keep) say(msg, said({ code: "captcha_required" }), false, [answer]);
      var save = function () {
        stash("callback", { phone: phone.value, later: laterR.checked, when: when.value, group: group && group.value });
      };
      [phone, nowR, laterR, when].concat(group ? [group] : []).forEach(function (n) {
        n.addEventListener("input", save);
        n.addEventListener("change", save);
      });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        // whatever the visitor typed goes: the server keeps a number it
        // cannot read as typed, flagged for the staff
        if (!phone.value.trim()) {
          say(msg, t("phoneNeed"), false, [phone]);
          return;
        }
        var at;
        if (laterR.checked) {
          at = new Date(when.value).getTime();
          if (!(at > Date.now())) {
            say(msg, t("timeNeed"), false, [when]);
            return;
          }
          // typed past the picker's max (the form is novalidate)
          if (maxDelay && at > Date.now() + maxDelay) {
            say(msg, said({ code: "invalid_time" }), false, [when]);
            return;
          }
        }
        // as the server reads an answer: the digits, white space anywhere
        var typed = answer ? answer.value.replace(/\s+/g, "") : "";
        if (answer && !(typed.length == n && /^\d+$/.test(typed))) {
          say(msg, t("captchaNeed" + n), false, [answer]);
          return;
        }
        busy(submit, true, t("call"));
        live(false);
        live(true);
        call(
          {
            phone: phone.value,
            delayed_call_time: at,
            group_id: group ? group.value : undefined,
            captcha_key: answer ? captchaKey : undefined,
            captcha_value: answer ? answer.value : undefined,
          },
          function (v) {
            if (v.success) stash("callback", null); // taken: a panel opened again is empty
            if (!box.isConnected) return toast(outcome(v, at), !!v.success);
            busy(submit, false, t("call"));
            var r = v && v.result;
            if (v.success) {
              hush();
              form.parentNode.replaceChild(done(outcome(v, at)), form);
              return;
            }
            if (r && r.status == 1 && !answer) {
              // The site asks for a captcha its settings did not say: they
              // could not be had when the panel opened (the network was
              // down), and without a captcha field no call could ever go.
              // They are asked again, and the panel made again with one
              // and with what the visitor typed.
              var sofar = { phone: phone.value, later: laterR.checked, when: when.value, group: group && group.value };
              settings = null;
              withSettings(function () {
                settings.captcha = true;
                phonePanel(sofar);
              });
              return;
            }
            // the field the refusal is about: the captcha, the phone, the time
            var bad = r && (r.status == 1 ? answer : r.code == "invalid_phone" ? phone : r.code == "invalid_time" ? when : null);
            if (answer && r && r.code != "not_sent") {
              // a captcha is single use: every answer the appliance got
              // spends it (one that never got there is still good, and a
              // new one could not be had without the network anyway)
              refresh();
              answer.value = "";
            }
            say(msg, outcome(v, at), false, bad ? [bad] : null);
          }
        );
      });
    }

    var chat = chatWindow({
      core: core,
      el: el,
      shadow: shadow,
      sheet: sheet,
      announce: announce,
      deepActive: deepActive,
      lang: lang,
      withSettings: withSettings,
      settings: function () {
        return settings;
      },
      leadForm: function () {
        withSettings(leadForm);
      },
    });

    return {
      // chat(state) is the core's hand-over of the chat: {operators,
      // button} from a hit's answer; the chat window opens its socket.
      chat: chat.start,

      // Comagic.openSiteRequestPanel(): the built-in lead form.
      openSiteRequestPanel: function () {
        withSettings(leadForm);
      },

      // Comagic.openChatWindow(): chat when an operator is online (or the
      // visitor's chat is going on), else the lead form, as the reference
      // says.
      openChatWindow: chat.openWindow,

      // ComagicWidget.openSitePhonePanel(): the built-in callback panel.
      openSitePhonePanel: function () {
        withSettings(phonePanel);
      },

      // ComagicWidget.sitePhoneCall(params, cb): cb({success, result:{status,
      // code}}); with no cb the built-in popup tells the visitor.
      sitePhoneCall: function (params, cb) {
        if (typeof cb == "function") return call(params, cb);
        withSettings(function () {
          live(false);
          live(true);
          call(params, function (v) {
            toast(outcome(v, params && params.delayed_call_time), !!v.success);
          });
        });
      },

      // Comagic.Captcha.get_captcha(cb): cb({key, url}).
      getCaptcha: function (cb) {
        captchaOf(function (v) {
          core.answer_(cb, v);
        });
      },

      // Comagic.addVisitorInfo({name, phone, email}, cb): at least one.
      // Sent also when the hit failed (s_), as a lead is: to the visitor
      // of the last page view, or for a first-time visitor without a ci,
      // which the appliance keeps as the site's lead without a visit.
      addVisitorInfo: function (info, cb) {
        info = info || {};
        var b = { name: opt(info.name), phone: opt(info.phone), email: opt(info.email) };
        if (!b.name && !b.phone && !b.email) return core.answer_(cb, failed("give at least one of name, phone, email"));
        b.u = page(); // the page of the lead it is kept as without a visit
        core.enqueue_({ p: "visitor", b: b, c: 1, h: 1, s_: 1, cb: cb, name_: "addVisitorInfo" });
      },

      // Comagic.addOfflineRequest(req, cb) stores a lead: cb({success:true,
      // result:null}). The fields go as the page gave them (a form's
      // strings or numbers); the appliance checks them (a sale cost needs
      // is_sale:true) and says why it refuses one. Its failures carry a
      // result {code}, also when no answer came.
      addOfflineRequest: function (req, cb) {
        req = req || {};
        var b = { u: page() };
        ["name", "email", "phone", "message", "is_sale", "sale_cost", "group_id", "form_name"].forEach(function (f) {
          if (req[f] != null) b[f] = req[f];
        });
        core.enqueue_({
          p: "lead",
          b: b,
          c: 1,
          h: 1,
          s_: 1, // sent also when the hit failed: see send_
          cb:
            typeof cb == "function" &&
            function (v) {
              if (!v.success && !v.result) v.result = { code: "not_sent" };
              cb(v);
            },
          name_: "addOfflineRequest",
        });
      },

      // Comagic.setProperty(name, value?) and deleteProperty(name) write
      // (a console warning without a name); hasProperty(name, cb) and
      // getProperty(name, cb) read, cb gets the answer.
      setProperty: property("set"),
      deleteProperty: property("delete"),
      hasProperty: property("has"),
      getProperty: property("get"),
    };

    // property makes the property call of op.
    function property(op) {
      return function (name, x) {
        var read = op == "has" || op == "get";
        var why = "the property name is required";
        if (name == null || String(name) === "") return read ? core.answer_(x, failed(why)) : core.warn_(op + "Property: " + why);
        core.enqueue_({ p: "property", b: { op: op, name: String(name), value: op == "set" ? opt(x) : undefined }, c: 1, r: read, cb: read && x, name_: op + "Property" });
      };
    }
  };

  // opt is an optional text argument: undefined stays absent.
  function opt(v) {
    return v == null ? undefined : String(v);
  }

  function failed(error) {
    return { success: false, error: error };
  }
})(window, document);
