"""A two-model matrix build against the two single-model builds it replaces.

    python -m bench.matrix [--second FOLDER] [--repeat 3] [--out bench/results-matrix.json]

The course in lessons/ on the embedded SmolLM2 and on a tiny random GPT-2 (bench/tiny.py), each build cold
(an empty result cache) in a fresh process, timed from after the imports: SmolLM2 alone, the tiny GPT-2 alone,
and both as one matrix build (every lesson on each model, the comparison pages, each model loaded once and
freed before the next). Prints the matrix's time against the sum of the two single builds, and its peak
memory against the larger single build's, measured in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from .run import child
from .tiny import make_tiny_gpt2

REPO = Path(__file__).resolve().parent.parent


def cold(lessons: Path, **models: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return child("build", lessons=str(lessons), site=f"{tmp}/site", cache=f"{tmp}/cache", **models)


def measure(lessons: Path, first: str, second: str, repeat: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"first": [], "second": [], "matrix": []}
    for _ in range(repeat):  # interleaved, so that a slow spell of the machine hits all three alike
        runs["first"].append(cold(lessons, model=first))
        runs["second"].append(cold(lessons, model=second))
        runs["matrix"].append(cold(lessons, models=[first, second]))
    seconds = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    rss = {name: max(r["peak_rss"] for r in rs) for name, rs in runs.items()}
    singles = seconds["first"] + seconds["second"]
    return {
        "seconds": seconds, "peak_rss": rss, "sum_of_singles": singles, "time_ratio": seconds["matrix"] / singles,
        "memory_ratio": rss["matrix"] / max(rss["first"], rss["second"]),
        "matrix": {k: runs["matrix"][0][k] for k in ("pages", "analyses", "comparisons", "model_loads",
                                                     "forward_passes")},
        "repeat": repeat,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.matrix", description=__doc__.splitlines()[0])
    p.add_argument("--first", default="smollm2", help="the first model (default: the embedded SmolLM2)")
    p.add_argument("--second", type=Path, default=Path(tempfile.gettempdir()) / "lmreport-tiny-gpt2",
                   help="the second model's folder; a tiny random GPT-2 is made there if it holds none")
    p.add_argument("--lessons", type=Path, default=REPO / "lessons")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-matrix.json")
    args = p.parse_args(argv)
    make_tiny_gpt2(args.second)
    cold(args.lessons, model=args.first)  # converts a GGUF once, outside the timings
    result = measure(args.lessons, args.first, str(args.second), args.repeat)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    s, m = result["seconds"], result["matrix"]
    print(f"the course, cold, medians of {args.repeat}: {args.first} {s['first']:.2f} s, second {s['second']:.2f} s "
          f"(sum {result['sum_of_singles']:.2f} s); matrix {s['matrix']:.2f} s: ratio {result['time_ratio']:.2f} "
          f"(target <= 1.0)")
    print(f"matrix: {m['pages']} pages, {m['analyses']} analyses, {m['comparisons']} comparison pages, "
          f"{m['model_loads']} model loads, {m['forward_passes']} forward passes; peak RSS "
          f"{result['peak_rss']['matrix'] / 2**30:.2f} GiB vs the larger single build's "
          f"{max(result['peak_rss']['first'], result['peak_rss']['second']) / 2**30:.2f} GiB: ratio "
          f"{result['memory_ratio']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
