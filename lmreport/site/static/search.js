// Offline search over the lessons: on first use it loads lunr.js and the prebuilt index (both as scripts, so it
// works from file:// too) and lists the sections that match. Results are set as text, never as markup.
(function () {
  "use strict";

  const MAX_RESULTS = 10;

  function loadScript(src, done) {
    const script = document.createElement("script");
    script.src = src;
    script.onload = done;
    script.onerror = done;
    document.head.appendChild(script);
  }

  // Each word as typed and as a prefix; lunr's query syntax characters are dropped, not interpreted.
  function queryFor(text) {
    const words = text.toLowerCase().replace(/[:~^+\-*]/g, " ").split(/\s+/).filter(Boolean);
    return (query) => {
      words.forEach((word) => {
        query.term(word, { boost: 10 });
        query.term(word, { wildcard: window.lunr.Query.wildcard.TRAILING });
      });
    };
  }

  function listItem(text) {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }

  // The sidebar's search form: one per page, part of base.html (not a figure's component).
  window.lmreport.ready(() => {
    const form = document.querySelector(".search");
    if (!form) {
      return;
    }
    const input = form.querySelector("input");
    const list = form.querySelector(".search-results");
    const base = form.getAttribute("data-base") || "";
    const pages = form.getAttribute("data-pages") || "";
    let index = null;
    let loading = false;
    let pending = null;

    // then() runs once the index is loaded (or has failed to load): the last one asked for, once.
    function withIndex(then) {
      if (index) {
        then();
        return;
      }
      pending = then;
      if (loading) {
        return;
      }
      loading = true;
      loadScript(`${base}assets/lunr.js`, () => {
        loadScript(`${base}assets/search-index.js`, () => {
          const found = window.lmreportSearch;
          if (window.lunr && found && found.index) {
            index = window.lunr.Index.load(found.index);
          }
          if (pending) {
            pending();
          }
        });
      });
    }

    function show() {
      const text = input.value.trim();
      list.textContent = "";
      if (!text) {
        list.hidden = true;
        return;
      }
      list.hidden = false;
      if (!index) {
        list.appendChild(listItem(window.lmreportSearch ? "The lessons have no text to search." :
          "The search index could not be loaded."));
        return;
      }
      const hits = index.query(queryFor(text)).slice(0, MAX_RESULTS);
      if (!hits.length) {
        list.appendChild(listItem(`No section mentions \u201c${text}\u201d.`));
      }
      hits.forEach((hit) => {
        const doc = window.lmreportSearch.docs[hit.ref];
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = pages + doc.page + (doc.anchor ? `#${doc.anchor}` : "");
        link.textContent = doc.title === doc.lesson ? doc.lesson : `${doc.lesson}: ${doc.title}`;
        const excerpt = document.createElement("small");
        excerpt.textContent = doc.excerpt;
        item.appendChild(link);
        item.appendChild(excerpt);
        list.appendChild(item);
      });
    }

    input.addEventListener("focus", () => withIndex(() => {}));
    input.addEventListener("input", () => withIndex(show));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      withIndex(() => {
        show();
        const first = list.querySelector("a");
        if (first) {
          window.location.href = first.href;
        }
      });
    });
  });
})();
