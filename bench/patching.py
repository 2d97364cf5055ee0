"""Activation patching: lmreport's grid against the same grid done cell by cell with plain forward hooks.

    python -m bench.patching [--repeat 3] [--out bench/results-patching.json]

On the embedded SmolLM2, one thread for both (torch.set_num_threads(1)), "The Eiffel Tower is in the city of"
against the same with "Eiffel Tower" replaced by "Colosseum" (9 tokens each), the residual stream restored at every
row (the embeddings, then after each block) and position, metric logit(answer) − logit(wrong). lmreport's side is
the analysis's compute: the clean and corrupted runs, then one batched pass per row, the prompt widened to the
batch at the restored module (what comes before it is computed once), cells whose clean value is the corrupted
run's own (before the first changed token, unchanged embeddings) not run. The other side records the clean run's
values with a forward hook and runs the corrupted prompt once per cell with a hook that puts one position back.
Both ask the model for the last position's logits only, warm (one call of each first); the grids must agree
before anything is timed. Prints seconds, passes and the ratio (target at most 0.3), measured in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROMPT = "The Eiffel Tower is in the city of"
TARGET = 0.3
AGREE = 1e-4  # logits: one pass of batch 1 against a batched one differ by float32 rounding only


def cell_by_cell(loaded: Any, clean: list[int], corrupted: list[int], answer: int, wrong: int) -> list[list[float]]:
    """The grid [row][position] with plain hooks: row 0 the embeddings' output, row n block n's output."""
    import torch

    from lmreport.models import architecture

    modules = [loaded.model.get_input_embeddings(), *architecture.decoder_layers(loaded.model)]
    recorded: dict[int, Any] = {}

    def keep(row: int) -> Any:
        def hook(_module: Any, _args: Any, output: Any) -> None:
            recorded[row] = (output[0] if isinstance(output, tuple) else output).detach().clone()
        return hook

    def run(ids: list[int]) -> Any:
        with torch.no_grad():
            return loaded.model(input_ids=torch.tensor([ids]), use_cache=False, logits_to_keep=1).logits[0, -1]

    handles = [module.register_forward_hook(keep(row)) for row, module in enumerate(modules)]
    run(clean)
    for handle in handles:
        handle.remove()
    grid = []
    for row, module in enumerate(modules):
        values = []
        for position in range(len(corrupted)):
            def put_back(_module: Any, _args: Any, output: Any, row: int = row, position: int = position) -> Any:
                tensor = output[0] if isinstance(output, tuple) else output
                tensor = tensor.clone()
                tensor[:, position] = recorded[row][:, position]
                return (tensor, *output[1:]) if isinstance(output, tuple) else tensor

            handle = module.register_forward_hook(put_back)
            logits = run(corrupted).double()
            handle.remove()
            values.append(float(logits[answer] - logits[wrong]))
        grid.append(values)
    return grid


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.patching", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--prompt", default=PROMPT)
    p.add_argument("--replace", nargs=2, default=["Eiffel Tower", "Colosseum"], metavar=("WORD", "REPLACEMENT"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-patching.json")
    args = p.parse_args(argv)

    import torch

    from lmreport import analyses, models

    torch.set_num_threads(1)
    loaded = models.load(models.resolve(args.model))
    spec = analyses.get("patching")
    options = spec.parse_options({"prompt": args.prompt, "replace": args.replace})
    forward = loaded.forward(args.prompt, spec.needs)

    data = spec.compute(forward, options, loaded)  # warm, and the grid to agree with
    answer, wrong = data["answer"]["id"], data["wrong"]["id"]
    plain = cell_by_cell(loaded, forward.input_ids, data["corrupted_ids"], answer, wrong)
    difference = max(abs(a - b) for ours, theirs in zip(data["patched"], plain, strict=True)
                     for a, b in zip(ours, theirs, strict=True))
    if difference > AGREE:
        raise SystemExit(f"the grids disagree by {difference} (at most {AGREE})")

    ours_s, plain_s = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        spec.compute(forward, options, loaded)
        ours_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        cell_by_cell(loaded, forward.input_ids, data["corrupted_ids"], answer, wrong)
        plain_s.append(time.perf_counter() - start)
    rows, positions = len(data["patched"]), len(data["tokens"])
    report = {
        "model": loaded.source.name,
        "prompt": args.prompt,
        "corrupted": data["corrupted"],
        "tokens": positions,
        "rows": rows,
        "cells": rows * positions,
        "threads": torch.get_num_threads(),
        "answer": data["answer"]["token"],
        "wrong": data["wrong"]["token"],
        "lmreport_passes": data["forward_passes"],
        "cell_by_cell_passes": 1 + rows * positions,
        "lmreport_s": statistics.median(ours_s),
        "cell_by_cell_s": statistics.median(plain_s),
        "ratio": statistics.median(ours_s) / statistics.median(plain_s),
        "target": TARGET,
        "max_abs_difference": difference,
        "repeat": args.repeat,
    }
    print(f"{report['model']}, {positions} tokens × {rows} rows (residual stream), one thread, median of "
          f"{args.repeat}; the grids agree within {difference:.2g}")
    print(f"lmreport {report['lmreport_s']:.2f} s ({report['lmreport_passes']} passes), cell by cell "
          f"{report['cell_by_cell_s']:.2f} s ({report['cell_by_cell_passes']} passes): ratio {report['ratio']:.2f} "
          f"(target at most {TARGET})")
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
