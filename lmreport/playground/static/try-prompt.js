// "Try your own prompt" under a lesson's figure (data-lmr-component="try-prompt"): the reader's prompt runs through
// the course's model in this page (engine.js, loaded on the first run, once for the page's boxes) and is drawn by the
// figure's own drawing: the box holds a twin of the figure (its render() in a <template>), which the analysis's
// try-<name>.js fills with the reader's numbers. The build's figure above stays as it was; with the figure's own
// prompt, a line says how far the page's numbers are from the build's. The reader's text is only ever set as text.
(function () {
  "use strict";

  const store = window.lmreportPlayground = window.lmreportPlayground || { parts: [] };
  store.drawers = store.drawers || {};
  const scripts = new Map();

  function loadOnce(src) {
    if (!scripts.has(src)) {
      scripts.set(src, new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = () => resolve();
        script.onerror = () => {
          scripts.delete(src);
          reject(new Error(`could not load ${src}`));
        };
        document.head.appendChild(script);
      }));
    }
    return scripts.get(src);
  }

  // The twin put in the page from its <template>: prepare(fragment) may write into it first (attention writes the
  // reader's weights into its data block); its own scripts (Bokeh's embedding) are made anew so that they run.
  function placeTwin(box, prepare) {
    const holder = box.querySelector(".try-twin");
    const fragment = box.querySelector("template.try-template").content.cloneNode(true);
    if (prepare) {
      prepare(fragment);
    }
    fragment.querySelectorAll("script").forEach((old) => {
      if (old.type && old.type !== "text/javascript") {
        return;  // a JSON block stays as it is
      }
      const script = document.createElement("script");
      script.textContent = old.textContent;
      old.replaceWith(script);
    });
    holder.replaceChildren(fragment);
    return holder;
  }

  // The Bokeh plot a twin holds, once BokehJS has embedded it (asynchronously, after its script ran).
  function bokehPlot(holder) {
    const root = holder.querySelector("[data-root-id]");
    const id = root && root.dataset.rootId;
    return new Promise((resolve, reject) => {
      let frames = 0;
      function look() {
        const documents = (window.Bokeh && window.Bokeh.documents) || [];
        for (const doc of documents) {
          const model = doc.get_model_by_id(id);
          if (model) {
            resolve(model);
            return;
          }
        }
        frames += 1;
        if (!id || frames > 1200) {
          reject(new Error("the figure's twin was not drawn"));
          return;
        }
        requestAnimationFrame(look);
      }
      look();
    });
  }

  window.lmreport.mount("try-prompt", (box, spec) => {
    const form = box.querySelector(".try-form");
    const button = form.querySelector("button[type=submit]");
    const status = box.querySelector(".try-status");
    const bar = box.querySelector(".try-progress");
    const out = box.querySelector(".try-out");
    const compare = box.querySelector(".try-compare");
    const link = box.querySelector(".try-numbers");
    const base = spec.base;
    let placed = null;  // the twin's holder, once it is in the page

    async function recompute() {
      await loadOnce(`${base}engine.js`);
      const engine = store.engine;
      const manifest = await engine.manifestAt(base);
      status.textContent = "Loading the model…";
      bar.hidden = false;
      const model = await engine.load(manifest, base, (done, total) => {
        bar.max = total;
        bar.value = done;
        status.textContent = `Loading the model: ${(done / engine.MB).toFixed(0)} of ${(total / engine.MB)
          .toFixed(0)} MB`;
      });
      bar.hidden = true;
      const prompt = form.querySelector(".try-text").value;
      const field = form.querySelector(".try-temperature");
      const temperature = field ? Number(field.value) : 1;
      const ids = model.tokenizer.encode(prompt);
      const problem = engine.promptProblem(ids, temperature, spec.max_tokens, "this figure is drawn for");
      if (problem) {
        status.textContent = problem;
        return;
      }
      status.textContent = "Running…";
      const started = performance.now();
      const result = await engine.run(model, manifest, ids);
      const tokens = ids.map((id) => engine.show(model.tokenizer.decodeToken(id)));
      await loadOnce(`${base}try-${spec.analysis}.js`);
      out.hidden = false;  // before drawing: a twin sizes itself to its box
      const drawn = await store.drawers[spec.analysis]({
        box, engine, model, manifest, result, ids, tokens, prompt, temperature, options: spec.options,
        figure: document.getElementById(spec.figure),
        place: (prepare) => {
          placed = placeTwin(box, prepare);
          return placed;
        },
        placed: () => placed,
        bokehPlot,
        // the build's numbers compare where the reader's tokens are the figure's own
        same: (built) => built.ids.length === ids.length && built.ids.every((id, i) => id === ids[i]),
      });
      box.querySelector(".try-tokens").replaceChildren(...tokens.map((t) => engine.el("span", t, "pg-token")));
      compare.hidden = !drawn.compare;
      compare.textContent = drawn.compare || "";
      if (link.href.startsWith("blob:")) {
        URL.revokeObjectURL(link.href);
      }
      const numbers = { analysis: spec.analysis, prompt, ids, tokens, ...drawn.numbers, model: manifest.model,
                        weights: manifest.weights, computed: "in this page (onnxruntime-web, WebAssembly)" };
      link.href = URL.createObjectURL(new Blob([JSON.stringify(numbers)], { type: "application/json" }));
      status.textContent = `${ids.length} tokens, computed in this page in ${(performance.now() - started)
        .toFixed(0)} ms.`;
      box.dataset.runs = String(Number(box.dataset.runs || 0) + 1);
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) {
        return;
      }
      button.disabled = true;
      try {
        await recompute();
      } catch (error) {
        bar.hidden = true;
        status.textContent = `Could not run the model: ${error.message || error}`;
      } finally {
        button.disabled = false;
      }
    });
  });
}());
