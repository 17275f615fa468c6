/*
 * widget.js — the snippet's lazy chunk: the visitor-facing UI (lead form,
 * chat, callback form) and the calls that only that UI needs. The core
 * (cs.js) loads it with a script tag the first time one of these calls is
 * made, from a content-hashed URL cached for a year.
 *
 * Contract with the core: this file sets window.__cs_widget to a function
 * that takes the core's helpers ({credentials(), send(path, fields, cb),
 * phoneMask(), base(), warn(msg), answer(cb, value)}) and returns an object
 * with the functions below; the core calls them with the page's arguments.
 *
 * The forms, the captcha and callback requests come in later issues; until
 * then each call answers honestly that it is not available yet.
 */
(function (w) {
  "use strict";

  w.__cs_widget = function (core) {
    function unavailable(what) {
      return { success: false, error: what + " is not available yet on this appliance" };
    }

    return {
      // Comagic.openSiteRequestPanel(): the built-in lead form.
      openSiteRequestPanel: function () {
        core.warn(unavailable("the lead form").error);
      },

      // Comagic.openChatWindow(): chat when an operator is online, else the
      // lead form.
      openChatWindow: function () {
        core.warn(unavailable("the chat").error);
      },

      // ComagicWidget.openSitePhonePanel(): the built-in callback form.
      openSitePhonePanel: function () {
        core.warn(unavailable("the callback form").error);
      },

      // ComagicWidget.sitePhoneCall(params, cb): cb({success, result:{status,
      // code}}); with no cb the built-in popup tells the visitor.
      sitePhoneCall: function (params, cb) {
        var v = unavailable("the callback request");
        if (typeof cb == "function") core.answer(cb, v);
        else core.warn(v.error);
      },

      // Comagic.Captcha.get_captcha(cb): cb({key, url}).
      getCaptcha: function (cb) {
        core.answer(cb, unavailable("the captcha"));
      },
    };
  };
})(window);
