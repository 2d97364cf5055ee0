"""Side by side with the peers: each analysis as lmreport's Python API runs it, against the same numbers computed
the way a peer's user computes them, on the same model and the same token ids, in one run.

    /work/benchvenv/bin/python -m bench.peers [--model ID] [--prompt TEXT] [--repeat 7] [--rows NAME,...]
        [--out bench/results-peers.json]

The peers are not lmreport's dependencies: run this with an environment made from requirements-bench.txt. A peer
that is not installed leaves its rows with lmreport's time only ("skipped" says why), so the script also runs in
the project's own environment (tests/test_bench.py runs it there on a tiny model).

What is measured. One thread (torch.set_num_threads(1)), the model loaded and each call made once first (warm).
Each lmreport call is `lmreport.analyze(name, prompt=...)` after `loaded.forget(prompt)`: the model's forward pass
runs in every call, as it does in the peer's, so neither side reuses a pass. The two sides alternate (the order
reversed every other repeat) and each row's ratio is the median of the repeats' lmreport/peer ratios, so a slower
moment of a shared machine falls on both sides alike; the medians of each side's seconds are written too. Where a
peer offers several ways to compute the same numbers (its documented recipe, the same caching only the hooks read,
a one-call tool), all are timed and the fastest is the peer's time. Before any timing the numbers are compared
(same quantity, same normalisation): the script stops with an error when they do not agree.

TransformerLens (4.x, TransformerBridge over the Hugging Face folder lmreport loads; ids passed as a tensor, so no
BOS is added):
- logit_lens: lmreport's `top` most probable tokens and their probabilities at every row (the embeddings, each
  block) and position, against `run_with_cache` + `accumulated_resid(apply_ln=True)` + `@ W_U + b_U`, softmax,
  top-k (also with names_filter: the residual stream only, as TL's own logit_lens() caches it), and against
  `logit_lens(model, ids, positions=None, top_k=k, return_type="probs")`.
- heads: each head's direct contribution to the logit of the predicted token at the last position (the final
  norm's scale held at its value in the pass), with the last position's attention, against `run_with_cache` +
  `stack_head_results(pos_slice=-1)` + `logit_attrs` (also caching only hook_z, hook_pattern and ln_final's
  hook_scale) and `direct_logit_attribution(unit="head")`, on a bridge in compatibility mode (DLA needs the final
  norm folded into W_U; center_unembed=False, so that the attributed logit is the model's own, not its centred
  value).

More rows: bench/peers_attribution.py, when it exists, adds its own (see providers(); --rows picks some).
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROMPT = "The capital of France is"
TARGET = 1.0  # lmreport / fastest peer, every analysis
LENS_TOP = 5
MAX_DP = 1e-4  # probabilities of the same token, lmreport vs peer (float32 products summed in another order)
MAX_DLA = 1e-3  # a head's direct contribution, in logits


class Disagreement(RuntimeError):
    """lmreport and a peer computed different numbers: timing them side by side would mean nothing."""


@dataclass
class Bench:
    """What a row provider gets: the model as lmreport loaded it, the prompt, its token ids, and the timing rule."""

    loaded: Any  # lmreport's LoadedModel
    model: str | None  # as analyze(model=...) takes it
    prompt: str
    repeat: int
    folder: Path  # the Hugging Face folder lmreport loaded (a GGUF model's converted one), for the peers to load
    ids: list[int] = field(default_factory=list)

    def ours(self, analysis: str, **options: Any) -> Callable[[], dict[str, Any]]:
        """An analyze() call that runs the forward pass again (the pass of the last call forgotten first)."""
        import lmreport

        def call() -> dict[str, Any]:
            self.loaded.forget(self.prompt)
            return lmreport.analyze(analysis, prompt=self.prompt, model=self.model, **options).data

        return call

    def race(self, ours: Callable[[], Any], peers: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        """Time lmreport's call against each of a peer's ways, alternating, after one warm call of each; the fastest
        way is the peer's time. No peers: lmreport's time alone."""
        calls = {"lmreport": ours, TORCH_LINEAR: _with_torch_linear(ours), **peers}
        for call in calls.values():
            call()
        runs: dict[str, list[float]] = {name: [] for name in calls}
        for i in range(self.repeat):
            for name in (list(calls) if i % 2 == 0 else list(reversed(calls))):
                started = time.perf_counter()
                calls[name]()
                runs[name].append(time.perf_counter() - started)
        medians = {name: statistics.median(seconds) for name, seconds in runs.items()}
        out: dict[str, Any] = {"lmreport_s": medians["lmreport"], "lmreport_runs": runs["lmreport"],
                               "torch_linear_s": medians[TORCH_LINEAR], "torch_linear_ratio": None}
        if not peers:
            return {**out, "peer_s": None, "peer_way": None, "ratio": None, "ways": {}}
        fastest = min(peers, key=lambda name: medians[name])
        ratios = [a / b for a, b in zip(runs["lmreport"], runs[fastest], strict=True)]
        stock = [a / b for a, b in zip(runs[TORCH_LINEAR], runs[fastest], strict=True)]
        return {**out, "peer_s": medians[fastest], "peer_way": fastest, "ratio": statistics.median(ratios),
                "ratio_of_medians": medians["lmreport"] / medians[fastest], "torch_linear_ratio": statistics.median(
                    stock), "ways": {name: {"s": medians[name], "runs": runs[name]} for name in peers}}


TORCH_LINEAR = "lmreport, torch's linear"  # lmreport's call with LMREPORT_LINEAR=torch: MKL's sgemm, as the peers run


def _with_torch_linear(call: Callable[[], Any]) -> Callable[[], Any]:
    """The same call with lmreport's linear layers left to torch (models/kernels.py), to show what the kernel gives."""
    import os

    from lmreport.models import kernels

    def stock() -> Any:
        before = os.environ.get(kernels.ENV)
        os.environ[kernels.ENV] = "torch"
        try:
            return call()
        finally:
            if before is None:
                os.environ.pop(kernels.ENV)
            else:
                os.environ[kernels.ENV] = before

    return stock


def row(analysis: str, peer: str, timing: dict[str, Any], agreement: dict[str, Any], skipped: str | None = None,
        target: float = TARGET) -> dict[str, Any]:
    """One line of the table (the shape every provider returns)."""
    ratio = timing.get("ratio")
    return {"analysis": analysis, "peer": peer, **timing, "target": target,
            "met": None if ratio is None else ratio <= target, "agreement": agreement, "skipped": skipped}


def version_of(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def transformer_lens_rows(bench: Bench) -> list[dict[str, Any]]:
    """logit_lens and heads against TransformerLens; lmreport's side alone when it is not installed."""
    try:
        import transformer_lens.model_bridge  # noqa: F401
    except ImportError as e:
        why = f"transformer_lens is not installed ({e}): lmreport's side only"
        return [row("logit_lens", "TransformerLens", bench.race(bench.ours("logit_lens", top=LENS_TOP), {}), {}, why),
                row("heads", "TransformerLens", bench.race(bench.ours("heads"), {}), {}, why)]
    name = f"TransformerLens {version_of('transformer-lens')}"
    return [_lens_row(bench, name), _heads_row(bench, name)]  # one bridge at a time in memory


def _lens_row(bench: Bench, name: str) -> dict[str, Any]:
    import torch
    from transformer_lens.model_bridge import TransformerBridge
    from transformer_lens.tools.analysis import logit_lens

    tokens = torch.tensor([bench.ids])
    bridge = TransformerBridge.boot_transformers(str(bench.folder), device="cpu", dtype=torch.float32)
    bridge.eval()

    n = bridge.cfg.n_layers
    residual = [f"blocks.{layer}.hook_resid_pre" for layer in range(n)] + [f"blocks.{n - 1}.hook_resid_post"]

    def recipe(names: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """accumulated_resid's documented logit lens, every position, then the top-k of the softmax."""
        with torch.no_grad():
            _, cache = bridge.run_with_cache(tokens, names_filter=names)
            resid = cache.accumulated_resid(apply_ln=True)[:, 0]  # [rows, pos, d_model]
            top = (resid @ bridge.W_U + bridge.b_U).softmax(-1).topk(LENS_TOP, dim=-1)
        return top.indices, top.values

    def tool() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            result = logit_lens(bridge, tokens, positions=None, top_k=LENS_TOP, return_type="probs")
        return result.readout.top_ids[:, 0], result.values[:, 0]

    ours = bench.ours("logit_lens", top=LENS_TOP)
    data = ours()
    # Caching only the residual stream (names_filter, as TL's own logit_lens() does) saves the bridge's other
    # 1,300 hooks: the fastest way a TL user has.
    ways = {"recipe": recipe, "recipe, residual hooks only": lambda: recipe(residual), "logit_lens()": tool}
    agreement = {way: _lens_agreement(data, *fn()) for way, fn in ways.items()}
    return row("logit_lens", name, bench.race(ours, ways), agreement)


def _heads_row(bench: Bench, name: str) -> dict[str, Any]:
    import torch
    from transformer_lens.model_bridge import TransformerBridge
    from transformer_lens.tools.analysis import direct_logit_attribution

    tokens = torch.tensor([bench.ids])
    bridge = TransformerBridge.boot_transformers(str(bench.folder), device="cpu", dtype=torch.float32)
    bridge.enable_compatibility_mode(disable_warnings=True, center_unembed=False)
    bridge.eval()
    ours = bench.ours("heads")
    data = ours()
    target = data["target"]["id"]

    n = bridge.cfg.n_layers
    read = ([f"blocks.{layer}.attn.hook_z" for layer in range(n)] + ["ln_final.hook_scale"]
            + [f"blocks.{layer}.attn.hook_pattern" for layer in range(n)])

    def recipe(names: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-head results at the last position, read along the target's unembedding through the final norm's
        cached scale; the last position's attention from the same cache (lmreport returns it too)."""
        with torch.no_grad():
            _, cache = bridge.run_with_cache(tokens, names_filter=names)
            per_head = cache.stack_head_results(layer=-1, pos_slice=-1)  # [layer × head, batch, d_model]
            attribution = cache.logit_attrs(per_head, tokens=target, pos_slice=-1)[:, 0]
            attention = torch.stack([cache["pattern", layer][0, :, -1] for layer in range(n)])
        return attribution, attention

    def tool() -> tuple[torch.Tensor, None]:
        with torch.no_grad():
            result = direct_logit_attribution(bridge, tokens, answer_tokens=target, unit="head")
        return result.attribution.reshape(-1)[: n * bridge.cfg.n_heads], None  # less "the rest of the stream"

    ways = {"recipe": recipe, "recipe, hooks read only": lambda: recipe(read), "direct_logit_attribution()": tool}
    agreement = {way: _heads_agreement(data, *fn()) for way, fn in ways.items()}
    return row("heads", name, bench.race(ours, ways), agreement)


def _lens_agreement(ours: dict[str, Any], ids: Any, probs: Any) -> dict[str, Any]:
    """Top-1 token per cell, and the probabilities of the tokens both list. A cell whose top two tokens are within
    MAX_DP of each other may order them either way; any other difference is a Disagreement."""
    import torch

    our_ids, our_probs = torch.tensor(ours["top_ids"]), torch.tensor(ours["top_probs"], dtype=torch.float64)
    if our_ids.shape != ids.shape:
        raise Disagreement(f"logit_lens: lmreport's cells are {tuple(our_ids.shape)}, the peer's {tuple(ids.shape)}")
    same_top = our_ids[..., 0] == ids[..., 0]
    near_tie = (our_probs[..., 0] - our_probs[..., 1]) <= MAX_DP
    if not bool((same_top | near_tie).all()):
        raise Disagreement(f"logit_lens: the top token differs at {int((~same_top & ~near_tie).sum())} cells")
    both = our_ids.unsqueeze(-1) == ids.unsqueeze(-2)  # [rows, pos, k (ours), k (theirs)]
    theirs = (both.double() * probs.double().unsqueeze(-2)).sum(-1)
    dp = float(((our_probs - theirs).abs() * both.any(-1)).max())
    if dp > MAX_DP:
        raise Disagreement(f"logit_lens: a token's probability differs by {dp:.3g} (at most {MAX_DP})")
    return {"cells": int(same_top.numel()), "top1_equal": int(same_top.sum()), "max_abs_dp": dp,
            "top_k_sets_equal": int((torch.sort(our_ids, -1).values == torch.sort(ids, -1).values).all(-1).sum())}


def _heads_agreement(ours: dict[str, Any], attribution: Any, attention: Any) -> dict[str, Any]:
    import torch

    table = torch.tensor(ours["contributions"], dtype=torch.float64)
    theirs = attribution.double().reshape(table.shape)
    d = float((table - theirs).abs().max())
    if d > MAX_DLA:
        raise Disagreement(f"heads: a head's contribution differs by {d:.3g} (at most {MAX_DLA})")
    out = {"heads": int(table.numel()), "max_abs_diff": d, "largest": float(table.abs().max())}
    if attention is not None:
        out["attention_max_abs_diff"] = float((torch.tensor(ours["attention"]) - attention.float()).abs().max())
    return out


def open_bench(model: str | None, prompt: str, repeat: int, threads: int) -> tuple[Any, Bench]:
    """The model loaded as analyze() loads it, on `threads` threads, and the Bench every row provider reads."""
    import torch

    from lmreport import models

    torch.set_num_threads(threads)
    source = models.resolve(model)
    loaded = models.load(source)
    folder = models.converted_folder(source) if source.kind == "gguf" else source.path
    return source, Bench(loaded=loaded, model=model, prompt=prompt, repeat=repeat, folder=Path(folder),
                         ids=loaded.encode(prompt))


def print_rows(rows: list[dict[str, Any]]) -> None:
    """The table: one line a row (the ratio against the fastest peer way, and the ratio with the forward pass
    recomputed where a row measured it), then its agreement, its peer's ways and what else it measured."""
    print(f"{'analysis':<24}{'peer (fastest way)':<56}{'lmreport s':>11}{'peer s':>9}{'ratio':>7}{'target':>9}"
          f"{'fresh':>7}{'MKL':>6}")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        peer = r["peer"] + (f": {r['peer_way']}" if r.get("peer_way") else "")
        peer_s = "-" if r["peer_s"] is None else f"{r['peer_s']:.3f}"
        fresh = f"{r['fresh']['ratio']:.2f}" if r.get("fresh") else "-"
        verdict = "" if r["met"] is None else "  met" if r["met"] else "  NOT met"
        stock = "-" if r.get("torch_linear_ratio") is None else f"{r['torch_linear_ratio']:.2f}"
        print(f"{r['analysis']:<24}{peer:<56}{r['lmreport_s']:>11.3f}{peer_s:>9}{ratio:>7}"
              f"{'<= ' + str(r['target']):>9}{fresh:>7}{stock:>6}{verdict}")
        if r["skipped"]:
            print(f"{'':<24}skipped: {r['skipped']}")
        for way, agreement in r["agreement"].items():
            print(f"{'':<24}agreement with {way}: {agreement}")
        for way, timing in r.get("ways", {}).items():
            print(f"{'':<24}{way}: {timing['s']:.3f} s")
        if "floor" in r:
            floor = r["floor"]
            print(f"{'':<24}floor, {floor['what']}: {floor['s']:.3f} s, ratio {floor['ratio']:.2f} "
                  f"(with MKL's sgemm {floor['torch_linear_s']:.3f} s, {floor['torch_linear_ratio']:.2f})")
        if "captum_last_logits_only" in r:
            tuned = r["captum_last_logits_only"]
            print(f"{'':<24}against Captum with logits_to_keep=1 (not the target): ratio {tuned['ratio']:.2f}")


def providers() -> dict[str, Callable[[Bench], list[dict[str, Any]]]]:
    """Who adds rows, by name: TransformerLens here, then bench/peers_attribution.py's rows(bench) when that module
    exists. A provider takes a Bench and returns row() dicts; a peer it cannot import gives rows with "skipped" set.
    Another peer is one more entry here."""
    found: dict[str, Callable[[Bench], list[dict[str, Any]]]] = {"transformer_lens": transformer_lens_rows}
    try:
        found["attribution"] = importlib.import_module("bench.peers_attribution").rows
    except ModuleNotFoundError as e:
        if e.name != "bench.peers_attribution":
            raise
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="as lmreport.analyze takes it (default: the embedded SmolLM2)")
    p.add_argument("--prompt", default=PROMPT)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rows", default=None, help="the providers to run, comma-separated (default: all; see providers())")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-peers.json")
    args = p.parse_args(argv)
    chosen = providers()
    if args.rows is not None:
        unknown = set(args.rows.split(",")) - set(chosen)
        if unknown:
            p.error(f"no row provider {', '.join(sorted(unknown))} (there are {', '.join(chosen)})")
        chosen = {name: fn for name, fn in chosen.items() if name in args.rows.split(",")}

    source, bench = open_bench(args.model, args.prompt, args.repeat, args.threads)
    rows = []
    try:
        for provider in chosen.values():
            rows += provider(bench)
    except Disagreement as e:
        raise SystemExit(f"the numbers do not agree, nothing timed is meaningful: {e}") from None
    report(args, source, bench, rows, ("torch", "transformers", "transformer-lens", "captum", "inseq"), "",
           protocol="lmreport.analyze(name, prompt=...) after loaded.forget(prompt): a forward pass in every call on "
                    "both sides; alternating, warm; ratio = median of per-repeat lmreport/peer ratios (a row with a "
                    "'protocol' of its own says how it differs)")
    return 0


def report(args: Any, source: Any, bench: Bench, rows: list[dict[str, Any]], dists: tuple[str, ...], heading: str,
           **fields: Any) -> None:
    """Write a run's JSON to args.out (the model, prompt, tokens, threads, repeats, fields, the versions of dists
    and the rows) and print its table under a heading line that ends with `heading`."""
    result = {"model": source.name, "prompt": args.prompt, "tokens": bench.loaded.token_texts(bench.ids),
              "threads": args.threads, "repeat": args.repeat, **fields,
              "versions": {dist: version_of(dist) for dist in dists}, "rows": rows}
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"{source.name}, {args.prompt!r} ({len(bench.ids)} tokens), {args.threads} thread(s), median of "
          f"{args.repeat}, alternating{heading}")
    print_rows(rows)


if __name__ == "__main__":
    raise SystemExit(main())
