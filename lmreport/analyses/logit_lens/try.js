// The logit lens on the reader's prompt (try-prompt.js): the twin, this figure's own Bokeh grid (view.py's render,
// views/bokeh.py's grid), gets one cell per layer and position of the reader's prompt: the top token of each layer's
// residual stream through the final norm and the unembedding (computed in the page's graph) and its probability, the
// colour's; the grid is sized for the new number of positions as grid() sizes one.
(function () {
  "use strict";

  const store = window.lmreportPlayground = window.lmreportPlayground || { parts: [] };
  store.drawers = store.drawers || {};

  // views/bokeh.py grid() and bokeh_figure(), for n columns: the natural width, the narrowest it may shrink to, a
  // cell's width and the narrowest cell's (what its text is cut to), with the layers again at the right where the
  // view adds them (a grid a phone scrolls).
  function layout(n, options, rightAxis) {
    let cell = Math.max(46, Math.min(86, Math.floor(760 / Math.max(n, 1))));
    let width = Math.max(130 + cell * n, options.title_width);
    cell = Math.floor((width - 130) / Math.max(n, 1));
    let minWidth = Math.min(width, 110 + 44 * n);
    const narrowest = Math.min(cell, Math.floor((minWidth - 110) / Math.max(n, 1)));
    if (rightAxis && minWidth > options.phone_column) {
      width += options.right_axis;
      minWidth += options.right_axis;
    }
    return { cell, narrowest, width, minWidth: Math.min(width, Math.max(300, minWidth)) };
  }

  function compared(result, built) {
    const { n, top } = result;
    let same = 0;
    let gap = 0;
    let cells = 0;
    built.top.forEach((row, layer) => row.forEach((id, t) => {
      const at = (layer * n + t) * top;
      cells += 1;
      if (result.lensIds[at] === id) {
        same += 1;
        gap = Math.max(gap, Math.abs(result.lensProbs[at] - built.probs[layer][t]));
      }
    }));
    return `The figure's own prompt: the top token is the build's in ${same} of ${cells} cells, its probability ` +
      `within ${gap.toExponential(1)} of the build's (PyTorch) there.`;
  }

  store.drawers.logit_lens = async (ctx) => {
    const { options, engine, tokens, result } = ctx;
    const { n, top } = result;
    const rows = result.layers + 1;
    const holder = ctx.placed() || ctx.place();
    const plot = await ctx.bokehPlot(holder);
    const size = layout(n, options, plot.right.length > 0);
    const cut = Math.min(Math.max(3, Math.floor((size.narrowest - 6) / 6)), 14);
    const shown = Math.min(top, options.top);
    const data = { x: [], y: [], value: [], ink: [], cell: [], layer: [], input: [], top: [] };
    const cells = [];
    for (let y = 0; y < rows; y += 1) {
      const line = [];
      for (let x = 0; x < n; x += 1) {
        const at = (y * n + x) * top;
        const best = [];
        for (let j = 0; j < shown; j += 1) {
          const id = result.lensIds[at + j];
          best.push({ id, token: engine.show(ctx.model.tokenizer.decodeToken(id)), prob: result.lensProbs[at + j] });
        }
        line.push(best);
        data.x.push(x);
        data.y.push(y);
        data.value.push(best[0].prob);
        data.ink.push(best[0].prob > 0.55 ? "#ffffff" : "#111111");
        data.cell.push(engine.short(best[0].token, cut));
        data.layer.push(options.layers[y] + (y === rows - 1 ? " (output)" : ""));
        data.input.push(`${x}: ${tokens[x]}`);
        data.top.push(best.map((b) => `${b.token} ${(100 * b.prob).toFixed(1)}%`).join("  "));
      }
      cells.push(line);
    }
    // The size first: a change of layout draws the plot at once, and the data source's new columns are taken in
    // asynchronously; the other way round, that drawing would read the old number of cells' colours.
    plot.setv({ max_width: size.width, min_width: size.minWidth, width: size.width });
    await new Promise((resolve) => requestAnimationFrame(resolve));
    plot.renderers[0].data_source.data = data;
    plot.x_range.start = -0.5;
    plot.x_range.end = n - 0.5;
    const axis = plot.below[0];
    axis.ticker.ticks = Array.from({ length: n }, (_, i) => i);
    const numeric = typeof Array.from(axis.major_label_overrides.keys())[0] === "number";
    axis.major_label_overrides = new Map(tokens.map((t, i) => [numeric ? i : String(i),
                                                               engine.short(t, Math.floor(size.cell / 7))]));
    axis.major_label_orientation = n > 8 ? 0.6 : 0;
    return {
      numbers: { rows: "0 = embeddings, n = the residual stream after block n, the last the model's output; each " +
                       "through the final norm and the unembedding", layers: options.layers, cells },
      compare: ctx.same(options.built) ? compared(result, options.built) : null,
    };
  };
}());
