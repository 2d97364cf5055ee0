/* lmreport: BertViz views fed from a JSON block on the page; no module loader, no network. */
window.lmreportBertviz = (function () {
  "use strict";
  /*VIEWS*/
  function range(n) { return Array.from({ length: n }, function (_, i) { return i; }); }
  // Attention weights sent as bytes (render/attention.py's pack_attention) back to [layer][head][query][key].
  function unpack(packed) {
    const raw = atob(packed.bytes), layers = packed.shape[0], heads = packed.shape[1], n = packed.shape[2];
    const out = [];
    let k = 0;
    for (let l = 0; l < layers; l++) {
      const layer = [];
      for (let h = 0; h < heads; h++) {
        const rows = [];
        for (let i = 0; i < n; i++) {
          const row = new Array(n).fill(0), last = packed.triangle ? i : n - 1;
          for (let j = 0; j <= last; j++) { row[j] = raw.charCodeAt(k++) / packed.scale; }
          rows.push(row);
        }
        layer.push(rows);
      }
      out.push(layer);
    }
    return out;
  }
  function read(dataId) {
    const data = JSON.parse(document.getElementById(dataId).textContent);
    const attn = data.attention || unpack(data.packed);
    return {
      data: data,
      filters: [{ name: null, attn: attn, left_text: data.tokens, right_text: data.tokens }],
      layers: range(attn.length).map(function (i) { return i + 1; }),  // blocks count from 1, as on every page
      heads: range(attn[0].length),
    };
  }
  // BertViz's menus carry no accessible name: name each by what it chooses.
  function labelMenus(rootId) {
    document.querySelectorAll("#" + rootId + " select").forEach(function (select) {
      if (select.getAttribute("aria-label")) { return; }
      const id = select.id || "", text = (select.parentNode.textContent || "").toLowerCase();
      select.setAttribute("aria-label", /head/.test(id) ? "Attention head" : (/layer/.test(id + text) ? "Layer" : "View"));
    });
  }
  // BertViz draws at fixed pixel sizes. Give its SVG a viewBox around what it drew, so the stylesheet can scale it:
  // to the column on a phone (the model view) and to one printed page. Redone when the view grows (the neuron
  // view opening a token); on a wide screen the view keeps its size and scrolls in its card when wider.
  function fit(rootId) {
    const svg = document.querySelector("#" + rootId + " #vis svg");
    if (!svg || typeof svg.getBBox !== "function") { return; }
    let timers = [];
    function measure() {
      const box = svg.getBBox(), w = Math.ceil(box.x + box.width) + 2, h = Math.ceil(box.y + box.height) + 2;
      if (!(w > 2 && h > 2)) { return; }
      const wanted = { viewBox: "0 0 " + w + " " + h, width: String(w), height: String(h) };
      Object.keys(wanted).forEach(function (name) {
        if (svg.getAttribute(name) !== wanted[name]) { svg.setAttribute(name, wanted[name]); }
      });
      svg.classList.add("lmreport-fit");
    }
    // BertViz moves what it drew with transitions: measured again once they have run (a burst of changes sets
    // one round of timers, not one per change).
    function soon() {
      timers.forEach(clearTimeout);
      timers = [0, 400, 1200].map(function (delay) { return setTimeout(measure, delay); });
    }
    measure();
    soon();
    new MutationObserver(soon).observe(svg, { childList: true, subtree: true });
  }
  // The heatmap view: query tokens down, key tokens across, one head or the mean of a layer's heads.
  function heatmap(dataId, rootId) {
    const d = read(dataId), root = document.getElementById(rootId), tokens = d.data.tokens, n = tokens.length;
    const layerMenu = root.querySelector(".heatmap-layer"), headMenu = root.querySelector(".heatmap-head");
    const grid = root.querySelector(".heatmap-grid");
    d.layers.forEach(function (l) { layerMenu.add(new Option(String(l), String(l))); });
    headMenu.add(new Option("mean of the heads", "mean"));
    d.heads.forEach(function (h) { headMenu.add(new Option(String(h), String(h))); });
    layerMenu.value = String(d.data.layer || 1);
    headMenu.value = d.data.head === null || d.data.head === undefined ? "mean" : String(d.data.head);
    function weights(layer, head) {
      const heads = head === "mean" ? d.heads : [Number(head)], attn = d.filters[0].attn[layer - 1];
      return attn[0].map(function (row, i) {
        return row.map(function (_, j) {
          let sum = 0;
          heads.forEach(function (h) { sum += attn[h][i][j]; });
          return sum / heads.length;
        });
      });
    }
    function cell(text, cls) {
      const div = document.createElement("div");
      div.className = cls;
      div.textContent = text;
      return div;
    }
    function draw() {
      const layer = Number(layerMenu.value), head = headMenu.value, w = weights(layer, head);
      grid.textContent = "";
      grid.style.gridTemplateColumns = "max-content repeat(" + n + ", 1.1rem)";
      grid.setAttribute("aria-label", "attention of layer " + layer + ", " + (head === "mean" ? "mean of the heads" :
        "head " + head) + ": " + n + " × " + n + " weights; hover a cell for its value");
      grid.appendChild(cell("", "heatmap-corner"));
      tokens.forEach(function (t) { grid.appendChild(cell(t, "heatmap-key")); });
      tokens.forEach(function (q, i) {
        grid.appendChild(cell(q, "heatmap-query"));
        tokens.forEach(function (k, j) {
          const c = cell("", "heatmap-cell"), v = w[i][j];
          c.style.background = "rgba(59,111,182," + Math.min(1, v).toFixed(3) + ")";
          c.title = q + " \u2192 " + k + ": " + v.toFixed(3);
          grid.appendChild(c);
        });
      });
    }
    layerMenu.addEventListener("change", draw);
    headMenu.addEventListener("change", draw);
    draw();
  }
  return {
    unpack: unpack,
    heatmap: heatmap,
    head: function (dataId, rootId) {
      const d = read(dataId);
      headView({
        attention: d.filters, default_filter: "0", root_div_id: rootId,
        layer: d.data.layer || 1, heads: null, include_layers: d.layers,
      });
      labelMenus(rootId);
      fit(rootId);
    },
    model: function (dataId, rootId) {
      const d = read(dataId);
      modelView({
        attention: d.filters, default_filter: "0", display_mode: "light", root_div_id: rootId,
        include_layers: d.layers, include_heads: d.heads, total_heads: d.heads.length,
      });
      labelMenus(rootId);
      fit(rootId);
    },
    neuron: function (dataId, rootId) {
      const data = JSON.parse(document.getElementById(dataId).textContent);
      neuronView({
        attention: { all: { attn: data.attention, queries: data.queries, keys: data.keys,
                            left_text: data.tokens, right_text: data.tokens } },
        default_filter: "all", root_div_id: rootId, bidirectional: data.bidirectional, display_mode: "light",
        layer: Math.max(0, data.layers.indexOf(data.layer)), head: data.head,
      });
      // The view numbers its menu 0..n-1; show the blocks' numbers, counted from 1 as on every page.
      document.querySelectorAll("#" + rootId + " #layer option").forEach(function (option, i) {
        option.textContent = data.layers[i];
      });
      labelMenus(rootId);
      fit(rootId);
    },
  };
})();
