"""The playground's export of a model, in each weight format: time, peak memory, file size, the check's numbers, and
onnxruntime's forward time as the browser would run it (one thread, basic optimisation).

    python -m bench.playground_export [--model SPEC] [--weights fp16,fp32,int8] [--out FOLDER]
                                      [--results FILE.json]

Each format is exported in a fresh process (its peak memory is its own: loading, export, check), then run in
another fresh process that only opens the file and runs prompts of 10 and 40 tokens (the runtime's own memory).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEXT = ("The capital of France is Paris. It is known for the Eiffel Tower, the Louvre and its cafés; every year "
        "millions of visitors walk along the Seine, climb to Montmartre and eat croissants in the morning sun, "
        "before taking the train to Lyon, Marseille or Bordeaux.")
LENGTHS = (10, 40)
REPEAT = 5


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def task_export(args: dict) -> dict:
    """Load the model and export it (the check included)."""
    from lmreport import models
    from lmreport.playground.export import export

    started = time.perf_counter()
    loaded = models.load(models.resolve(args["model"]))
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = export(loaded, args["folder"], weights=args["weights"])
    return {"load_seconds": round(load_seconds, 2), "total_seconds": round(time.perf_counter() - started, 2),
            "peak_rss": _peak_rss(), "report": report}


def task_run(args: dict) -> dict:
    """Open the exported file and time forward passes of the prompt lengths asked for."""
    import numpy as np
    from tokenizers import Tokenizer

    from lmreport.playground.check import session

    folder = Path(args["folder"])
    ids = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(TEXT).ids
    before = _peak_rss()
    started = time.perf_counter()
    runner = session(folder / "model.onnx")
    out = {"session_seconds": round(time.perf_counter() - started, 3)}
    for n in args["lengths"]:
        feed = {"input_ids": np.array([ids[:n]], dtype=np.int64)}
        started = time.perf_counter()
        runner.run(None, feed)
        first = time.perf_counter() - started
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            runner.run(None, feed)
            times.append(time.perf_counter() - started)
        out[f"forward_{n}"] = {"first": round(first, 4), "median": round(sorted(times)[len(times) // 2], 4)}
    out["peak_rss"] = _peak_rss()
    out["peak_rss_before_session"] = before
    return out


TASKS = {"export": task_export, "run": task_run}


def _child(task: str, args: dict) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.playground_export", "--child", task, json.dumps(args)],
                          cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{task} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.playground_export", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--weights", default="fp16,fp32,int8")
    p.add_argument("--out", type=Path, default=None, help="where the exports are kept (default: a temporary folder)")
    p.add_argument("--results", type=Path, default=None, help="a JSON file to write the numbers into")
    p.add_argument("--child", nargs=2, metavar=("TASK", "JSON"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(TASKS[args.child[0]](json.loads(args.child[1]))))
        return 0
    root = args.out or Path(tempfile.mkdtemp(prefix="playground-"))
    results = {}
    for weights in args.weights.split(","):
        folder = root / weights
        exported = _child("export", {"model": args.model, "folder": str(folder), "weights": weights})
        ran = _child("run", {"folder": str(folder), "lengths": list(LENGTHS)})
        report = exported["report"]
        results[weights] = {"model_mb": round(report["model_bytes"] / 1e6, 1),
                            "export_seconds": report["export_seconds"], "check_seconds": report["check_seconds"],
                            "export_peak_rss_gib": round(exported["peak_rss"] / 2**30, 2),
                            "runtime_peak_rss_gib": round(ran["peak_rss"] / 2**30, 2),
                            "session_seconds": ran["session_seconds"],
                            **{k: v for k, v in ran.items() if k.startswith("forward_")},
                            "check": {k: v for k, v in report["check"].items() if k != "prompts"},
                            "per_prompt": [{k: v for k, v in q.items() if k != "input_ids"}
                                           for q in report["check"]["prompts"]]}
        print(weights, json.dumps(results[weights], indent=1), flush=True)
    if args.results:
        args.results.write_text(json.dumps({"model": args.model or "smollm2", "results": results}, indent=1) + "\n",
                                encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
