// lmreport serve: reload the page after each good rebuild; after a failed one, show its errors over the page.
// Only `lmreport serve` adds this script (at the end of the pages it sends, and of its own "nothing built yet" page,
// which has no theme.js): it needs nothing from window.lmreport. Polling the server every 0.7 s is the point of it.
(function () {
  "use strict";

  const POLL_MS = 700;
  let seen = null;
  let box = null;

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
    const title = document.createElement("h2");
    title.textContent = "The last rebuild failed: this page is the previous build. Fix these and save:";
    title.style.cssText = "font:600 1.1rem sans-serif;color:#a3241d;margin:0 0 1rem";
    const list = document.createElement("pre");
    list.style.cssText = "white-space:pre-wrap;margin:0";
    list.textContent = errors.join("\n");
    box.appendChild(title);
    box.appendChild(list);
  }

  function poll() {
    fetch("/__lmreport__/status", { cache: "no-store" })
      .then((response) => response.json())
      .then((status) => {
        if (seen === null || status.errors.length) {
          if (status.errors.length) {
            show(status.errors);
          }
          if (seen !== null && status.generation !== seen && !status.errors.length) {
            window.location.reload();
          }
          seen = status.generation;
        } else if (status.generation !== seen) {
          window.location.reload();
        }
      })
      .catch(() => {})
      .then(() => {
        setTimeout(poll, POLL_MS);
      });
  }

  poll();
})();
