// Runs lmreport/playground/static/tokenizer.js under node for tests/playground/test_tokenizer_js.py:
//   node tokenizer_runner.cjs TOKENIZER_JSON REQUEST_JSON
// REQUEST_JSON holds {"texts": [...], "decode": [ids], "time": text}; stdout gets {"ids": [[...] per text],
// "tokens": [text per decoded id], "ms": {"load", "first", "again"}}. The tokenizer JSON is read here with fs; the
// page gets it embedded in a script instead.
"use strict";

const fs = require("fs");
const path = require("path");
const { performance } = require("perf_hooks");

require(path.join(__dirname, "..", "..", "lmreport", "playground", "static", "tokenizer.js"));

const [tokenizerPath, requestPath] = process.argv.slice(2);
const request = JSON.parse(fs.readFileSync(requestPath, "utf8"));
const json = JSON.parse(fs.readFileSync(tokenizerPath, "utf8"));
let started = performance.now();
const tokenizer = globalThis.LmreportTokenizer.fromJSON(json);
const ms = { load: performance.now() - started };
const ids = request.texts.map((text) => tokenizer.encode(text));
const tokens = (request.decode || []).map((id) => tokenizer.decodeToken(id));
if (request.time !== undefined) {
  started = performance.now();
  ms.tokens = tokenizer.encode(request.time).length;
  ms.first = performance.now() - started;
  started = performance.now();
  for (let i = 0; i < 20; i += 1) {
    tokenizer.encode(request.time);
  }
  ms.again = (performance.now() - started) / 20;
}
process.stdout.write(JSON.stringify({ ids, tokens, ms }));
