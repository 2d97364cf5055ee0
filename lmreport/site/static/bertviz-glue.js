// lmreport: BertViz views fed from a JSON block on the page; no module loader, no network. Each view is an element
// with data-lmr-component="head", "model", "neuron" or "heatmap" and data-lmr-data naming its JSON block (mounted
// through window.lmreport, theme.js). window.lmreportBertviz keeps unpack() for whoever reads the weights.
window.lmreportBertviz = (function () {
  "use strict";

  /* global headView, modelView, neuronView -- BertViz's own views: the build (site/assets.py) puts them in place of
     the placeholder below, each as a function of its params. */
  /*VIEWS*/

  function range(n) {
    return Array.from({ length: n }, (_, i) => i);
  }

  // Attention weights sent as bytes (render/attention.py's pack_attention) back to [layer][head][query][key].
  function unpack(packed) {
    const raw = atob(packed.bytes);
    const [layers, heads, n] = packed.shape;
    const out = [];
    let k = 0;
    for (let l = 0; l < layers; l++) {
      const layer = [];
      for (let h = 0; h < heads; h++) {
        const rows = [];
        for (let i = 0; i < n; i++) {
          const row = new Array(n).fill(0);
          const last = packed.triangle ? i : n - 1;
          for (let j = 0; j <= last; j++) {
            row[j] = raw.charCodeAt(k++) / packed.scale;
          }
          rows.push(row);
        }
        layer.push(rows);
      }
      out.push(layer);
    }
    return out;
  }

  function read(data) {
    const attn = data.attention || unpack(data.packed);
    return {
      data,
      filters: [{ name: null, attn, left_text: data.tokens, right_text: data.tokens }],
      layers: range(attn.length).map((i) => i + 1),  // blocks count from 1, as on every page
      heads: range(attn[0].length),
    };
  }

  // BertViz's menus carry no accessible name: name each by what it chooses.
  function labelMenus(root) {
    root.querySelectorAll("select").forEach((select) => {
      if (select.getAttribute("aria-label")) {
        return;
      }
      const id = select.id || "";
      const text = (select.parentNode.textContent || "").toLowerCase();
      const name = /head/.test(id) ? "Attention head" : (/layer/.test(id + text) ? "Layer" : "View");
      select.setAttribute("aria-label", name);
    });
  }

  // BertViz draws at fixed pixel sizes. Give its SVG a viewBox around what it drew, so the stylesheet can scale it:
  // to the column on a phone (the model view) and to one printed page. Measured again whenever BertViz draws (a new
  // layer, a token of the neuron view opened: DOM changes under #vis) and when the view's box changes size (shown
  // after being hidden, printed); on a wide screen the view keeps its size and scrolls in its card when wider.
  // The neuron view keeps what a closed token would open (its query, the keys, their products) drawn but hidden
  // (visibility: hidden), far to the right, and getBBox counts it: the view's box scrolled sideways over empty space.
  // There, only what is shown is measured, in the SVG's own units, again whenever a token opens or closes.
  function fit(root, shownOnly) {
    const vis = root.querySelector("#vis");
    let frame = 0;
    function measure() {
      frame = 0;
      const svg = vis.querySelector("svg");
      if (!svg || typeof svg.getBBox !== "function") {
        return;
      }
      const box = shownOnly ? shownBox(svg) : svg.getBBox();
      const width = Math.ceil(box.x + box.width) + 2;
      const height = Math.ceil(box.y + box.height) + 2;
      if (!(width > 2 && height > 2)) {
        return;  // not laid out (in a hidden box): measured when it shows
      }
      const wanted = { viewBox: `0 0 ${width} ${height}`, width: String(width), height: String(height) };
      Object.keys(wanted).forEach((name) => {
        if (svg.getAttribute(name) !== wanted[name]) {
          svg.setAttribute(name, wanted[name]);
        }
      });
      svg.classList.add("lmreport-fit");
    }
    // Measured once a frame at most, before it is drawn (and, for a resize, after the ResizeObserver's round: setting
    // the SVG's size resizes the box, which must not count as a loop).
    function measureSoon() {
      if (!frame) {
        frame = requestAnimationFrame(measure);
      }
    }
    measure();
    const shown = shownOnly ? { attributes: true, attributeFilter: ["style", "visibility", "class"] } : {};
    new MutationObserver(measureSoon).observe(vis, { childList: true, subtree: true, ...shown });
    new ResizeObserver(measureSoon).observe(root);
  }

  // The extent of what an SVG shows (neither hidden nor undisplayed), from its top left corner, in its own units.
  function shownBox(svg) {
    const outer = svg.getBoundingClientRect();
    const view = svg.viewBox && svg.viewBox.baseVal;
    const unit = view && view.width && outer.width ? view.width / outer.width : 1;
    let right = 0;
    let bottom = 0;
    svg.querySelectorAll("text, rect, line, path, circle, polyline, polygon").forEach((element) => {
      const style = getComputedStyle(element);
      if (style.visibility === "hidden" || style.display === "none") {
        return;
      }
      const r = element.getBoundingClientRect();
      if (r.width || r.height) {
        right = Math.max(right, (r.right - outer.left) * unit);
        bottom = Math.max(bottom, (r.bottom - outer.top) * unit);
      }
    });
    return { x: 0, y: 0, width: right, height: bottom };
  }

  // The heatmap view: query tokens down, key tokens across, one head or the mean of a layer's heads.
  function drawHeatmap(root, data) {
    const d = read(data);
    const tokens = data.tokens;
    const n = tokens.length;
    const layerMenu = root.querySelector(".heatmap-layer");
    const headMenu = root.querySelector(".heatmap-head");
    const grid = root.querySelector(".heatmap-grid");
    d.layers.forEach((l) => layerMenu.add(new Option(String(l), String(l))));
    headMenu.add(new Option("mean of the heads", "mean"));
    d.heads.forEach((h) => headMenu.add(new Option(String(h), String(h))));
    layerMenu.value = String(data.layer || 1);
    headMenu.value = data.head === null || data.head === undefined ? "mean" : String(data.head);
    function weights(layer, head) {
      const heads = head === "mean" ? d.heads : [Number(head)];
      const attn = d.filters[0].attn[layer - 1];
      return attn[0].map((row, i) => row.map((_, j) => {
        let sum = 0;
        heads.forEach((h) => {
          sum += attn[h][i][j];
        });
        return sum / heads.length;
      }));
    }
    function cell(text, className) {
      const div = document.createElement("div");
      div.className = className;
      div.textContent = text;
      return div;
    }
    function draw() {
      const layer = Number(layerMenu.value);
      const head = headMenu.value;
      const w = weights(layer, head);
      grid.textContent = "";
      grid.style.gridTemplateColumns = `max-content repeat(${n}, 1.1rem)`;
      grid.setAttribute("aria-label", `attention of layer ${layer}, ${head === "mean" ? "mean of the heads" :
        `head ${head}`}: ${n} × ${n} weights; hover a cell for its value`);
      grid.appendChild(cell("", "heatmap-corner"));
      tokens.forEach((t) => grid.appendChild(cell(t, "heatmap-key")));
      tokens.forEach((q, i) => {
        grid.appendChild(cell(q, "heatmap-query"));
        tokens.forEach((k, j) => {
          const c = cell("", "heatmap-cell");
          const v = w[i][j];
          c.style.background = `rgba(59,111,182,${Math.min(1, v).toFixed(3)})`;
          c.title = `${q} \u2192 ${k}: ${v.toFixed(3)}`;
          grid.appendChild(c);
        });
      });
    }
    layerMenu.addEventListener("change", draw);
    headMenu.addEventListener("change", draw);
    draw();
  }

  function drawHead(root, data) {
    const d = read(data);
    headView({
      attention: d.filters, default_filter: "0", root_div_id: root.id,
      layer: data.layer || 1, heads: null, include_layers: d.layers,
    });
  }

  function drawModel(root, data) {
    const d = read(data);
    modelView({
      attention: d.filters, default_filter: "0", display_mode: "light", root_div_id: root.id,
      include_layers: d.layers, include_heads: d.heads, total_heads: d.heads.length,
    });
  }

  function drawNeuron(root, data) {
    neuronView({
      attention: { all: { attn: data.attention, queries: data.queries, keys: data.keys,
                          left_text: data.tokens, right_text: data.tokens } },
      default_filter: "all", root_div_id: root.id, bidirectional: data.bidirectional, display_mode: "light",
      layer: Math.max(0, data.layers.indexOf(data.layer)), head: data.head,
    });
    // The view numbers its menu 0..n-1; show the blocks' numbers, counted from 1 as on every page.
    root.querySelectorAll("#layer option").forEach((option, i) => {
      option.textContent = data.layers[i];
    });
  }

  // BertViz's three views: drawn, their menus named, their SVG fitted (the neuron view's to what it shows).
  function mountView(name, draw) {
    window.lmreport.mount(name, (root, data) => {
      draw(root, data);
      labelMenus(root);
      fit(root, name === "neuron");
    });
  }

  mountView("head", drawHead);
  mountView("model", drawModel);
  mountView("neuron", drawNeuron);
  window.lmreport.mount("heatmap", drawHeatmap);

  return { unpack };
})();
