// The playground page: the reader loads the course's model (engine.js) and types a prompt; the page shows the next
// token's top k at a temperature, the logit lens at the last positions and one layer's attention, and can continue
// the prompt greedily. Everything it shows is set as text, never as HTML.
(function () {
  "use strict";

  const { MB, load, run, topk, show, el, percent, promptProblem } = window.lmreportPlayground.engine;

  function shade(cell, value) {
    cell.style.setProperty("--lmr-shade", Math.max(0, Math.min(1, value)).toFixed(3));
    cell.classList.add("pg-shaded");
  }

  function drawTopk(element, rows, tokenizer, built) {
    const table = element.querySelector(".pg-topk");
    table.replaceChildren();
    const head = el("tr");
    ["#", "token", "probability", "logit"].forEach((t) => head.appendChild(el("th", t)));
    if (built) {
      head.appendChild(el("th", "build (PyTorch, T = 1)"));
    }
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    rows.forEach((row, i) => {
      const tr = body.appendChild(el("tr"));
      tr.dataset.id = String(row.id);
      tr.dataset.prob = String(row.prob);
      tr.appendChild(el("td", String(i + 1)));
      tr.appendChild(el("td", show(tokenizer.decodeToken(row.id)), "pg-token"));
      const cell = tr.appendChild(el("td", percent(row.prob)));
      shade(cell, row.prob);
      tr.appendChild(el("td", row.logit.toFixed(3)));
      if (built) {
        const p = built[String(row.id)];
        tr.appendChild(el("td", p === undefined ? "not in its top 10" : percent(p)));
      }
    });
  }

  function drawLens(element, result, tokenizer, tokens) {
    const table = element.querySelector(".pg-lens");
    table.replaceChildren();
    const { n, layers, top } = result;
    const first = Math.max(0, n - 8);  // the last positions: the prediction is the last column
    const head = el("tr");
    head.appendChild(el("th", "layer"));
    for (let t = first; t < n; t += 1) {
      head.appendChild(el("th", tokens[t], "pg-token"));
    }
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    for (let layer = layers; layer >= 0; layer -= 1) {
      const tr = body.appendChild(el("tr"));
      tr.appendChild(el("th", layer === 0 ? "embeddings" : `layer ${layer}`));
      for (let t = first; t < n; t += 1) {
        const at = (layer * n + t) * top;
        const id = result.lensIds[at];
        const p = result.lensProbs[at];
        const cell = tr.appendChild(el("td"));
        cell.appendChild(el("span", show(tokenizer.decodeToken(id)), "pg-token"));
        cell.appendChild(el("span", percent(p), "pg-prob"));
        cell.dataset.id = String(id);
        cell.dataset.prob = String(p);
        const alternatives = [];
        for (let j = 0; j < top; j += 1) {
          const token = show(tokenizer.decodeToken(result.lensIds[at + j]));
          alternatives.push(`${token} ${percent(result.lensProbs[at + j])}`);
        }
        cell.title = alternatives.join("\n");
        shade(cell, p);
      }
    }
    followEnd(table.parentElement);  // open on the prediction, the last column
  }

  // Keep a scroll box at its right end while its content settles (fonts, the page's own notes), until the reader
  // scrolls it themselves.
  const following = new WeakSet();

  function followEnd(box) {
    box.scrollLeft = box.scrollWidth;
    if (following.has(box)) {
      return;
    }
    following.add(box);
    let moved = false;
    box.addEventListener("scroll", () => {
      moved = box.scrollLeft + box.clientWidth < box.scrollWidth - 2;
    }, { passive: true });
    new ResizeObserver(() => {
      if (!moved) {
        box.scrollLeft = box.scrollWidth;
      }
    }).observe(box.firstElementChild || box);
  }

  function attentionRow(result, layer, head, query) {
    const { n, heads } = result;
    const row = new Float64Array(n);
    const from = head === "mean" ? 0 : head;
    const to = head === "mean" ? heads : head + 1;
    for (let h = from; h < to; h += 1) {
      const at = ((layer * heads + h) * n + query) * n;
      for (let k = 0; k < n; k += 1) {
        row[k] += result.attentions[at + k] / (to - from);
      }
    }
    return row;
  }

  function drawAttention(element, result, tokens) {
    const layer = Number(element.querySelector(".pg-layer").value);
    const headValue = element.querySelector(".pg-head").value;
    const head = headValue === "mean" ? "mean" : Number(headValue);
    const table = element.querySelector(".pg-attention");
    table.replaceChildren();
    const top = el("tr");
    top.appendChild(el("th", "query \\ key"));
    tokens.forEach((t) => top.appendChild(el("th", t, "pg-token")));
    table.appendChild(el("thead")).appendChild(top);
    const body = table.appendChild(el("tbody"));
    for (let q = 0; q < result.n; q += 1) {
      const tr = body.appendChild(el("tr"));
      tr.appendChild(el("th", tokens[q], "pg-token"));
      const row = attentionRow(result, layer - 1, head, q);
      row.forEach((w, k) => {
        const cell = tr.appendChild(el("td", w >= 0.005 ? w.toFixed(2) : ""));
        cell.dataset.weight = String(w);
        cell.title = `${tokens[q]} → ${tokens[k]}: ${w.toFixed(4)}`;
        shade(cell, w);
      });
    }
  }

  function numbers(prompt, ids, tokens, temperature, rows, result) {
    const lens = [];
    for (let layer = 0; layer <= result.layers; layer += 1) {
      const row = [];
      for (let t = 0; t < result.n; t += 1) {
        const at = (layer * result.n + t) * result.top;
        row.push({ ids: result.lensIds.slice(at, at + result.top),
                   probs: Array.from(result.lensProbs.slice(at, at + result.top)) });
      }
      lens.push(row);
    }
    return { prompt, ids, tokens, temperature, next: rows, lens,
             lens_rows: "0 = embeddings, layer n = the residual stream after block n, through the final norm",
             computed: "in this page (onnxruntime-web, WebAssembly)" };
  }

  window.lmreport.mount("playground", (element, manifest) => {
    const base = element.dataset.base;
    const status = element.querySelector(".pg-status");
    const bar = element.querySelector(".pg-progress");
    const form = element.querySelector(".pg-form");
    const loadButton = element.querySelector(".pg-load");
    const results = element.querySelector(".pg-results");
    let model = null;
    let last = null;

    loadButton.addEventListener("click", async () => {
      loadButton.disabled = true;
      bar.hidden = false;
      try {
        model = await load(manifest, base, (done, total) => {
          bar.max = total;
          bar.value = done;
          status.textContent = `Loading: ${(done / MB).toFixed(0)} of ${(total / MB).toFixed(0)} MB`;
        });
        status.textContent = "The model is loaded: type a prompt and run it.";
        bar.hidden = true;
        form.querySelector("button[type=submit]").disabled = false;
        element.classList.add("pg-ready");
      } catch (error) {
        status.textContent = `The model could not be loaded: ${error.message || error}`;
        loadButton.disabled = false;
      }
    });

    const layerSelect = element.querySelector(".pg-layer");
    for (let layer = 1; layer <= manifest.layers; layer += 1) {
      layerSelect.appendChild(el("option", `layer ${layer}`)).value = String(layer);
    }
    const headSelect = element.querySelector(".pg-head");
    headSelect.appendChild(el("option", "mean of the heads")).value = "mean";
    for (let head = 0; head < manifest.heads; head += 1) {
      headSelect.appendChild(el("option", `head ${head}`)).value = String(head);
    }
    [layerSelect, headSelect].forEach((s) => s.addEventListener("change", () => {
      if (last) {
        drawAttention(element, last.result, last.tokens);
      }
    }));

    // Greedy continuation: the most likely token appended, one forward pass per token (each the whole prompt).
    const greedyButton = element.querySelector(".pg-greedy");
    greedyButton.addEventListener("click", async () => {
      if (!model || !last) {
        return;
      }
      greedyButton.disabled = true;
      const ids = last.ids.slice();
      const added = [];
      for (let step = 0; step < manifest.greedy && ids.length < manifest.max_tokens; step += 1) {
        const result = await run(model, manifest, ids);
        const best = topk(result.logits, 1, 1)[0].id;
        ids.push(best);
        added.push(best);
      }
      const line = element.querySelector(".pg-continued");
      line.replaceChildren(el("span", last.tokens.join("")),
                           ...added.map((id) => el("mark", show(model.tokenizer.decodeToken(id)), "pg-token")));
      line.dataset.ids = added.join(",");
      element.querySelector(".pg-continued-line").hidden = false;
      greedyButton.disabled = false;
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!model) {
        return;
      }
      const prompt = form.querySelector(".pg-prompt").value;
      const temperature = Number(form.querySelector(".pg-temperature").value);
      const ids = model.tokenizer.encode(prompt);
      const problem = promptProblem(ids, temperature, manifest.max_tokens, "this page runs");
      if (problem) {
        status.textContent = problem;
        return;
      }
      status.textContent = "Running…";
      const started = performance.now();
      const result = await run(model, manifest, ids);
      const tokens = ids.map((id) => show(model.tokenizer.decodeToken(id)));
      const rows = topk(result.logits, temperature, manifest.k);
      results.hidden = false;  // before drawing: the lens scrolls to its last column, which needs its width
      const built = manifest.built[prompt];
      drawTopk(element, rows, model.tokenizer, built && built.ids.join(",") === ids.join(",") ? built.next : null);
      drawLens(element, result, model.tokenizer, tokens);
      drawAttention(element, result, tokens);
      const tokenList = element.querySelector(".pg-tokens");
      tokenList.replaceChildren(...tokens.map((t) => el("span", t, "pg-token")));
      last = { result, tokens, ids };
      element.querySelector(".pg-continued-line").hidden = true;
      const link = element.querySelector(".pg-numbers");
      if (link.href.startsWith("blob:")) {
        URL.revokeObjectURL(link.href);
      }
      const json = JSON.stringify(numbers(prompt, ids, tokens, temperature, rows, result));
      link.href = URL.createObjectURL(new Blob([json], { type: "application/json" }));
      status.textContent = `${ids.length} tokens, computed in this page in ${(performance.now() - started)
        .toFixed(0)} ms.`;
      element.dataset.runs = String(Number(element.dataset.runs || 0) + 1);
    });
  });
}());
