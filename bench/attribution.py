"""Input attribution: each method as lmreport runs it against the same Captum call with Captum's defaults.

    python -m bench.attribution [--repeat 3] [--out bench/results-attribution.json]

On the embedded SmolLM2, "The capital of France is" -> its predicted token (" Paris"), one thread, the same
attributed function f (log-probability of the target) for both sides, warm (model loaded, one call of each
first). lmreport (the analysis's compute, one method at a time) batches perturbations and integrated-gradient
steps (16 a pass), asks the model for the last position's logits only, does not run an input twice (the
prompt's value comes from the build's forward pass) and uses its own defaults (25 samples; integrated
gradients cut the path until their scores settle); Captum's defaults are one perturbation per pass, 50 steps in
one batch, 25 Shapley, 50 LIME and 25 KernelSHAP samples, and the model computes every position's logits (as
Captum's LLMAttribution runs it). Prints seconds, the ratio and each method's top token, measured in one run.

Integrated gradients are also compared at equal accuracy: both sides' scores against a reference (Captum's
trapezoid rule at 8192 points, fp32), as the L1 distance over the tokens; Captum's fixed rule is then run at 50,
100, 200, ... points (up to 8192) until it is as close to the reference as lmreport's scores, and that run is
the one timed against lmreport's ("ratio" for integrated gradients; the default run's ratio is
"ratio_to_default").
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"saliency": 1.2, "gradient_x_input": 1.2, "integrated_gradients": 1.2, "occlusion": 0.3,
           "shapley": 0.3, "lime": 0.3, "kernel_shap": 0.3}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.attribution", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--prompt", default="The capital of France is")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-attribution.json")
    args = p.parse_args(argv)

    import torch
    from captum.attr import (
        FeatureAblation,
        InputXGradient,
        IntegratedGradients,
        KernelShap,
        Lime,
        Saliency,
        ShapleyValueSampling,
    )

    from lmreport import analyses, models
    from lmreport.analyses.attribution import compute as attribution

    torch.set_num_threads(1)
    loaded = models.load(models.resolve(args.model))
    forward = loaded.forward(args.prompt)
    target = int(forward.logits[-1].argmax())
    ids = torch.tensor([forward.input_ids])
    table = loaded.model.get_input_embeddings()
    with torch.no_grad():
        embeds = table(ids).detach()
        baseline = table(torch.full_like(ids, attribution._neutral_token(loaded))).detach()
    n = embeds.shape[1]
    mask = torch.arange(n).view(1, n, 1).expand_as(embeds).contiguous()

    def f(x: torch.Tensor) -> torch.Tensor:
        """As Captum's LLMAttribution runs a model: every position's logits, the last one read."""
        return torch.log_softmax(loaded.model(inputs_embeds=x).logits[:, -1].float(), -1)[:, target]

    def captum_default(name: str) -> torch.Tensor:
        x = embeds.clone().requires_grad_(name in ("saliency", "gradient_x_input", "integrated_gradients"))
        if name == "saliency":
            return Saliency(f).attribute(x, abs=False)[0].norm(dim=-1)
        if name == "gradient_x_input":
            return InputXGradient(f).attribute(x)[0].sum(-1)
        if name == "integrated_gradients":
            return IntegratedGradients(f).attribute(x, baselines=baseline)[0].sum(-1)
        with torch.no_grad():
            if name == "occlusion":
                out = FeatureAblation(f).attribute(x, baselines=baseline, feature_mask=mask)
            elif name == "shapley":
                out = ShapleyValueSampling(f).attribute(x, baselines=baseline, feature_mask=mask)
            elif name == "lime":
                out = Lime(f).attribute(x, baselines=baseline, feature_mask=mask)
            else:
                out = KernelShap(f).attribute(x, baselines=baseline, feature_mask=mask)
        return out[0, :, 0]

    def ours(name: str) -> list[float]:
        """The analysis itself, one method, as a build runs it (a fresh memory of inputs seen each call)."""
        options = analyses.get("attribution").parse_options({"prompt": args.prompt, "methods": [name]})
        return attribution.compute(forward, options, loaded)["methods"][0]["scores"]

    def captum_ig(points: int, method: str = "gausslegendre") -> torch.Tensor:
        x = embeds.clone().requires_grad_(True)
        return IntegratedGradients(f).attribute(x, baselines=baseline, n_steps=points, method=method,
                                                internal_batch_size=64)[0].sum(-1).detach()

    def distance(scores: Any, reference: torch.Tensor) -> float:
        given = scores.detach() if isinstance(scores, torch.Tensor) else torch.tensor(scores)
        return float((given.float() - reference).abs().sum())

    def timed(fn: Any) -> tuple[float, Any]:
        fn()  # warm
        runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            out = fn()
            runs.append(time.perf_counter() - started)
        return statistics.median(runs), out

    def equal_accuracy(scores: list[float], default: Any, ours_s: float, default_s: float) -> dict[str, Any]:
        """Integrated gradients against a dense reference, and Captum's fixed rule at as many points as it needs
        to be as close to it as lmreport's scores are (None when 8192 points are not enough)."""
        reference = captum_ig(8192, "riemann_trapezoid")
        ours_error = distance(scores, reference)
        out = {"reference": "Captum riemann_trapezoid, 8192 points", "lmreport_error": ours_error,
               "captum_default_error": distance(default, reference), "ratio_to_default": ours_s / default_s}
        points = 50
        while points <= 8192:
            error = distance(captum_ig(points), reference)
            if error <= ours_error:
                seconds, _ = timed(lambda points=points: captum_ig(points))
                return {**out, "captum_equal_points": points, "captum_equal_error": error,
                        "captum_equal_s": seconds, "ratio": ours_s / seconds}
            points *= 2
        return {**out, "captum_equal_points": None, "ratio": None}  # Captum's fixed rule never got as close

    rows = []
    for name in attribution.METHODS:
        ours_s, scores = timed(lambda name=name: ours(name))
        lib_s, lib_scores = timed(lambda name=name: captum_default(name))
        top = forward.tokens[max(range(n), key=lambda i: scores[i])]
        lib_top = forward.tokens[int(torch.as_tensor(lib_scores).argmax())]
        row = {"method": name, "lmreport_s": ours_s, "captum_default_s": lib_s, "ratio": ours_s / lib_s,
               "target": TARGETS[name], "top": top, "captum_default_top": lib_top}
        if name == "integrated_gradients":
            row.update(equal_accuracy(scores, lib_scores, ours_s, lib_s))
        row["met"] = row["ratio"] is None or row["ratio"] <= TARGETS[name]
        rows.append(row)
    result = {"prompt": args.prompt, "target": loaded.token_texts([target])[0], "tokens": forward.tokens,
              "repeat": args.repeat, "rows": rows}
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"{args.prompt!r} -> {result['target']!r}, one thread, medians of {args.repeat}")
    print(f"{'method':<22}{'lmreport s':>11}{'Captum s':>10}{'ratio':>7}{'target':>8}  top (lmreport / Captum default)")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['method']:<22}{r['lmreport_s']:>11.3f}{r['captum_default_s']:>10.3f}{ratio:>7}"
              f"{'<= ' + str(r['target']):>8}  {r['top']!r} / {r['captum_default_top']!r}"
              f"{'' if r['met'] else '  NOT met'}")
        if "lmreport_error" in r:
            equal = (f"Captum needs {r['captum_equal_points']} points ({r['captum_equal_s']:.3f} s, error "
                     f"{r['captum_equal_error']:.3g})" if r["captum_equal_points"] else
                     "Captum's fixed rule is not as close at 8192 points")
            print(f"{'':<22}error against the reference: lmreport {r['lmreport_error']:.3g}, Captum default "
                  f"{r['captum_default_error']:.3g}; at equal accuracy {equal}; ratio to the default run "
                  f"{r['ratio_to_default']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
