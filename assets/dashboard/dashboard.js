// Dashboard behaviour that needs no framework: copy buttons.
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-target]");
  if (!b) return;
  var el = document.getElementById(b.getAttribute("data-target"));
  if (!el) return;
  var text = el.textContent;
  var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () {});
  } else {
    var r = document.createRange(); r.selectNodeContents(el);
    var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
    try { document.execCommand("copy"); done(); } catch (_) {}
  }
});
