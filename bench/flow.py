"""Information flow: time and page weight of the `flow` analysis for a 32-token prompt.

    python -m bench.flow [--repeat 3] [--out bench/results-flow.json]

On the embedded SmolLM2, one thread, warm (model loaded, one call of each first), medians of `repeat`: the
forward pass that keeps what flow reads (hidden states, attention weights, MLP neurons), then flow's compute
(its own hooked pass, the shares of every layer and position, the routes at the floor and the details of their
nodes), as a ratio to that forward pass. Page weight: the rendered figure (HTML with its JSON block), gzipped as
a web server would send it, and the data file. Measured in one run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROMPT = ("In the quiet town by the river, the old baker opened his shop at dawn and the smell of fresh bread "
          "drifted down the street to the market square where the children")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.flow", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--prompt", default=PROMPT)
    p.add_argument("--tokens", type=int, default=32, help="cut the prompt to this many tokens")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-flow.json")
    args = p.parse_args(argv)

    import torch

    from lmreport import analyses, models
    from lmreport.analyses import render
    from lmreport.result import Result

    torch.set_num_threads(1)
    loaded = models.load(models.resolve(args.model))
    ids = loaded.encode(args.prompt)[:args.tokens]
    prompt = loaded.tokenizer.decode(ids, skip_special_tokens=True)
    spec = analyses.get("flow")
    options = spec.parse_options({"prompt": prompt})

    def forward() -> object:
        loaded.forget(prompt)
        return loaded.forward(prompt, spec.needs)

    passed = forward()
    spec.compute(passed, options, loaded)  # warm
    forward_s, flow_s = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        passed = forward()
        forward_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        data = spec.compute(passed, options, loaded)
        flow_s.append(time.perf_counter() - start)
    result = Result(analysis="flow", options=options, data=data, model={"name": loaded.source.name})
    html = render(result, "bench-flow").html.encode()
    data_json = json.dumps(data, ensure_ascii=False).encode()
    script = (REPO / "lmreport" / "analyses" / "flow" / "page.js").read_bytes()
    report = {
        "model": loaded.source.name,
        "tokens": len(passed.tokens),
        "layers": len(data["ffn"]),
        "forward_s": statistics.median(forward_s),
        "flow_s": statistics.median(flow_s),
        "ratio": statistics.median(flow_s) / statistics.median(forward_s),
        "edges_sent": len(data["edges"]),
        "nodes_with_details": len(data["nodes"]),
        "figure_html_bytes": len(html),
        "figure_html_gzip_bytes": len(gzip.compress(html)),
        "data_json_bytes": len(data_json),
        "flow_js_bytes": len(script),
        "floor": data["floor"],
        "threshold": data["threshold"],
    }
    print(f"{report['model']}, {report['tokens']} tokens, {report['layers']} layers, one thread, median of "
          f"{args.repeat}")
    print(f"forward pass {report['forward_s']:.3f} s, flow {report['flow_s']:.3f} s, ratio {report['ratio']:.1f}")
    print(f"figure {report['figure_html_bytes'] / 1024:.0f} KiB ({report['figure_html_gzip_bytes'] / 1024:.0f} KiB "
          f"gzipped), data {report['data_json_bytes'] / 1024:.0f} KiB, flow.js {report['flow_js_bytes'] / 1024:.1f} "
          f"KiB; {report['edges_sent']} attention edges above the floor, {report['nodes_with_details']} nodes with "
          "details")
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
