/* lmreport: BertViz views fed from a JSON block on the page; no module loader, no network. */
window.lmreportBertviz = (function () {
  "use strict";
  /*VIEWS*/
  function range(n) { return Array.from({ length: n }, function (_, i) { return i; }); }
  function read(dataId) {
    const data = JSON.parse(document.getElementById(dataId).textContent);
    const attn = data.attention;
    return {
      data: data,
      filters: [{ name: null, attn: attn, left_text: data.tokens, right_text: data.tokens }],
      layers: range(attn.length),
      heads: range(attn[0].length),
    };
  }
  return {
    head: function (dataId, rootId) {
      const d = read(dataId);
      headView({
        attention: d.filters, default_filter: "0", root_div_id: rootId,
        layer: d.data.layer || 0, heads: null, include_layers: d.layers,
      });
    },
    model: function (dataId, rootId) {
      const d = read(dataId);
      modelView({
        attention: d.filters, default_filter: "0", display_mode: "light", root_div_id: rootId,
        include_layers: d.layers, include_heads: d.heads, total_heads: d.heads.length,
      });
    },
  };
})();
