"""Page weight of an attention figure (head and model views) for a long prompt, against the earlier format and
BertViz's own output.

    python -m bench.weight [--tokens 128] [--out bench/results-weight.json]

On the embedded SmolLM2 (30 layers × 9 heads): the figure's HTML as lmreport renders it now (weights as bytes,
the lower triangle only), the same figure with the weights as JSON text (the format before, 5 decimals), and
BertViz's model_view and head_view HTML for the same attention. Target: the figure at most 3 MB for 128 tokens.
Measured in one run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_BYTES = 3_000_000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.weight", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-weight.json")
    args = p.parse_args(argv)

    from bertviz import head_view, model_view

    from lmreport import models
    from lmreport.analyses import render
    from lmreport.analyses.attention.compute import attention_data
    from lmreport.result import Result
    from lmreport.views.figure import display_tokens, script_json

    from .run import prompt_of

    loaded = models.load(models.resolve(args.model))
    ids = prompt_of(loaded, args.tokens)
    forward = loaded.run_ids("weight", ids)
    data = attention_data(forward, ["head", "model"], 0)
    now = len(render(Result("attention", {}, {}, data), "fig-1").html.encode())
    before = len(script_json({"tokens": display_tokens(data["tokens"]), "attention": data["attention"],
                              "layer": 0}).encode())
    attention = [a[None] for a in forward.attentions]
    tokens = loaded.tokenizer.convert_ids_to_tokens(ids)
    theirs = (len(model_view(attention, tokens, html_action="return").data.encode())
              + len(head_view(attention, tokens, html_action="return").data.encode()))
    report = {"model": loaded.source.name, "tokens": len(ids), "layers": len(attention),
              "heads": int(forward.attentions.shape[1]), "figure_bytes": now, "json_format_bytes": before,
              "bertviz_head_plus_model_bytes": theirs, "target_bytes": TARGET_BYTES, "met": now <= TARGET_BYTES,
              "ratio_to_json_format": now / before, "ratio_to_bertviz": now / theirs}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{report['model']}, {report['tokens']} tokens, {report['layers']} layers × {report['heads']} heads")
    print(f"attention figure now: {now / 1e6:.2f} MB (target <= {TARGET_BYTES / 1e6:.0f} MB: "
          f"{'met' if report['met'] else 'NOT met'})")
    print(f"weights as JSON text (before): {before / 1e6:.2f} MB; ratio {report['ratio_to_json_format']:.3f}")
    print(f"BertViz head_view + model_view: {theirs / 1e6:.2f} MB; ratio {report['ratio_to_bertviz']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
