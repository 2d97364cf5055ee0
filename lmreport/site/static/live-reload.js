// lmreport serve: reload the page after each good rebuild; after a failed one, show its errors over the page.
// Only `lmreport serve` adds this script to the pages it sends; the built site never has it.
(function () {
  var seen = null;
  var box = null;
  function show(errors) {
    if (!box) {
      box = document.createElement("div");
      box.id = "lmreport-build-errors";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:0;z-index:99999;overflow:auto;background:rgba(255,255,255,.97);" +
        "padding:1.5rem;font:14px/1.5 ui-monospace,Menlo,Consolas,monospace;color:#1d2330";
      document.body.appendChild(box);
    }
    box.textContent = "";
    var title = document.createElement("h2");
    title.textContent = "The last rebuild failed: this page is the previous build. Fix these and save:";
    title.style.cssText = "font:600 1.1rem sans-serif;color:#a3241d;margin:0 0 1rem";
    var list = document.createElement("pre");
    list.style.cssText = "white-space:pre-wrap;margin:0";
    list.textContent = errors.join("\n");
    box.appendChild(title);
    box.appendChild(list);
  }
  function poll() {
    fetch("/__lmreport__/status", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (seen === null || s.errors.length) {
          if (s.errors.length) { show(s.errors); }
          if (seen !== null && s.generation !== seen && !s.errors.length) { location.reload(); }
          seen = s.generation;
        } else if (s.generation !== seen) {
          location.reload();
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 700); });
  }
  poll();
})();
