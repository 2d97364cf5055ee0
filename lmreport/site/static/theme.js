// Every page loads this first, in <head>. It holds the one way the pages' scripts start (window.lmreport: ready and
// mount), then the site's own page furniture: light or dark (the reader's choice, kept in localStorage, or else the
// system's), a note at a figure's title when it scrolls sideways, and tap tooltips on a phone.
(function () {
  "use strict";

  if (window.lmreport && typeof window.lmreport.mount === "function") {
    return;  // run once already (a notebook's later figure may bring this file again): keep what that set up
  }

  // fn runs once the document is parsed: at once when it already is, else at DOMContentLoaded.
  function ready(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", () => fn(), { once: true });
    } else {
      fn();
    }
  }

  // Components: an element with data-lmr-component="NAME" is mounted by the script that called mount(NAME, setup):
  // setup(element, data) runs once per element, once the page is parsed, with data the JSON of the <script> block
  // named by the element's data-lmr-data (null without one). Elements added later (a notebook's next output) are
  // mounted as they arrive.
  const SELECTOR = "[data-lmr-component]";
  const setups = new Map();
  const mounted = new WeakSet();
  let watching = false;

  function dataOf(element) {
    const block = element.dataset.lmrData ? document.getElementById(element.dataset.lmrData) : null;
    return block ? JSON.parse(block.textContent) : null;
  }

  function mountWithin(root) {
    const found = root.matches(SELECTOR) ? [root] : [];
    found.push(...root.querySelectorAll(SELECTOR));
    found.forEach((element) => {
      const setup = setups.get(element.dataset.lmrComponent);
      if (!setup || mounted.has(element)) {
        return;
      }
      mounted.add(element);
      try {
        setup(element, dataOf(element));
      } catch (error) {
        console.error(error);  // one component failing leaves the others working
      }
    });
  }

  function watchForComponents() {
    if (watching) {
      return;
    }
    watching = true;
    new MutationObserver((records) => {
      records.forEach((record) => {
        record.addedNodes.forEach((node) => {
          if (node instanceof HTMLElement) {  // not text, not a chart's SVG: components are HTML elements
            mountWithin(node);
          }
        });
      });
    }).observe(document.documentElement, { childList: true, subtree: true });
  }

  function mount(name, setup) {
    setups.set(name, setup);
    ready(() => {
      mountWithin(document.documentElement);
      watchForComponents();
    });
  }

  window.lmreport = Object.freeze({ ready, mount });

  // The rest is the site's page furniture: only on the site's own pages (lmreport's generator line comes before
  // this script), never on a page this file is merely inlined into.
  if (!document.querySelector('meta[name="generator"][content^="lmreport"]')) {
    return;
  }

  // Light or dark, set before the body is drawn so the page starts in its theme; the sidebar's button switches.
  const THEME_KEY = "lmreport-theme";
  const root = document.documentElement;

  function storedTheme() {
    try {
      return localStorage.getItem(THEME_KEY);
    } catch {
      return null;
    }
  }

  function systemTheme() {
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function isDark() {
    return root.getAttribute("data-theme") === "dark";
  }

  function applyTheme(theme) {
    root.setAttribute("data-theme", theme);
  }

  applyTheme(storedTheme() || systemTheme());

  ready(() => {
    const button = document.querySelector(".theme-toggle");
    if (!button) {
      return;
    }
    function label() {
      button.setAttribute("aria-pressed", isDark() ? "true" : "false");
      button.textContent = isDark() ? "Light theme" : "Dark theme";
    }
    label();
    button.addEventListener("click", () => {
      const next = isDark() ? "light" : "dark";
      applyTheme(next);
      try {
        localStorage.setItem(THEME_KEY, next);
      } catch {
        // a file:// page may not keep it; the switch still works
      }
      label();
    });
  });

  // A figure wider than the screen scrolls sideways in its card: say so at its title, where a reader looks first
  // (the scroll bar may be a screen further down). Checked again, at most once a frame, whenever a figure, one of
  // its scroll boxes or what they hold changes size (the window, a chart drawn, a view opened or redrawn).
  const BOXES = ".table-scroll, .bertviz, .heatmap-scroll, .flow-scroll, .lens-scroll";
  const CONTENTS = ".figure-body > *, .table-scroll > *, .heatmap-scroll > *, .flow-scroll > *, .bertviz #vis > svg, " +
    ".bk-figure > div, .lens-scroll > *";
  let frame = 0;

  function markWide() {
    frame = 0;
    document.querySelectorAll(".lmreport-figure").forEach((figure) => {
      const boxes = [figure, ...figure.querySelectorAll(BOXES)];
      figure.classList.toggle("overflows", boxes.some((box) => box.scrollWidth > box.clientWidth + 2));
    });
  }

  function markWideSoon() {
    if (!frame) {
      frame = requestAnimationFrame(markWide);
    }
  }

  ready(() => {
    const sizes = new ResizeObserver(markWideSoon);
    const observed = new WeakSet();
    function observe(figure) {
      [figure, ...figure.querySelectorAll(BOXES), ...figure.querySelectorAll(CONTENTS)].forEach((element) => {
        if (!observed.has(element)) {
          observed.add(element);
          sizes.observe(element);
        }
      });
    }
    // What a figure holds is drawn or replaced by its scripts: watch the new parts too, and let go of removed ones.
    document.querySelectorAll(".lmreport-figure").forEach((figure) => {
      observe(figure);
      new MutationObserver((records) => {
        records.forEach((record) => {
          record.removedNodes.forEach((node) => {
            if (observed.has(node)) {
              observed.delete(node);
              sizes.unobserve(node);
            }
          });
        });
        observe(figure);
        markWideSoon();
      }).observe(figure, { childList: true, subtree: true });
    });
  });

  // A phone shows no hover tooltips: tapping a value, a checked claim or a token of a figure shows what its tooltip
  // says, below it; tapping anywhere else hides it. The text is set as text, never as markup.
  const TAPPABLE = ".lmreport-value, .lmreport-claim, .heatmap-cell, .attr-token, .attr-method, .head-token, " +
    ".gen-token, .factor-token, .ablation del[title], .ablation mark[title]";
  let shown = null;  // { tip, target }: the tip on the page and what it is for

  function tapTip(event) {
    const target = event.target.closest ? event.target.closest(TAPPABLE) : null;
    const previous = shown;
    if (previous) {
      previous.tip.remove();
      shown = null;
    }
    if (!target || !target.getAttribute("title") || (previous && previous.target === target)) {
      return;
    }
    const tip = document.createElement("div");
    const box = target.getBoundingClientRect();
    tip.className = "tap-tip";
    tip.setAttribute("role", "status");
    tip.textContent = target.getAttribute("title");
    document.body.appendChild(tip);
    const right = window.scrollX + root.clientWidth - tip.offsetWidth - 4;
    const left = Math.max(4, Math.min(box.left + window.scrollX, right));
    tip.style.left = `${left}px`;
    tip.style.top = `${box.bottom + window.scrollY + 4}px`;
    shown = { tip, target };
  }

  document.addEventListener("click", tapTip);
})();
