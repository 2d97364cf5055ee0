// The hidden map (data-lmr-component="hidden_map"): its layer slider shows the chosen layer's points. The figure's
// Bokeh data source holds every layer's coordinates (columns x0, y0, x1, y1, ...); moving the slider copies that
// layer's into the plotted x and y, sets the axes to that layer's ranges, and writes its readout. The JSON block
// names the source and ranges (Bokeh models, found by name) and holds each layer's ranges and readout.
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

  // BokehJS embeds the chart after its own script has run: until then, try again at the next frames. The layer is
  // read when the chart is there, so the last one asked for is the one drawn.
  function show(data, state, frames) {
    const source = model(data.source);
    if (!source) {
      if (frames < 600) {
        requestAnimationFrame(() => show(data, state, frames + 1));
      }
      return;
    }
    const layer = state.layer;
    const r = data.ranges[layer];
    setRange(model(data.x), r[0], r[1]);
    setRange(model(data.y), r[2], r[3]);
    source.data = { ...source.data, x: source.data[`x${layer}`], y: source.data[`y${layer}`] };
  }

  window.lmreport.mount("hidden_map", (view, data) => {
    if (!data) {
      return;
    }
    const slider = view.querySelector(".hidden-map-layer");
    const readout = view.querySelector(".hidden-map-readout");
    const state = { layer: Number(slider.value) };
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
