// Offline search over the lessons: on first use it loads lunr.js and the prebuilt index (both as scripts, so it
// works from file:// too) and lists the sections that match. Results are set as text, never as markup.
(function () {
  var MAX_RESULTS = 10;
  function load(src, done) {
    var script = document.createElement("script");
    script.src = src;
    script.onload = done;
    script.onerror = done;
    document.head.appendChild(script);
  }
  function start() {
    var form = document.querySelector(".search");
    if (!form) { return; }
    var input = form.querySelector("input"), list = form.querySelector(".search-results");
    var base = form.getAttribute("data-base") || "", pages = form.getAttribute("data-pages") || "";
    var index = null, loading = false, pending = null;
    function ready(then) {
      if (index) { then(); return; }
      pending = then;
      if (loading) { return; }
      loading = true;
      load(base + "assets/lunr.js", function () {
        load(base + "assets/search-index.js", function () {
          if (window.lunr && window.lmreportSearch && window.lmreportSearch.index) {
            index = window.lunr.Index.load(window.lmreportSearch.index);
          }
          if (pending) { pending(); }
        });
      });
    }
    function query(text) {
      // Each word as typed and as a prefix; lunr's query syntax characters are dropped, not interpreted.
      var words = text.toLowerCase().replace(/[:~^+\-*]/g, " ").split(/\s+/).filter(Boolean);
      return function (q) {
        words.forEach(function (w) {
          q.term(w, { boost: 10 });
          q.term(w, { wildcard: window.lunr.Query.wildcard.TRAILING });
        });
      };
    }
    function show() {
      var text = input.value.trim();
      list.textContent = "";
      if (!text) { list.hidden = true; return; }
      if (!index) {
        list.hidden = false;
        var item = document.createElement("li");
        item.textContent = window.lmreportSearch ? "The lessons have no text to search." :
          "The search index could not be loaded.";
        list.appendChild(item);
        return;
      }
      var found = index.query(query(text)).slice(0, MAX_RESULTS);
      list.hidden = false;
      if (!found.length) {
        var none = document.createElement("li");
        none.textContent = "No section mentions \u201c" + text + "\u201d.";
        list.appendChild(none);
      }
      found.forEach(function (hit) {
        var doc = window.lmreportSearch.docs[hit.ref], item = document.createElement("li"), link = document.createElement("a");
        link.href = pages + doc.page + (doc.anchor ? "#" + doc.anchor : "");
        link.textContent = doc.title === doc.lesson ? doc.lesson : doc.lesson + ": " + doc.title;
        var excerpt = document.createElement("small");
        excerpt.textContent = doc.excerpt;
        item.appendChild(link);
        item.appendChild(excerpt);
        list.appendChild(item);
      });
    }
    input.addEventListener("focus", function () { ready(function () {}); });
    input.addEventListener("input", function () { ready(show); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ready(function () {
        show();
        var first = list.querySelector("a");
        if (first) { window.location.href = first.href; }
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
