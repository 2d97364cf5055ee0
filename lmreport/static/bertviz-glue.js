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
      layers: range(attn.length),
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
  return {
    unpack: unpack,
    head: function (dataId, rootId) {
      const d = read(dataId);
      headView({
        attention: d.filters, default_filter: "0", root_div_id: rootId,
        layer: d.data.layer || 0, heads: null, include_layers: d.layers,
      });
      labelMenus(rootId);
    },
    model: function (dataId, rootId) {
      const d = read(dataId);
      modelView({
        attention: d.filters, default_filter: "0", display_mode: "light", root_div_id: rootId,
        include_layers: d.layers, include_heads: d.heads, total_heads: d.heads.length,
      });
      labelMenus(rootId);
    },
    neuron: function (dataId, rootId) {
      const data = JSON.parse(document.getElementById(dataId).textContent);
      neuronView({
        attention: { all: { attn: data.attention, queries: data.queries, keys: data.keys,
                            left_text: data.tokens, right_text: data.tokens } },
        default_filter: "all", root_div_id: rootId, bidirectional: data.bidirectional, display_mode: "light",
        layer: Math.max(0, data.layers.indexOf(data.layer)), head: data.head,
      });
      // The view numbers its layers 0..n-1; show the model's own layer numbers.
      document.querySelectorAll("#" + rootId + " #layer option").forEach(function (option, i) {
        option.textContent = data.layers[i];
      });
      labelMenus(rootId);
    },
  };
})();
