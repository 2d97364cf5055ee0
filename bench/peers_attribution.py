"""Input attribution side by side with its peers: integrated gradients against Captum and Inseq, occlusion against
Captum, on the same model, token ids, baseline, target and quantity, in one run.

    /work/benchvenv/bin/python -m bench.peers_attribution [--model ID] [--prompt TEXT] [--repeat 7] [--steps 32]
        [--no-peers] [--out bench/results-peers-attribution.json]

bench/peers.py adds these rows to its table (rows(bench)); run alone, this module writes its own JSON. The peers are
not lmreport's dependencies (requirements-bench.txt); a peer that is not installed leaves its rows with lmreport's
time only ("skipped" says why), and --no-peers times lmreport's side alone (tests/analyses/attribution runs that on a
tiny model).

What is compared. The quantity is lmreport's: log p(target) at the output of the last position (log-softmax of its
logits, float32), the target being the predicted token; each token's score is the attribution to its input
embedding, summed over the embedding. Absent tokens and the baseline are the embedding of lmreport's neutral token
(the tokenizer's padding token, else its end of text) at every position.
- Integrated gradients: lmreport's analyze("attribution", methods=["integrated_gradients"], steps=S, max_steps=S),
  S Gauss-Legendre points over the whole path, not cut (so not the adaptive rule of a build: the same rule as the
  peers'); lmreport also computes f(baseline), for its convergence delta. Captum: IntegratedGradients on the input
  embeddings, LayerIntegratedGradients on the embedding layer, and its LLM wrapper LLMGradientAttribution, each
  with n_steps=S and its default rule (Gauss-Legendre) in one batch; Inseq: integrated_gradients with n_steps=S
  and a "logprob" step function (registered here: Inseq's own probability_fn with logprob=True), its baseline (the
  tokenizer's unknown token) set to lmreport's neutral token.
- Occlusion: lmreport's analyze("attribution", methods=["occlusion"]); Captum's FeatureAblation and Occlusion (one
  token a feature, every variant in one batch: perturbations_per_eval = n) and its LLMAttribution(FeatureAblation)
  (one variant a pass, as it runs).
Captum's forward function runs the model as its LLM wrappers do: every position's logits, the last one read.

Timing (bench.peers.Bench.race): one thread, warm (one call of each first), the two sides alternating, the ratio the
median of the repeats' lmreport/peer ratios against the peer's fastest way. Two protocols:
- "ratio" (the target's): analyze() keeps the forward pass of the prompt between calls, as it does in a session, and
  reads the target and f(prompt) from it; the peer is given the target. Neither side runs the model to find what to
  attribute.
- "fresh": the forward pass forgotten before every lmreport call, and the peer's call preceded by a forward pass of
  the prompt to find its predicted token (as its user would).
Before any timing the scores are compared: a difference over MAX_DIFF (relative to the largest score, or to 1) stops
the run with bench.peers.Disagreement. Occlusion's row also times one bare forward pass of the prompt ("floor"): an
exact occlusion has to compute every variant's positions from the replaced token on, in one pass at least.
"""

from __future__ import annotations

import argparse
import copy
import warnings
from pathlib import Path
from typing import Any

from bench.peers import Bench, Disagreement, open_bench, report, row, version_of
from lmreport.models import kernels

REPO = Path(__file__).resolve().parent.parent
PROMPT = "The capital of France is"
STEPS = 32
TARGETS = {"integrated_gradients": 1.0, "occlusion": 0.3}
NAMES = {"integrated_gradients": "attribution: IG", "occlusion": "attribution: occlusion"}  # fit peers.py's column
MAX_DIFF = 1e-4  # of max(1, largest |score|): float32 sums in another order


def rows(bench: Bench, peers: bool = True, steps: int = STEPS) -> list[dict[str, Any]]:
    """Integrated gradients against Captum and Inseq, occlusion against Captum (bench.peers.row() dicts, with
    "compared", "protocol" and "fresh" added, and "floor" for occlusion). peers=False: lmreport's side alone."""
    setup = _Setup(bench, steps)
    if not peers:
        why = "--no-peers: lmreport's side only"
        return [row(NAMES[m], "-", bench.race(setup.ours(m), {}), {}, why, TARGETS[m]) for m in TARGETS]
    try:
        import captum  # noqa: F401
    except ImportError as e:
        why = f"captum is not installed ({e}): lmreport's side only"
        return [row(NAMES[m], "Captum", bench.race(setup.ours(m), {}), {}, why, TARGETS[m])
                for m in TARGETS]
    return [setup.ig_captum(), setup.ig_inseq(), setup.occlusion_captum()]


class _Setup:
    """The model, the inputs both sides attribute, and each side's call."""

    def __init__(self, bench: Bench, steps: int) -> None:
        import torch

        from lmreport.analyses.attribution import compute as attribution

        self.bench, self.steps = bench, steps
        self.loaded = loaded = bench.loaded
        self.model = loaded.model
        self.ids = torch.tensor([bench.ids])
        self.neutral = attribution._neutral_token(loaded)
        table = self.model.get_input_embeddings()
        with torch.no_grad():
            self.embeds = table(self.ids)
            self.baseline = table(torch.full_like(self.ids, self.neutral))
        self.n = len(bench.ids)
        self.target = self.ours("occlusion")()["target"]["id"]

    def options(self, method: str) -> dict[str, Any]:
        extra = {"steps": self.steps, "max_steps": self.steps} if method == "integrated_gradients" else {}
        return {"methods": [method], **extra}

    def ours(self, method: str, fresh: bool = False) -> Any:
        """analyze() of one method; the forward pass of the prompt kept between calls unless fresh."""
        import lmreport
        from lmreport import LmreportWarning

        def call() -> dict[str, Any]:
            if fresh:
                self.loaded.forget(self.bench.prompt)
            with warnings.catch_warnings():  # S points, not cut: the build would warn that they did not settle
                warnings.simplefilter("ignore", LmreportWarning)
                return lmreport.analyze("attribution", prompt=self.bench.prompt, model=self.bench.model,
                                        **self.options(method)).data

        return call

    def f(self, x: Any) -> Any:
        """log p(target) from input embeddings, as Captum's LLM wrappers run the model (every position's logits)."""
        import torch

        return torch.log_softmax(self.model(inputs_embeds=x).logits[:, -1].float(), -1)[:, self.target]

    def g(self, ids: Any) -> Any:
        import torch

        return torch.log_softmax(self.model(input_ids=ids).logits[:, -1].float(), -1)[:, self.target]

    def find_target(self) -> int:
        """What a peer's user runs first to attribute the predicted token."""
        import torch

        with torch.no_grad():
            return int(self.model(input_ids=self.ids).logits[0, -1].argmax())

    def race(self, method: str, ways: dict[str, Any], compared: str, peer: str) -> dict[str, Any]:
        """Agreement first (one call of each way), then both protocols' timings, as one row."""
        scores = self.ours(method)()["methods"][0]["scores"]
        agreement = {way: _agreement(method, scores, fn()) for way, fn in ways.items()}
        out = row(NAMES[method], peer, self.bench.race(self.ours(method), ways), agreement,
                  target=TARGETS[method])
        fresh_ways = {way: (lambda fn=fn: (self.find_target(), fn())) for way, fn in ways.items()}
        fresh = self.bench.race(self.ours(method, fresh=True), fresh_ways)
        return {**out, "compared": compared, "protocol": "forward pass of the prompt kept (analyze's session), "
                "target given to the peer",
                "fresh": {key: fresh[key] for key in ("lmreport_s", "peer_s", "peer_way", "ratio", "ways")}}

    def ig_captum(self) -> dict[str, Any]:
        import torch
        from captum.attr import IntegratedGradients, LayerIntegratedGradients, LLMGradientAttribution, TextTokenInput

        layer = self.model.get_input_embeddings()
        base_ids = torch.full_like(self.ids, self.neutral)
        wrapper = LLMGradientAttribution(LayerIntegratedGradients(self.model, layer), self.loaded.tokenizer)
        text = TextTokenInput(self.bench.prompt, self.loaded.tokenizer, baselines=self.neutral)
        ways = {
            "IntegratedGradients, embeddings": lambda: IntegratedGradients(self.f).attribute(
                self.embeds, baselines=self.baseline, n_steps=self.steps)[0].sum(-1),
            "LayerIntegratedGradients, embedding layer": lambda: LayerIntegratedGradients(self.g, layer).attribute(
                self.ids, baselines=base_ids, n_steps=self.steps)[0].sum(-1),
            "LLMGradientAttribution(LayerIntegratedGradients)": lambda: wrapper.attribute(
                text, target=torch.tensor([self.target]), n_steps=self.steps).seq_attr,
        }
        if text.to_tensor().shape[-1] != self.n:  # the wrapper tokenized the prompt otherwise (a BOS added?)
            ways.pop("LLMGradientAttribution(LayerIntegratedGradients)")
        out = self.race("integrated_gradients", ways, f"integrated gradients, {self.steps} Gauss-Legendre points "
                        "over the whole path, scores summed over the embedding", f"Captum {version_of('captum')}")
        # Where lmreport's lead comes from: the same Captum call with f reading the last position's logits only
        # (logits_to_keep=1, a Hugging Face argument, not a Captum option). Reported, not the target.
        def last_only(x: Any) -> Any:
            return torch.log_softmax(self.model(inputs_embeds=x, logits_to_keep=1).logits[:, -1].float(),
                                     -1)[:, self.target]

        tuned = self.bench.race(self.ours("integrated_gradients"), {"IntegratedGradients, logits_to_keep=1": lambda:
                                IntegratedGradients(last_only).attribute(self.embeds, baselines=self.baseline,
                                                                         n_steps=self.steps)})
        out["captum_last_logits_only"] = {key: tuned[key] for key in ("lmreport_s", "peer_s", "ratio")}
        return out

    def ig_inseq(self) -> dict[str, Any]:
        try:
            import inseq
            from inseq.attr.step_functions import probability_fn
        except ImportError as e:
            why = f"inseq is not installed ({e}): lmreport's side only"
            return row(NAMES["integrated_gradients"], "Inseq",
                       self.bench.race(self.ours("integrated_gradients"), {}), {}, why, TARGETS["integrated_gradients"])
        inseq.register_step_function(fn=lambda args: probability_fn(args, logprob=True), identifier="logprob",
                                     overwrite=True)
        tokenizer = copy.deepcopy(self.loaded.tokenizer)  # Inseq's baseline is the unknown token: make it ours
        tokenizer.unk_token = tokenizer.convert_ids_to_tokens(self.neutral)
        model = inseq.load_model(self.model, "integrated_gradients", tokenizer=tokenizer)
        generated = self.bench.prompt + self.loaded.token_texts([self.target])[0]

        def call() -> Any:
            out = model.attribute(self.bench.prompt, generated, n_steps=self.steps, show_progress=False,
                                  attributed_fn="logprob")
            return out.sequence_attributions[0]

        seen = call()
        if [t.id for t in seen.target] != [*self.bench.ids, self.target]:
            why = f"Inseq tokenized {generated!r} otherwise than the prompt and the target: not the same question"
            return row(NAMES["integrated_gradients"], f"Inseq {version_of('inseq')}",
                       self.bench.race(self.ours("integrated_gradients"), {}), {}, why, TARGETS["integrated_gradients"])
        return self.race("integrated_gradients", {"integrated_gradients": lambda: call().target_attributions[
            : self.n, 0].sum(-1)}, f"integrated gradients, {self.steps} Gauss-Legendre points, scores summed over the "
            "embedding", f"Inseq {version_of('inseq')}")

    def occlusion_captum(self) -> dict[str, Any]:
        import torch
        from captum.attr import FeatureAblation, LLMAttribution, Occlusion, TextTokenInput

        mask = torch.arange(self.n).view(1, self.n, 1).expand_as(self.embeds).contiguous()
        wrapper = LLMAttribution(FeatureAblation(self.model), self.loaded.tokenizer)
        text = TextTokenInput(self.bench.prompt, self.loaded.tokenizer, baselines=self.neutral)

        def batched(method: Any, **kw: Any) -> Any:
            with torch.no_grad():
                return method(self.f).attribute(self.embeds, baselines=self.baseline, perturbations_per_eval=self.n,
                                                **kw)[0, :, 0]

        ways = {"FeatureAblation, batched": lambda: batched(FeatureAblation, feature_mask=mask),
                "Occlusion, batched": lambda: batched(Occlusion, sliding_window_shapes=(1, self.embeds.shape[-1])),
                "LLMAttribution(FeatureAblation)": lambda: wrapper.attribute(
                    text, target=torch.tensor([self.target])).seq_attr}
        if text.to_tensor().shape[-1] != self.n:
            ways.pop("LLMAttribution(FeatureAblation)")
        out = self.race("occlusion", ways, "f(prompt) - f(prompt with one token replaced by the neutral one), each "
                        "token", f"Captum {version_of('captum')}")

        def bare() -> Any:
            with torch.no_grad(), kernels.fast_linears(self.model):
                return self.model(input_ids=self.ids, use_cache=False, logits_to_keep=1)

        floor = self.bench.race(bare, {out["peer_way"]: ways[out["peer_way"]]})
        out["floor"] = {"what": "one forward pass of the prompt alone, the last position's logits only (an exact "
                        "occlusion computes more)", "s": floor["lmreport_s"], "peer_s": floor["peer_s"],
                        "ratio": floor["ratio"], "torch_linear_s": floor["torch_linear_s"],
                        "torch_linear_ratio": floor["torch_linear_ratio"]}
        return out


def _agreement(method: str, ours: list[float], theirs: Any) -> dict[str, Any]:
    import torch

    mine = torch.tensor(ours, dtype=torch.float64)
    other = torch.as_tensor(theirs).detach().double().reshape(-1)
    if other.shape != mine.shape:
        raise Disagreement(f"{method}: lmreport scores {len(mine)} tokens, the peer {other.numel()}")
    largest = float(other.abs().max())
    diff = float((mine - other).abs().max())
    if diff > MAX_DIFF * max(1.0, largest):
        raise Disagreement(f"{method}: a token's score differs by {diff:.3g} (at most {MAX_DIFF} of "
                           f"{max(1.0, largest):.3g})")
    return {"tokens": len(mine), "max_abs_diff": diff, "largest": largest,
            "sum_diff": float(mine.sum() - other.sum())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.peers_attribution", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="as lmreport.analyze takes it (default: the embedded SmolLM2)")
    p.add_argument("--prompt", default=PROMPT)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--steps", type=int, default=STEPS, help="integrated gradients' points, both sides")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-peers", action="store_true", help="time lmreport's side alone")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-peers-attribution.json")
    args = p.parse_args(argv)

    source, bench = open_bench(args.model, args.prompt, args.repeat, args.threads)
    try:
        found = rows(bench, peers=not args.no_peers, steps=args.steps)
    except Disagreement as e:
        raise SystemExit(f"the numbers do not agree, nothing timed is meaningful: {e}") from None
    report(args, source, bench, found, ("torch", "transformers", "captum", "inseq"),
           f"; integrated gradients at {args.steps} points", steps=args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
