"""torch's float32 linear (MKL's sgemm in the PyPI wheels) against oneDNN's (lmreport.models.kernels), on the
embedded model's own weights, in one run.

    .venv/bin/python -m bench.kernels [--model ID] [--threads 1] [--repeat 7] [--out bench/results-kernels.json]

Three tables, each a ratio oneDNN / torch measured side by side, alternating:
- every linear layer of the model once (one layer's worth of products times the layers, and the unembedding), for
  1 to 2,048 rows: the products alone;
- the model's forward pass over prompts of 5 to 512 tokens, last position's logits, with the largest difference of
  the logits between the two kernels and against float64;
- greedy generation of 24 tokens after a 5-token prompt (the tokens must be the same).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ROWS = (1, 5, 20, 64, 128, 512, 2048)
LENGTHS = (5, 32, 128, 512)
PROMPT = "The capital of France is"


def _race(a: Any, b: Any, repeat: int) -> tuple[float, float, float]:
    """Medians of a's and b's times and of the ratios a/b, alternating after a warm call of each."""
    a(), b()
    ta, tb = [], []
    for i in range(repeat):
        for fn, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return statistics.median(ta), statistics.median(tb), statistics.median(x / y for x, y in zip(ta, tb, strict=True))


def main(argv: list[str] | None = None) -> int:
    import copy

    import torch

    from lmreport import models
    from lmreport.models import kernels

    p = argparse.ArgumentParser(prog="python -m bench.kernels", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--rows", default=",".join(map(str, ROWS)))
    p.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-kernels.json")
    args = p.parse_args(argv)
    if not kernels.onednn_works():
        raise SystemExit("this torch has no working oneDNN linear: nothing to compare")
    torch.set_num_threads(args.threads)
    source = models.resolve(args.model)
    loaded = models.load(source)
    model = loaded.model.eval()
    weights = [(m.weight, m.bias) for m in model.modules() if type(m) is torch.nn.Linear]
    result: dict[str, Any] = {"model": source.name, "threads": args.threads, "repeat": args.repeat,
                              "torch": torch.__version__, "linears": len(weights), "products": [], "forward": []}
    print(f"{source.name}: {len(weights)} linear layers, {sum(w.numel() for w, _ in weights) / 1e6:.1f} M weights, "
          f"{args.threads} thread(s), torch {torch.__version__}")
    print(f"{'products, rows':<24}{'torch s':>10}{'oneDNN s':>10}{'ratio':>7}{'GFLOP/s':>17}")
    with torch.no_grad():
        for rows in map(int, args.rows.split(",")):
            xs = {w.shape[1]: torch.randn(rows, w.shape[1]) for w, _ in weights}
            flops = sum(2 * rows * w.numel() for w, _ in weights)
            ours, stock, ratio = _race(
                lambda xs=xs: [kernels._onednn(xs[w.shape[1]], w, b) for w, b in weights],
                lambda xs=xs: [torch.nn.functional.linear(xs[w.shape[1]], w, b) for w, b in weights], args.repeat)
            result["products"].append({"rows": rows, "onednn_s": ours, "torch_s": stock, "ratio": ratio})
            print(f"{rows:<24}{stock:>10.4f}{ours:>10.4f}{ratio:>7.2f}{flops / stock / 1e9:>8.0f} -> "
                  f"{flops / ours / 1e9:<6.0f}")

        exact = copy.deepcopy(model).double()
        ids = loaded.encode(PROMPT * 200)
        print(f"{'forward pass, tokens':<24}{'torch s':>10}{'oneDNN s':>10}{'ratio':>7}{'max|Δ| torch':>14}"
              f"{'vs fp64':>10}")
        for n in map(int, args.lengths.split(",")):
            x = torch.tensor([ids[:n]])

            def run(m: Any = model, x: Any = x) -> Any:
                return m(input_ids=x, use_cache=False).logits[0]

            def fast(x: Any = x) -> Any:
                with kernels.fast_linears(model):
                    return run(model, x)

            want, theirs, ours_logits = run(exact).float(), run(model, x), fast()
            ours, stock, ratio = _race(lambda: fast()[-1], lambda x=x: run(model, x)[-1], args.repeat)
            diff, vs64 = float((ours_logits - theirs).abs().max()), float((ours_logits - want).abs().max())
            stock64 = float((theirs - want).abs().max())
            result["forward"].append({"tokens": n, "onednn_s": ours, "torch_s": stock, "ratio": ratio,
                                      "max_abs_diff": diff, "onednn_vs_fp64": vs64, "torch_vs_fp64": stock64,
                                      "largest_logit": float(want.abs().max())})
            print(f"{n:<24}{stock:>10.4f}{ours:>10.4f}{ratio:>7.2f}{diff:>14.2e}{vs64:>10.2e} (torch's {stock64:.2e})")
        del exact

        prompt = torch.tensor([loaded.encode(PROMPT)])
        pad = loaded.tokenizer.pad_token_id or loaded.tokenizer.eos_token_id

        def generate() -> Any:
            return model.generate(prompt, max_new_tokens=24, do_sample=False, pad_token_id=pad)

        def generate_fast() -> Any:
            with kernels.fast_linears(model):
                return generate()

        same = bool(torch.equal(generate(), generate_fast()))
        ours, stock, ratio = _race(generate_fast, generate, max(3, args.repeat // 2))
        result["generate"] = {"new_tokens": 24, "onednn_s": ours, "torch_s": stock, "ratio": ratio,
                              "same_tokens": same}
        print(f"{'generate 24 tokens':<24}{stock:>10.4f}{ours:>10.4f}{ratio:>7.2f}  same tokens: {same}")
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
