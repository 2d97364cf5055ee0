// topk on the reader's prompt (try-prompt.js): the twin, this figure's own Bokeh chart (view.py's render), gets the
// reader's bars in its data source, its axis and labels set as render() sets them: the probability axis ends at
// xmax where the bars fit, else 18% past the longest bar (never past 1); a label that would not fit after its bar is
// drawn inside it. Probabilities are softmax(logits / temperature) after the prompt's last token.
(function () {
  "use strict";

  const store = window.lmreportPlayground = window.lmreportPlayground || { parts: [] };
  store.drawers = store.drawers || {};

  function axisEnd(top, xmax, room) {
    return xmax !== null && top <= xmax ? xmax : Math.min(1, top * room);
  }

  // The build's probabilities and the page's, where the reader's prompt and temperature are the figure's own.
  function compared(rows, built) {
    const page = new Map(rows.map((r) => [r.id, r.prob]));
    const common = built.next.filter(([id]) => page.has(id));
    const gap = Math.max(...common.map(([id, p]) => Math.abs(page.get(id) - p)));
    const sameTop = rows[0].id === built.next[0][0];
    return `The figure's own prompt: ${common.length} of its ${built.next.length} tokens are also in this top ` +
      `${rows.length}; their probabilities differ from the build's (PyTorch, float64 softmax) by at most ` +
      `${gap.toExponential(1)}; the most likely token is ${sameTop ? "the same" : "not the same"}.`;
  }

  store.drawers.topk = async (ctx) => {
    const { options, engine, tokens, temperature } = ctx;
    const room = options.label_room;
    const rows = engine.topk(ctx.result.logits, temperature, options.k);
    const shown = rows.map((r) => engine.show(ctx.model.tokenizer.decodeToken(r.id)));
    const end = axisEnd(Math.max(1e-9, rows[0].prob), options.xmax, room);
    const inside = rows.map((r) => r.prob * room > end * (1 + 1e-9));
    const holder = ctx.placed() || ctx.place();
    const plot = await ctx.bokehPlot(holder);
    plot.renderers[0].data_source.data = {
      rank: rows.map((_, i) => i + 1),
      token: shown,
      prob: rows.map((r) => r.prob),
      percent: rows.map((r) => `${(100 * r.prob).toFixed(2)}%`),
      logit: rows.map((r) => r.logit.toFixed(3)),
      label: rows.map((r) => `${(100 * r.prob).toFixed(1)}%`),
      align: inside.map((i) => (i ? "right" : "left")),
      offset: inside.map((i) => (i ? -4 : 4)),
      ink: inside.map((i) => (i ? "#ffffff" : "#444444")),
    };
    plot.x_range.end = end;
    const axis = plot.left[0];
    const numeric = typeof Array.from(axis.major_label_overrides.keys())[0] === "number";
    axis.major_label_overrides = new Map(shown.map((t, i) => [numeric ? i + 1 : String(i + 1), t]));
    const title = holder.querySelector(".chart-title");
    if (title) {
      title.textContent = `Next token after “${engine.short(tokens.join(""), 60)}”` +
        (temperature === 1 ? "" : ` at temperature ${temperature}: softmax(logits / ${temperature})`);
    }
    const built = options.built;
    return {
      numbers: { temperature, axis_end: end,
                 next: rows.map((r, i) => ({ rank: i + 1, id: r.id, token: shown[i], prob: r.prob, logit: r.logit })) },
      compare: ctx.same(built) && temperature === built.temperature ? compared(rows, built) : null,
    };
  };
}());
