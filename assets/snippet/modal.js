/*
 * modal.js — what makes a window of the widget chunk a modal dialog over
 * the page (README, Accessibility): the lead form and the callback panel
 * always (they cover the page with their backdrop), the chat window while
 * it fills the screen (PHONE) and so hides the page.
 *
 * While at least one window is a modal layer, every other child of the
 * page's body is inert, so that neither Tab nor a screen reader's swipe
 * leaves the dialog for a page the visitor cannot see, and so are the
 * widget's other windows under the top one; the page does not scroll.
 * What this changes is put back exactly when the last layer closes: an
 * element the site had made inert itself is never touched, aria-hidden is
 * never used, and the site's own overflow styles come back. Tab and
 * Shift+Tab cycle inside the top window (trap): the one focus trap of the
 * widgets.
 */

// PHONE is the viewport in which the chat window fills the screen (its
// CSS) and is a modal dialog.
export var PHONE = "(max-width:480px)";

var layers = []; // the open modal windows, the top one last
var made = []; // the elements made inert here, none of them inert before
var kept = null; // [element, property, value, priority]: the page's own overflow styles while it is held still
var watch = null; // a MutationObserver of the body's children while a layer is open

// layer puts node, a window in the widget's shadow root, on the modal
// layers (on: true) or takes it off. A window already on keeps its place;
// a new one goes on top, or under every other (under: the chat window,
// which the dialogs open over).
export function layer(node, on, under) {
  var i = layers.indexOf(node);
  if (on && i < 0) under ? layers.unshift(node) : layers.push(node);
  if (!on && i >= 0) layers.splice(i, 1);
  sync();
}

// sync makes inert what the top layer hides and nothing else, and holds
// the page still while there is a top layer. It runs again when the page
// adds a child to its body meanwhile (a chat of its own, a banner).
function sync() {
  layers = layers.filter(function (n) {
    return n.isConnected;
  });
  var top = layers[layers.length - 1];
  var want = [];
  var page = null;
  if (top) {
    var root = top.getRootNode();
    // the page is the body (the widget's host is beside it, widget.js)
    page = document.body;
    var add = function (list, keep) {
      Array.prototype.forEach.call(list, function (n) {
        if (n != keep && n != top && n.localName != "style" && !(n.classList && n.classList.contains("sr"))) want.push(n);
      });
    };
    if (page) add(page.children, root.host);
    // the live regions (.sr) stay: what they say is read out over a dialog
    add(root.children, null);
  }
  made = made.filter(function (n) {
    if (want.indexOf(n) >= 0) return true;
    n.removeAttribute("inert");
    return false;
  });
  want.forEach(function (n) {
    // a site's own inert element stays as the site has it
    if (n.hasAttribute("inert")) return;
    n.setAttribute("inert", "");
    made.push(n);
  });
  hold(!!top);
  if (watch) watch.disconnect();
  if (page && window.MutationObserver) {
    watch = watch || new MutationObserver(sync);
    watch.observe(page, { childList: true });
  }
}

// hold stops the page's scrolling behind a modal layer (on), or gives the
// root and the body their own styles back. A page with a scroll bar that
// takes room (a desktop's) keeps the room, so that it does not shift
// sideways behind the backdrop.
function hold(on) {
  var d = document;
  var root = d.documentElement;
  if (on == !!kept) return;
  if (on) {
    kept = [];
    var set = function (n, p, v) {
      kept.push([n, p, n.style.getPropertyValue(p), n.style.getPropertyPriority(p)]);
      n.style.setProperty(p, v, "important");
    };
    if (window.innerWidth > root.clientWidth) set(root, "scrollbar-gutter", "stable");
    [root, d.body].forEach(function (n) {
      if (n) ["overflow-x", "overflow-y"].forEach(function (p) {
        set(n, p, "hidden");
      });
    });
    return;
  }
  kept.forEach(function (k) {
    if (k[2]) k[0].style.setProperty(k[1], k[2], k[3]);
    else k[0].style.removeProperty(k[1]);
  });
  kept = null;
}

// focusables are the controls in node Tab reaches, in order.
export function focusables(node) {
  return Array.prototype.filter.call(node.querySelectorAll("button, input, select, textarea, [href], [tabindex]"), function (n) {
    return !n.disabled && n.tabIndex >= 0 && n.getClientRects().length > 0;
  });
}

// trap keeps the focus inside box on Tab (e is a keydown in it): past the
// last control Tab goes to the first, and Shift+Tab from the first to the
// last.
export function trap(e, box) {
  if (e.key != "Tab") return;
  var f = focusables(box);
  if (!f.length) return;
  var at = f.indexOf(box.getRootNode().activeElement);
  if (e.shiftKey && at <= 0) {
    e.preventDefault();
    f[f.length - 1].focus();
  } else if (!e.shiftKey && at == f.length - 1) {
    e.preventDefault();
    f[0].focus();
  }
}
