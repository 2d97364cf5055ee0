"""The playground page in headless Chromium, against the same graph run by Python's onnxruntime with the page's
settings (one thread, basic optimisation), in one run:

    python -m bench.playground_page [--site SITE] [--results FILE.json]

SITE is a built site with the playground on (default: built here from a one-lesson course on the embedded model,
fp16). Measured: the bytes the playground adds to the site; the time from opening the page to the first result,
from file:// and from a loopback http server (where a second visit reads Cache Storage); the page's forward time
for prompts of 10, 40 and 64 tokens as a ratio to onnxruntime's in Python; the browser's memory (resident, all its
processes) once the model is loaded; and the largest difference between the page's next-token probabilities and
Python onnxruntime's for the same ids.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = ("the cat sat on the mat because it was tired and the dog ran to the park where children played "
         "with a red ball under the old tree near the river").split()
LENGTHS = (10, 40, 64)
REPEAT = 3


def _site() -> Path:
    from lmreport.build import BuildOptions, build

    root = Path(tempfile.mkdtemp(prefix="lmreport-bench-playground-"))
    (root / "lessons").mkdir()
    (root / "lessons" / "01-a.md").write_text('# A\n\n```lmreport\nanalysis: topk\nprompt: "The capital of France '
                                              'is"\n```\n')
    (root / "lessons" / "course.yml").write_text("title: Bench\nplayground: fp16\n")
    build(BuildOptions(lessons_dir=root / "lessons", site_dir=root / "site", cache_dir=REPO / ".lmreport-cache",
                       progress=False))
    return root / "site"


def _prompt(tokenizer, n: int) -> str:
    words = []
    while len(tokenizer(" ".join(words))["input_ids"]) < n:
        words.append(WORDS[len(words) % len(WORDS)])
    while len(tokenizer(" ".join(words))["input_ids"]) > n:
        words.pop()
    return " ".join(words)


def _browser_memory(driver) -> int:
    import psutil

    pid = driver.service.process.pid
    found = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
    return sum(p.memory_info().rss for p in found if "chrom" in p.name())


def _wait(driver, script: str, *args, seconds: float = 900):
    """The first non-null value script returns, polled (a script waiting longer than the driver's HTTP timeout
    would fail)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value is not None:
            return value
        time.sleep(0.05)
    raise TimeoutError(script)


def _open_and_load(driver, url: str) -> tuple[float, float]:
    """Seconds from opening the page to the model loaded, and to the first result."""
    started = time.perf_counter()
    driver.get(url)
    driver.find_element("css selector", ".pg-load").click()
    _wait(driver, 'return document.querySelector(".playground").classList.contains("pg-ready") || null;')
    loaded = time.perf_counter() - started
    _run(driver, driver.find_element("css selector", ".pg-prompt").get_attribute("value"))
    return loaded, time.perf_counter() - started


def _run(driver, prompt: str) -> dict:
    runs = int(driver.execute_script('return document.querySelector(".playground").dataset.runs || "0";'))
    driver.execute_script("""const root = document.querySelector(".playground");
        root.querySelector(".pg-prompt").value = arguments[0];
        root.querySelector(".pg-form button[type=submit]").click();""", prompt)
    return _wait(driver, """const root = document.querySelector(".playground");
        if (Number(root.dataset.runs || 0) <= arguments[0]) { return null; }
        const ms = Number(/in (\\d+) ms/.exec(root.querySelector(".pg-status").textContent)[1]);
        const next = Array.from(root.querySelectorAll(".pg-topk tbody tr"))
          .map((r) => [Number(r.dataset.id), Number(r.dataset.prob)]);
        return {ms, next};""", runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from lmreport.playground.bundle import prepare  # noqa: F401 -- the ONNX tools are installed
    from tests import browser

    site = args.site or _site()
    folder = site / "playground"
    added = sum(f.stat().st_size for f in folder.iterdir())
    manifest = json.loads(re.search(r'id="playground-manifest">(.*?)</script>',
                                    (site / "playground.html").read_text(), re.S).group(1))
    model = b"".join(__import__("base64").b64decode(
        (folder / p["file"]).read_text().split('"')[1]) for p in manifest["parts"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    data = (folder / "tokenizer-data.js").read_text()
    tokenizer = Tokenizer.from_str(data.split(".tokenizer = ", 1)[1].rstrip(";\n"))

    def encode(text):
        return {"input_ids": tokenizer.encode(text).ids}

    rows = {}
    with browser.chromium(1280, 900) as driver:
        loaded, first = _open_and_load(driver, (site / "playground.html").as_uri())
        memory = _browser_memory(driver)
        worst = 0.0
        for n in LENGTHS:
            prompt = _prompt(encode, n)
            ids = encode(prompt)["input_ids"]
            page = [_run(driver, prompt) for _ in range(REPEAT)]
            python = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                logits = session.run(None, {"input_ids": np.array([ids], dtype=np.int64)})[0]
                python.append(time.perf_counter() - started)
            probs = np.exp(logits.astype(np.float64) - logits.max())
            probs /= probs.sum()
            worst = max(worst, max(abs(p - probs[i]) for i, p in page[-1]["next"]))
            page_s = statistics.median(r["ms"] for r in page) / 1000
            rows[n] = {"tokens": len(ids), "page_s": round(page_s, 3),
                       "python_s": round(statistics.median(python), 3),
                       "ratio": round(page_s / statistics.median(python), 2)}
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/playground.html"
    with browser.chromium(1280, 900) as driver:
        http_first = _open_and_load(driver, url)[1]
        http_again = _open_and_load(driver, url)[1]  # the parts from Cache Storage
    server.shutdown()
    result = {
        "weights": manifest["weights"], "site_bytes_added": added, "model_bytes": len(model),
        "file_first_result_s": round(first, 1), "file_loaded_s": round(loaded, 1),
        "http_first_result_s": round(http_first, 1), "http_second_visit_s": round(http_again, 1),
        "browser_memory_gb": round(memory / 1e9, 2), "memory_estimate_gb": manifest["memory_gb"],
        "forward": rows, "max_dp_next_page_vs_python_onnxruntime": worst,
        "build_check": manifest["check"],
    }
    print(json.dumps(result, indent=1))
    if args.results:
        args.results.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
