// Light or dark: the reader's choice (kept in localStorage) or else the system's (prefers-color-scheme). Loaded in
// <head> so the page is drawn in its theme from the start; the sidebar's button switches and remembers.
(function () {
  var KEY = "lmreport-theme";
  function stored() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }
  function system() { return window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"; }
  function apply(theme) { document.documentElement.setAttribute("data-theme", theme); }
  apply(stored() || system());
  function start() {
    var button = document.querySelector(".theme-toggle");
    if (!button) { return; }
    function label() {
      var dark = document.documentElement.getAttribute("data-theme") === "dark";
      button.setAttribute("aria-pressed", dark ? "true" : "false");
      button.textContent = dark ? "Light theme" : "Dark theme";
    }
    label();
    button.addEventListener("click", function () {
      var next = document.documentElement.getAttribute("data-theme") === "dark" ? "light" : "dark";
      apply(next);
      try { localStorage.setItem(KEY, next); } catch (e) { /* a file:// page may not keep it; the switch still works */ }
      label();
    });
  }
  // A figure wider than the screen scrolls sideways in its card: say so at its title, where a reader looks first
  // (the scroll bar may be a screen further down). Checked again once the charts are drawn and on resizing.
  function markWide() {
    document.querySelectorAll(".lmreport-figure").forEach(function (figure) {
      var boxes = [figure].concat([].slice.call(figure.querySelectorAll(
        ".table-scroll, .bertviz, .heatmap-scroll, .flow-scroll")));
      var wide = boxes.some(function (box) { return box.scrollWidth > box.clientWidth + 2; });
      figure.classList.toggle("overflows", wide);
    });
  }
  function watchWidth() {
    markWide();
    [500, 2000].forEach(function (delay) { setTimeout(markWide, delay); });
    window.addEventListener("resize", markWide);
    document.addEventListener("click", function () { setTimeout(markWide, 700); });
  }
  // A phone shows no hover tooltips: tapping a value, a checked claim or a token of a figure shows what its tooltip
  // says, below it; tapping anywhere else hides it. The text is set as text, never as markup.
  var TAPPABLE = ".lmreport-value, .lmreport-claim, .heatmap-cell, .attr-token, .attr-method, .head-token, " +
    ".gen-token, .factor-token, .ablation del[title], .ablation mark[title]";
  function tapTip(event) {
    var old = document.querySelector(".tap-tip"), target = event.target.closest && event.target.closest(TAPPABLE);
    if (old) { old.remove(); }
    if (!target || !target.getAttribute("title") || (old && old.lmreportFor === target)) { return; }
    var tip = document.createElement("div"), box = target.getBoundingClientRect();
    tip.className = "tap-tip";
    tip.setAttribute("role", "status");
    tip.textContent = target.getAttribute("title");
    tip.lmreportFor = target;
    document.body.appendChild(tip);
    var left = Math.max(4, Math.min(box.left + window.scrollX, window.scrollX + document.documentElement.clientWidth -
      tip.offsetWidth - 4));
    tip.style.left = left + "px";
    tip.style.top = (box.bottom + window.scrollY + 4) + "px";
  }
  document.addEventListener("click", tapTip);
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  if (document.readyState === "complete") { watchWidth(); } else { window.addEventListener("load", watchWidth); }
})();
