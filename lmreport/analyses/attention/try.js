// Attention on the reader's prompt (try-prompt.js): the twin, this figure's own views (view.py's render: BertViz's
// head and model views, the heatmap), is drawn anew from the reader's weights, every layer and head computed in the
// page, written into the twin's data block before it is put in the page; it opens on the figure's layer and head.
(function () {
  "use strict";

  const store = window.lmreportPlayground = window.lmreportPlayground || { parts: [] };
  store.drawers = store.drawers || {};

  // [layer][head][query][key] from the graph's flat [layer, head, n, n]
  function nested(result) {
    const { n, layers, heads, attentions } = result;
    const out = [];
    for (let l = 0; l < layers; l += 1) {
      const layer = [];
      for (let h = 0; h < heads; h += 1) {
        const rows = [];
        for (let q = 0; q < n; q += 1) {
          const at = ((l * heads + h) * n + q) * n;
          rows.push(Array.from(attentions.subarray(at, at + n)));
        }
        layer.push(rows);
      }
      out.push(layer);
    }
    return out;
  }

  // The figure's own weights (its data block, sent to the page rounded to 1/scale) against the page's.
  function compared(figure, attention) {
    const block = figure && figure.querySelector("script[type='application/json'][id$='-data']");
    if (!block || !window.lmreportBertviz) {
      return null;
    }
    const packed = JSON.parse(block.textContent).packed;
    const built = window.lmreportBertviz.unpack(packed);
    let gap = 0;
    built.forEach((layer, l) => layer.forEach((head, h) => head.forEach((row, q) => row.forEach((w, k) => {
      gap = Math.max(gap, Math.abs(w - attention[l][h][q][k]));
    }))));
    return `The figure's own prompt: every weight is within ${gap.toExponential(1)} of the figure's (the build's ` +
      `PyTorch weights, sent to the page rounded to 1/${packed.scale}).`;
  }

  store.drawers.attention = async (ctx) => {
    const { options, tokens, result } = ctx;
    const attention = nested(result);
    const layer = Math.min(options.layer, result.layers);
    const head = options.head === null || options.head < result.heads ? options.head : null;
    ctx.place((fragment) => {
      fragment.querySelector("script[type='application/json']").textContent =
        JSON.stringify({ tokens, attention, layer, head });
    });
    return {
      numbers: { layers: "attention[l] is block l + 1", attention },
      compare: ctx.same(options.built) ? compared(ctx.figure, attention) : null,
    };
  };
}());
