// The hidden map (data-lmr-component="hidden_map"): its layer slider shows the chosen layer's points. The figure's
// Bokeh data source holds every layer's coordinates (columns x0, y0, x1, y1, ...); moving the slider copies that
// layer's into the plotted x and y, sets the axes to that layer's ranges, and writes its readout. The x axis ends
// where the words written beside the points fit at the chart's width on the page (on a phone, further than the
// layer's range). The JSON block names the source, ranges and plot (Bokeh models, found by name) and holds each
// layer's ranges and readout.
(function () {
  "use strict";

  function model(name) {
    const documents = (window.Bokeh && window.Bokeh.documents) || [];
    for (const doc of documents) {
      const found = doc.get_model_by_name(name);
      if (found) {
        return found;
      }
    }
    return null;
  }

  function setRange(range, start, end) {
    range.setv({ start, end, reset_start: start, reset_end: end });
  }

  const measure = document.createElement("canvas").getContext("2d");

  // The plot's inner width in pixels (its frame, between the axis and the toolbar), from BokehJS's view of it; 0
  // until it is laid out.
  function frameWidth(plot) {
    const index = window.Bokeh && window.Bokeh.index;
    const view = plot && index && typeof index.find_one === "function" ? index.find_one(plot) : null;
    return view && view.frame && view.frame.bbox ? view.frame.bbox.width : 0;
  }

  // Where the x axis must end for the word written after each point to fit in the frame at its width on this
  // page (a phone's is half a desktop's): x + (offset + the word's width) * (end - start) / frame <= end, for every
  // point, with the layer's start; never before the layer's own end. A word wider than 0.6 of the frame is let go.
  function fittedEnd(data, source, layer, frame) {
    const [start, end] = data.ranges[layer];
    if (!data.written || !(frame > 0)) {
      return end;
    }
    measure.font = data.font;
    const xs = source.data[`x${layer}`];
    const words = source.data.written;
    let fitted = end;
    for (let i = 0; i < xs.length; i++) {
      const share = Math.min(0.6, (data.offset + measure.measureText(String(words[i])).width + 2) / frame);
      fitted = Math.max(fitted, (xs[i] - start * share) / (1 - share));
    }
    return fitted;
  }

  // BokehJS embeds the chart after its own script has run: until then, try again at the next frames. The layer is
  // read when the chart is there, so the last one asked for is the one drawn.
  function show(data, state, frames) {
    const source = model(data.source);
    const frame = source ? frameWidth(model(data.plot)) : 0;
    if (!(frame > 0) && frames < 600) {  // not embedded or not laid out yet
      requestAnimationFrame(() => show(data, state, frames + 1));
      return;
    }
    if (!source) {
      return;
    }
    const layer = state.layer;
    const r = data.ranges[layer];
    setRange(model(data.x), r[0], fittedEnd(data, source, layer, frame));
    setRange(model(data.y), r[2], r[3]);
    if (state.shown !== layer) {
      state.shown = layer;
      source.data = { ...source.data, x: source.data[`x${layer}`], y: source.data[`y${layer}`] };
    }
  }

  window.lmreport.mount("hidden_map", (view, data) => {
    if (!data) {
      return;
    }
    const slider = view.querySelector(".hidden-map-layer");
    const readout = view.querySelector(".hidden-map-readout");
    const state = { layer: Number(slider.value), shown: Number(slider.value) };
    show(data, state, 0); // the opening layer's axis, fitted to the words at this page's width
    if (typeof ResizeObserver === "function") {
      // A new width (a phone turned, a window resized): fit again once BokehJS has laid the chart out anew.
      new ResizeObserver(() => {
        requestAnimationFrame(() => requestAnimationFrame(() => show(data, state, 0)));
      }).observe(view);
    }
    slider.addEventListener("input", () => {
      const layer = Number(slider.value);
      readout.textContent = data.captions[layer];
      slider.setAttribute("aria-valuetext", data.captions[layer]);
      if (layer !== state.layer) {
        state.layer = layer;
        show(data, state, 0);
      }
    });
  });
})();
