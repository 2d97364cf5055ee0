// The playground's engine, shared by the playground page (playground.js) and the lessons' "try your own prompt"
// boxes (try-prompt.js): it loads the course's model once per page (onnxruntime-web, WebAssembly, one thread), runs
// it on token ids, and holds what both draw with (the top k at a temperature, tokens shown as the build shows them).
// Nothing here sends anything anywhere; the reader's text is only ever set as text.
//
// Files (written by the build into playground/): ort.wasm.min.js (onnxruntime-web's plain-script build), ort-glue.js
// (its WebAssembly loader as text, imported from a blob: URL, since file:// pages cannot import modules), ort-wasm.js
// and model-N.js (the WebAssembly binary and the model's ONNX graph, base64 in script files: file:// pages can load
// scripts but not fetch files), tokenizer-data.js and tokenizer.js (the model's own tokenizer, in JavaScript),
// manifest.js (the parts, the model's sizes and the build's own numbers, for pages that do not carry them).
(function () {
  "use strict";

  const store = window.lmreportPlayground = window.lmreportPlayground || { parts: [] };
  const MB = 1e6;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => resolve();
      script.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.appendChild(script);
    });
  }

  function bytesOf(base64, into, offset) {
    const binary = atob(base64);
    for (let i = 0; i < binary.length; i += 1) {
      into[offset + i] = binary.charCodeAt(i);
    }
    return binary.length;
  }

  // Over http(s) the parts are kept in Cache Storage, so a second visit reads them from disk; from file:// (or
  // where Cache Storage is refused) they are loaded as scripts.
  async function cachedText(url, cacheName) {
    if (location.protocol === "file:" || !("caches" in window)) {
      return null;
    }
    try {
      const cache = await caches.open(cacheName);
      let response = await cache.match(url);
      if (!response) {
        response = await fetch(url);
        if (!response.ok) {
          return null;
        }
        await cache.put(url, response.clone());
      }
      return await response.text();
    } catch {
      return null;  // Cache Storage refused (a private window, a full disk): load the scripts instead
    }
  }

  async function base64Of(file, key, cacheName) {
    const text = await cachedText(file, cacheName);
    if (text !== null) {
      return text.slice(text.indexOf("\"") + 1, text.lastIndexOf("\""));
    }
    await loadScript(file);
    const value = key === "wasm" ? store.wasm : store.parts[key];
    if (key === "wasm") {
      delete store.wasm;
    } else {
      store.parts[key] = null;
    }
    return value;
  }

  async function forgetOldCaches(keep) {
    if (location.protocol === "file:" || !("caches" in window)) {
      return;
    }
    try {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith("lmreport-playground-") && n !== keep)
        .map((n) => caches.delete(n)));
    } catch {
      // Cache Storage refused (a private window): nothing kept, nothing to forget
    }
  }

  async function loadModel(manifest, base, progress) {
    const cacheName = `lmreport-playground-${manifest.digest}`;
    forgetOldCaches(cacheName);
    // progress in the bytes of the files read (base64 text), as the download says
    const total = manifest.wasm.file_bytes + manifest.parts.reduce((sum, p) => sum + p.file_bytes, 0);
    let done = 0;
    progress(done, total);
    await loadScript(`${base}ort.wasm.min.js`);
    await loadScript(`${base}ort-glue.js`);
    const wasm = new Uint8Array(manifest.wasm.bytes);
    bytesOf(await base64Of(`${base}${manifest.wasm.file}`, "wasm", cacheName), wasm, 0);
    done += manifest.wasm.file_bytes;
    progress(done, total);
    const model = new Uint8Array(manifest.parts.reduce((sum, p) => sum + p.bytes, 0));
    let offset = 0;
    for (let i = 0; i < manifest.parts.length; i += 1) {
      offset += bytesOf(await base64Of(`${base}${manifest.parts[i].file}`, i, cacheName), model, offset);
      done += manifest.parts[i].file_bytes;
      progress(done, total);
    }
    const ort = window.ort;
    ort.env.wasm.numThreads = 1;  // threads need headers a static host cannot send
    ort.env.wasm.wasmBinary = wasm;
    ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(new Blob([store.glue], { type: "text/javascript" })) };
    const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"],
                                                               graphOptimizationLevel: "basic" });
    await loadScript(`${base}tokenizer.js`);
    await loadScript(`${base}tokenizer-data.js`);
    const tokenizer = window.LmreportTokenizer.fromJSON(store.tokenizer);
    delete store.tokenizer;
    return { session, tokenizer };
  }

  async function run(model, manifest, ids) {
    const ort = window.ort;
    const input = new ort.Tensor("int64", BigInt64Array.from(ids.map((id) => BigInt(id))), [1, ids.length]);
    const out = await model.session.run({ input_ids: input });
    const n = ids.length;
    return { n, logits: out.logits.data, lensProbs: out.lens_probs.data,
             lensIds: Array.from(out.lens_ids.data, (v) => Number(v)), attentions: out.attentions.data,
             layers: manifest.layers, heads: manifest.heads, top: manifest.top };
  }

  // The top k tokens at a temperature: softmax(logits / T) in float64; the order is the logits' for any T > 0.
  function topk(logits, temperature, k) {
    let max = -Infinity;
    for (let i = 0; i < logits.length; i += 1) {
      max = Math.max(max, logits[i]);
    }
    let sum = 0;
    for (let i = 0; i < logits.length; i += 1) {
      sum += Math.exp((logits[i] - max) / temperature);
    }
    const best = [];
    for (let i = 0; i < logits.length; i += 1) {
      if (best.length < k || logits[i] > logits[best[best.length - 1]]) {
        best.push(i);
        best.sort((a, b) => logits[b] - logits[a] || a - b);
        if (best.length > k) {
          best.pop();
        }
      }
    }
    return best.map((id) => ({ id, prob: Math.exp((logits[id] - max) / temperature) / sum, logit: logits[id] }));
  }

  // A token as the build's figures show it (views/figure.py display_token): spaces and line breaks made visible,
  // control and unassigned characters and the other spaces (no-break, thin...) spelt out, the empty token as ∅.
  const VISIBLE = { " ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍" };
  const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zs}\p{Zl}\p{Zp}]/u;

  function show(text) {
    if (text === "") {
      return "∅";
    }
    let out = "";
    for (const ch of text) {
      const code = ch.codePointAt(0);
      if (VISIBLE[ch]) {
        out += VISIBLE[ch];
      } else if (HIDDEN.test(ch)) {
        out += code > 0xff ? `\\u${code.toString(16).padStart(4, "0")}` : `\\x${code.toString(16).padStart(2, "0")}`;
      } else {
        out += ch;
      }
    }
    return out;
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function percent(p) {
    return p >= 0.001 ? `${(100 * p).toFixed(1)}%` : p.toExponential(1);
  }

  // One model per page, however many boxes ask for it: the first call loads it, later calls wait on the same load
  // and hear its progress too.
  const listeners = new Set();
  let loading = null;

  function load(manifest, base, progress) {
    if (progress) {
      listeners.add(progress);
    }
    if (!loading) {
      loading = loadModel(manifest, base, (done, total) => listeners.forEach((listen) => listen(done, total)));
      loading.catch(() => {
        loading = null;  // a failed load (a missing part) may be tried again
      });
    }
    return loading.finally(() => listeners.delete(progress));
  }

  // The manifest: in the playground page's own JSON block, or in playground/manifest.js for a lesson's page.
  async function manifestAt(base) {
    if (!store.manifest) {
      await loadScript(`${base}manifest.js`);
    }
    return store.manifest;
  }

  // text cut to limit characters (not UTF-16 units), with an ellipsis where it was cut: errors.py's short()
  function short(text, limit) {
    const chars = Array.from(text);
    return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join("")}…`;
  }

  // What stops a prompt from running, in words for the reader, or null: a temperature that is not above 0, no
  // tokens, or more than `limit` (attention grows with the square of the length); `where` names the limit's owner.
  function promptProblem(ids, temperature, limit, where) {
    if (!(temperature > 0)) {
      return "The temperature must be a number above 0.";
    }
    if (ids.length === 0) {
      return "The prompt gives no tokens: type something.";
    }
    if (ids.length > limit) {
      return `The prompt is ${ids.length} tokens; ${where} at most ${limit} (attention grows with the square of ` +
        "the length): shorten it.";
    }
    return null;
  }

  store.engine = { MB, loadScript, load, manifestAt, run, topk, show, el, percent, short, promptProblem };
}());
