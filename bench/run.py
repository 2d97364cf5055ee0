"""lmreport benchmarks: every figure measured in this one run, printed next to its target as a ratio.

    python -m bench [--lessons lessons] [--model ID] [--repeat 3] [--skip-browser] [--out bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GIB = 2**30
SENTENCE = "The quick brown fox jumps over the lazy dog while the keys to the cabinet are on the table. "


def child(task: str, **args: Any) -> dict[str, Any]:
    """Run bench.child TASK in a fresh Python process; return its JSON."""
    out = subprocess.run([sys.executable, "-m", "bench.child", task, json.dumps(args)], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parent.parent)
    if out.returncode != 0:
        raise RuntimeError(f"bench.child {task} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(repeat: int, fn) -> tuple[float, list[dict[str, Any]]]:
    runs = [fn() for _ in range(repeat)]
    return statistics.median(r["seconds"] for r in runs), runs


def figure(name: str, value: float, unit: str, target: str, ratio: float | None, limit: float | None,
           **detail: Any) -> dict[str, Any]:
    met = None if ratio is None or limit is None else ratio <= limit
    return {"name": name, "value": value, "unit": unit, "target": target, "ratio": ratio, "met": met,
            "detail": detail}


# 1 and 2, 7 ---------------------------------------------------------------------------------------------

def course_work(lessons: Path, model: str | None) -> list[list[Any]]:
    """(model folder, distinct prompts, generations) for the bare-minimum script, from the course's own plan."""
    from lmreport import models
    from lmreport.build import plan
    from lmreport.source.lessons import scan_lessons

    scan = scan_lessons(lessons)
    jobs, errors = plan(scan.lessons, models.resolve(model))
    if scan.errors or errors:
        raise RuntimeError("the course does not build: " + "; ".join(map(str, scan.errors + errors)))
    work: dict[str, list[Any]] = {}
    for job in jobs:
        source = job.source
        folder = str(models.converted_folder(source) if source.kind == "gguf" else source.path)
        entry = work.setdefault(source.key, [folder, [], []])
        for prompt in job.analysis.prompts(job.options):
            if prompt not in entry[1]:
                entry[1].append(prompt)
        if job.analysis.name == "generate":
            entry[2].append([job.options["prompt"], job.options["new_tokens"]])
    return list(work.values())


def build_figures(lessons: Path, model: str | None, tmp: Path, repeat: int) -> tuple[list[dict], dict]:
    work = course_work(lessons, model)  # also converts a GGUF model once, outside the timings

    def cold() -> dict[str, Any]:
        cache = tmp / f"cache-{time.monotonic_ns()}"
        return child("build", lessons=str(lessons), site=str(tmp / "site"), cache=str(cache), model=model)

    cold_seconds, cold_runs = median_of(repeat, cold)
    required = required_passes(tmp / "site" / "data")
    for entry in work:  # the course's first model: the one its attribution and ablation blocks ran on
        entry.append(required)
        break
    bare_seconds, _ = median_of(repeat, lambda: child("bare", work=work))
    last_cache = max(tmp.glob("cache-*"), key=lambda p: p.stat().st_mtime)
    warm = child("build", lessons=str(lessons), site=str(tmp / "site"), cache=str(last_cache), model=model)

    edited = tmp / "lessons-edited"
    shutil.copytree(lessons, edited)
    first = sorted(edited.glob("*.md"))[0]
    first.write_text(first.read_text() + "\nOne more sentence of prose, added by the benchmark.\n")
    prose = child("build", lessons=str(edited), site=str(tmp / "site"), cache=str(last_cache), model=model)
    edit_one_prompt(edited)
    directive = child("build", lessons=str(edited), site=str(tmp / "site"), cache=str(last_cache), model=model)

    weights = cold_runs[0]["fp32_weight_bytes"]
    peak = max(r["peak_rss"] for r in cold_runs)
    figures = [
        figure("cold build vs bare minimum", cold_seconds, "s", "<= 1.3", cold_seconds / bare_seconds, 1.3,
               bare_seconds=bare_seconds, forward_passes=cold_runs[0]["forward_passes"],
               analyses=cold_runs[0]["computed"]),
        figure("warm rebuild, nothing changed", warm["seconds"], "s", "<= 0.05 of cold, no model load",
               warm["seconds"] / cold_seconds, 0.05 if warm["model_loads"] == 0 else -1,
               model_loads=warm["model_loads"], computed=warm["computed"]),
        figure("rebuild after a prose edit", prose["seconds"], "s", "<= 0.05 of cold, no model load",
               prose["seconds"] / cold_seconds, 0.05 if prose["model_loads"] == 0 else -1,
               model_loads=prose["model_loads"], computed=prose["computed"]),
        figure("rebuild after one directive edit", directive["seconds"], "s", "only that prompt recomputed",
               directive["forward_passes"], 1, computed=directive["computed"], model_loads=directive["model_loads"]),
        figure("peak memory of a cold build", peak / GIB, "GiB", "<= 2 x fp32 weights + 1 GiB",
               peak / (2 * weights + GIB), 1.0, fp32_weights_gib=weights / GIB),
    ]
    return figures, {"site": tmp / "site"}


def required_passes(data: Path) -> list[dict[str, Any]]:
    """What the course's attribution and ablation blocks must compute beyond one forward pass per prompt, read
    from the cold build's own figures: each attribution method's distinct inputs (with a backward pass for the
    gradient methods: saliency and gradient × input share one; integrated gradients takes as many points as it
    needed to settle), each cell of a patching grid (a forward pass of the corrupted prompt) with its clean and
    corrupted runs, and each ablation variant's forward pass. A probe's fits are not counted: no model runs."""
    work: list[dict[str, Any]] = []
    for path in sorted(data.glob("*-attribution.json")):
        figure = json.loads(path.read_text())
        prompt, methods = figure["options"]["prompt"], figure["data"]["methods"]
        gradients = {m["name"]: m["passes"]["inputs"] for m in methods
                     if m["name"] in ("saliency", "gradient_x_input", "integrated_gradients")}
        if "integrated_gradients" in gradients:
            work.append({"kind": "grad", "prompt": prompt, "inputs": gradients["integrated_gradients"]})
        if {"saliency", "gradient_x_input"} & set(gradients):
            work.append({"kind": "grad", "prompt": prompt, "inputs": 1})
        sampled = sum(m["passes"]["inputs"] for m in methods if m["name"] not in gradients)
        if sampled:
            work.append({"kind": "forward", "prompt": prompt, "inputs": sampled})
    for path in sorted(data.glob("*-patching.json")):  # every cell of the grid: the corrupted run, one piece restored
        patching = json.loads(path.read_text())["data"]
        cells = sum(len(row) for row in patching["recovery"])
        work.append({"kind": "forward", "prompt": patching["corrupted"], "inputs": cells})
        work.append({"kind": "texts", "texts": [patching["prompt"], patching["corrupted"]]})
    for path in sorted(data.glob("*-ablation.json")):
        rows = json.loads(path.read_text())["data"]["rows"]
        work.append({"kind": "texts", "texts": [row["text"] for row in rows[1:]]})
    return work


def edit_one_prompt(lessons: Path) -> None:
    """Change the prompt of the first directive found, so exactly one new forward pass is needed."""
    for lesson in sorted(lessons.glob("*.md")):
        lines = lesson.read_text().splitlines()
        for i, line in enumerate(lines):
            match = re.match(r"^prompt:\s*(.+?)\s*$", line)
            if match:
                value = match.group(1)
                if value[0] in "\"'" and value[-1] == value[0]:
                    lines[i] = f"prompt: {value[:-1]} (edited){value[-1]}"
                else:
                    lines[i] = f"prompt: {value} (edited)"
                lesson.write_text("\n".join(lines) + "\n")
                return
    raise RuntimeError("no directive with a prompt to edit")


# 3 --------------------------------------------------------------------------------------------------------

def load_figure(model: str | None, repeat: int) -> dict[str, Any]:
    from lmreport import models

    source = models.resolve(model)
    if source.kind != "gguf":
        return figure("model load: converted vs GGUF", math.nan, "s", "<= 0.15", None, None,
                      skipped=f"{source.name} is not a GGUF model")
    converted = models.converted_folder(source)
    gguf, _ = median_of(repeat, lambda: child("load", folder=str(source.path), gguf_file=source.gguf_file))
    fast, _ = median_of(repeat, lambda: child("load", folder=str(converted)))
    return figure("model load: converted vs GGUF", fast, "s", "<= 0.15", fast / gguf, 0.15, gguf_seconds=gguf)


# 4 and 6 ------------------------------------------------------------------------------------------------

def prompt_of(loaded, n_tokens: int) -> list[int]:
    ids = loaded.tokenizer(SENTENCE * (1 + n_tokens // 10), add_special_tokens=False)["input_ids"]
    return ids[:n_tokens]


def page_weight_figure(model: str | None, tmp: Path) -> dict[str, Any]:
    """A lesson page with head and model views of a 20-token prompt, against BertViz's own HTML."""
    from bertviz import head_view, model_view

    from lmreport import models
    from lmreport.build import BuildOptions, build

    loaded = models.load(models.resolve(model))
    text = loaded.tokenizer.decode(prompt_of(loaded, 20))
    lessons = tmp / "weight-lessons"
    lessons.mkdir()
    quoted = json.dumps(text)
    (lessons / "01-weight.md").write_text(f"# Weight\n\n```lmreport\nanalysis: attention\nprompt: {quoted}\n```\n")
    site = tmp / "weight-site"
    build(BuildOptions(lessons_dir=lessons, site_dir=site, model=model, cache_dir=tmp / "weight-cache",
                       progress=False))
    page = (site / "01-weight.html").stat().st_size
    assets = sum(p.stat().st_size for p in (site / "assets").iterdir())
    forward = loaded.forward(text)
    attention = [a[None] for a in forward.attentions]
    tokens = loaded.tokenizer.convert_ids_to_tokens(forward.input_ids)
    theirs_model = len(model_view(attention, tokens, html_action="return").data.encode())
    theirs_head = len(head_view(attention, tokens, html_action="return").data.encode())
    return figure("page weight: head + model view, 20 tokens", page, "bytes", "<= 0.5 of BertViz model_view",
                  page / theirs_model, 0.5, tokens=len(forward.input_ids), bertviz_model_view=theirs_model,
                  bertviz_head_plus_model=theirs_model + theirs_head, ratio_to_head_plus_model=page / (
                      theirs_model + theirs_head), shared_assets_bytes=assets)


def growth(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y against log x: y ~ x^slope."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def scaling_figures(model: str | None, lengths: list[int], repeat: int) -> list[dict[str, Any]]:
    from lmreport import analyses, models
    from lmreport.analyses import render
    from lmreport.analyses.attention.compute import attention_data
    from lmreport.result import Result

    loaded = models.load(models.resolve(model))
    lengths = [n for n in lengths if n <= (loaded.max_positions or n)]
    forward_seconds, hidden_bytes, attention_bytes = [], [], []
    loaded.run_ids("warm-up", prompt_of(loaded, 8))
    hidden = analyses.get("hidden_states")
    for n in lengths:
        ids = prompt_of(loaded, n)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            forward = loaded.run_ids(f"scaling-{n}", ids)
            times.append(time.perf_counter() - started)
        forward_seconds.append(statistics.median(times))
        data = hidden.compute(forward, hidden.parse_options({"prompt": "x"}), loaded)
        hidden_bytes.append(len(render(Result("hidden_states", {}, {}, data), "fig-1").html.encode()))
        if n <= 128:  # attention views stop at 256 tokens; 128 keeps the benchmark's memory small
            views = attention_data(forward, ["head", "model"], 0)
            attention_bytes.append(len(render(Result("attention", {}, {}, views), "fig-1").html.encode()))
    attn_lengths = lengths[: len(attention_bytes)]
    return [
        figure("forward pass cost by prompt length", forward_seconds[-1], "s", "report growth", None, None,
               lengths=lengths, seconds=forward_seconds, growth_exponent=growth(lengths, forward_seconds)),
        figure("attention figure weight by prompt length", attention_bytes[-1], "bytes", "report growth", None, None,
               lengths=attn_lengths, bytes=attention_bytes, growth_exponent=growth(attn_lengths, attention_bytes)),
        figure("hidden-states figure weight by prompt length", hidden_bytes[-1], "bytes", "report growth", None,
               None, lengths=lengths, bytes=hidden_bytes, growth_exponent=growth(lengths, hidden_bytes)),
    ]


# 5 --------------------------------------------------------------------------------------------------------

DRAWN_WATCH = """
window.__drawnAt = null;
const check = () => {
  const bk = document.querySelectorAll('.bk-figure[data-bk-doc]').length;
  const views = [...document.querySelectorAll('.bertviz')];
  const bokehDone = bk === 0 || (window.Bokeh && Bokeh.documents.length === bk);
  const bertvizDone = views.every(v => v.querySelector('#vis svg'));
  if (document.readyState !== 'loading' && bokehDone && bertvizDone) { window.__drawnAt = performance.now(); }
  else { setTimeout(check, 5); }
};
document.addEventListener('DOMContentLoaded', check);
"""


def render_figure(site: Path, repeat: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import browser

    heaviest = max((p for p in site.glob("*.html") if p.name != "index.html"), key=lambda p: p.stat().st_size)
    html = heaviest.read_text()
    plain_html = re.sub(r'<figure class="lmreport-figure.*?</figure>', "", html, flags=re.S)
    plain_html = re.sub(r'<script src="[^"]*"></script>', "", plain_html)
    plain = site / "__plain.html"
    plain.write_text(plain_html)
    times: dict[str, list[float]] = {"figures": [], "plain": []}
    with browser.chromium() as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DRAWN_WATCH})
        for _ in range(repeat):
            for key, page in (("figures", heaviest), ("plain", plain)):
                driver.get(page.as_uri())
                end = time.time() + 60
                while time.time() < end and driver.execute_script("return window.__drawnAt") is None:
                    time.sleep(0.02)
                times[key].append(driver.execute_script("return window.__drawnAt"))
    plain.unlink()
    drawn, bare = statistics.median(times["figures"]), statistics.median(times["plain"])
    return figure("render: heaviest page drawn vs plain page", drawn / 1000, "s", "report", drawn / bare, None,
                  page=heaviest.name, page_bytes=heaviest.stat().st_size, plain_seconds=bare / 1000)


# ---------------------------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    import os

    import torch

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "processor": platform.processor()}


def print_table(figures: list[dict[str, Any]]) -> None:
    print(f"{'figure':46} {'value':>14} {'ratio':>9}  target")
    for f in figures:
        value = "—" if isinstance(f["value"], float) and math.isnan(f["value"]) else f"{f['value']:.4g} {f['unit']}"
        ratio = "—" if f["ratio"] is None else f"{f['ratio']:.3g}"
        mark = {True: "met", False: "NOT met", None: ""}[f["met"]]
        print(f"{f['name']:46} {value:>14} {ratio:>9}  {f['target']} {mark}")
        for key in ("growth_exponent", "skipped"):
            if key in f["detail"]:
                print(f"{'':46} {key}: {f['detail'][key]}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--lessons", type=Path, default=Path("lessons"), help="the course to build (default: lessons/)")
    p.add_argument("--model", help="model for lessons that name none (default: the embedded SmolLM2)")
    p.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is reported (default 3)")
    p.add_argument("--lengths", default="8,32,128,512", help="prompt lengths for the scaling figures")
    p.add_argument("--skip-browser", action="store_true", help="leave out the headless Chromium render timing")
    p.add_argument("--out", type=Path, default=Path("bench/results.json"), help="where to write the results")
    args = p.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    lessons = args.lessons.resolve()
    with tempfile.TemporaryDirectory(prefix="lmreport-bench-") as tmp_name:
        tmp = Path(tmp_name)
        figures, built = build_figures(lessons, args.model, tmp, args.repeat)
        figures.append(load_figure(args.model, args.repeat))
        figures.append(page_weight_figure(args.model, tmp))
        if not args.skip_browser:
            figures.append(render_figure(built["site"], args.repeat))
        figures += scaling_figures(args.model, [int(n) for n in args.lengths.split(",")], args.repeat)
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
               "lessons": str(args.lessons), "model": args.model or "smollm2 (embedded)", "figures": figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print_table(figures)
    print(f"\nwrote {args.out}")
    return 0
