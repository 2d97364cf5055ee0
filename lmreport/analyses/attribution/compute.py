"""Input attribution: how much each token of the prompt counts for one next token, by several methods.

Every method attributes the same quantity, a log-probability at the output of the last position, signed:
log p(target) (the predicted token unless the block names one), or log p(target) - log p(contrast). The
methods are Captum's, applied to the prompt's input embeddings:

- saliency: the size (L2 norm) of the gradient for each token's embedding; unsigned;
- gradient_x_input: gradient · embedding, summed over the embedding;
- integrated_gradients: the gradient integrated along the straight path from a baseline to the prompt, times
  the difference; the scores add up to f(prompt) - f(baseline). The path is cut into pieces where the scores
  have not settled (paths.py) until their estimated error, and how far they are from adding up, are both within
  the tolerance; a method that does not settle names no top token and the build warns at its block;
- occlusion: f(prompt) - f(prompt with that token replaced), one token at a time;
- shapley: Shapley values by sampling token orders;
- lime: the weights of a linear model fitted to f over random subsets of tokens;
- kernel_shap: Shapley values estimated by a linear model fitted with the Shapley kernel's weights.

The three sampled methods run twice, seeded 0 and 1; their scores are the two runs' mean and their estimated
error half the runs' difference, summed over the tokens. A method whose highest tokens score within its
estimated error of each other names no top token ("tied").

The baseline, and what an "absent" token becomes, is the embedding of a neutral token (the tokenizer's padding
token, else its end-of-text token), at every position: all-zero embeddings are far from anything the model saw
(its norms divide by their size), and integrated gradients from them did not converge.

Perturbation methods are batched (`perturbations_per_eval`); integrated gradients take as many points a pass
as GRADIENT_ROWS token rows allow (all 32 of a 5-token prompt's path in one), f(baseline) riding in the first
(paths.py); occlusion runs every variant in one packed pass where the model allows (occlusion.py). f asks the
model for the last position's logits only, and does not run an input it has seen (the prompt's value comes
from the build's forward pass). The passes each method will take at most are logged before any runs.
"""

from __future__ import annotations

import inspect
import logging
import sys
from typing import Any

from lmreport.analyses.attribution import occlusion
from lmreport.analyses.attribution.paths import integrated_gradients
from lmreport.analyses.common import target_and_contrast
from lmreport.errors import AnalysisError
from lmreport.models.forward import ForwardPass, LoadedModel

METHODS = {
    "saliency": ("Saliency", "size of the gradient of f for each token's embedding (L2 norm; unsigned)"),
    "gradient_x_input": ("Gradient × input", "gradient of f · the token's embedding (signed)"),
    "integrated_gradients": ("Integrated gradients", "gradients along the path from the baseline (every token "
                             "neutral) to the prompt, integrated until they settle (signed; they add up to "
                             "f(prompt) − f(baseline))"),
    "occlusion": ("Occlusion", "f(prompt) − f(prompt with this token replaced by the neutral token) (signed)"),
    "shapley": ("Shapley values (sampled)", "the token's average marginal effect on f over random orders of "
                "putting the prompt's tokens in place of neutral ones (signed)"),
    "lime": ("LIME", "weight of the token in a linear model fitted to f over random subsets of present tokens "
             "(signed)"),
    "kernel_shap": ("KernelSHAP", "the token's Shapley value estimated by a linear model fitted to f over random "
                    "subsets of present tokens, weighted by the Shapley kernel (signed)"),
}


GRADIENT = ("saliency", "gradient_x_input", "integrated_gradients")


FROM_BASELINE = frozenset({"integrated_gradients", "shapley", "lime", "kernel_shap"})  # start from all tokens absent


SEEDS = (0, 1)  # the sampled methods run once per seed; their scores are the mean, half the difference the error


BATCH = 16  # perturbed inputs per forward pass


# Token rows (inputs × prompt tokens) of one integrated-gradient pass: on a CPU a pass reads the weights once
# however many rows it holds, so 2 passes of 16 points cost a fifth more than 1 of 32; 1024 rows is what 16
# inputs of a 64-token prompt held before, so no pass holds more activations for the backward pass than then.
GRADIENT_ROWS = 1024


MAX_TOKENS = 64  # every method runs at least one pass per token, some many more


log = logging.getLogger(__name__)


def gradient_batch(n: int) -> int:
    """Integrated-gradient points (inputs) per pass on an n-token prompt."""
    return max(1, GRADIENT_ROWS // n)


def planned_passes(name: str, n: int, options: dict[str, Any], packed: bool = False) -> dict[str, int]:
    """What a method costs at most on an n-token prompt: batched forward and backward passes, and the inputs they
    hold (fewer run when inputs repeat; a test counts them). packed: occlusion runs packed (occlusion.py)."""
    if name in ("saliency", "gradient_x_input"):
        return {"forward": 1, "backward": 1, "inputs": 1}
    if name == "integrated_gradients":  # the whole path with the baseline, then pieces cut in two
        points, per = options["steps"], gradient_batch(n)
        cuts = max(0, (options["max_steps"] - points) // (2 * points))
        batches = -(-(points + 1) // per) + cuts * -(-2 * points // per)
        return {"forward": batches, "backward": batches, "inputs": points + 1 + cuts * 2 * points}
    if name == "occlusion" and packed:  # each pass: its variants, and the prompt again as a check
        passes = len(occlusion.chunks(n))
        return {"forward": passes, "backward": 0, "inputs": n + passes}
    if name == "occlusion":  # the prompt, then each token replaced
        return {"forward": 1 + -(-n // BATCH), "backward": 0, "inputs": 1 + n}
    runs = len(SEEDS)
    if name == "shapley":  # the prompt, then per sampled order one batch putting the tokens back one by one
        return {"forward": runs * (1 + options["samples"] * -(-n // BATCH)), "backward": 0,
                "inputs": runs * (1 + options["samples"] * n)}
    return {"forward": runs * -(-options["samples"] // BATCH), "backward": 0,  # LIME, KernelSHAP
            "inputs": runs * options["samples"]}


class Attributed:
    """f: input embeddings [batch, n, d] -> [batch], log p(target) (minus log p(contrast)) after the last position.

    Without gradients, an input f has seen before is not run again: perturbation methods ask for the same
    subsets of present tokens many times (a 5-token prompt has 32, Shapley sampling asks for 126), and the
    prompt's own value is known from the build's forward pass. `passes` and `inputs` count what really ran."""

    def __init__(self, model: LoadedModel, target: int, contrast: int | None) -> None:
        self.logits = last_logits(model)
        self.target, self.contrast = target, contrast
        self.seen: dict[bytes, float] = {}
        self.passes = self.inputs = self.backward = 0

    def quantity(self, logits: Any) -> Any:
        import torch

        log_probs = torch.log_softmax(logits, dim=-1)
        return log_probs[..., self.target] - (log_probs[..., self.contrast] if self.contrast is not None else 0)

    def remember(self, x: Any, value: float) -> None:
        """Record f(x) for one input [n, d] computed elsewhere."""
        self.seen[_digest(x)] = value

    def known(self, x: Any) -> float | None:
        """f(x) for one input [n, d] if it was run or remembered, else None."""
        return self.seen.get(_digest(x))

    def packed(self, x: Any, positions: Any, mask: Any, keep: Any) -> Any:
        """f at the rows `keep` of one packed sequence [1, R, d] (occlusion.py), one input a row kept."""
        import torch

        with torch.no_grad():
            values = self.quantity(self.logits(x, positions, mask, keep))
        self.passes += 1
        self.inputs += len(keep)
        return values

    def __call__(self, x: Any) -> Any:
        import torch

        if x.requires_grad and torch.is_grad_enabled():
            self.passes += 1
            self.backward += 1
            self.inputs += x.shape[0]
            return self.quantity(self.logits(x))
        keys = [_digest(row) for row in x]
        new = {key: i for i, key in enumerate(keys) if key not in self.seen}
        if new:
            with torch.no_grad():
                values = self.quantity(self.logits(x[list(new.values())])).tolist()
            self.passes += 1
            self.inputs += len(new)
            self.seen.update(zip(new, values, strict=True))
        return torch.tensor([self.seen[key] for key in keys], dtype=torch.float32, device=x.device)


def _digest(x: Any) -> bytes:
    import hashlib

    import torch

    raw = x.detach().cpu().contiguous().view(torch.uint8)  # the bytes, whatever the dtype (numpy has no bfloat16)
    return hashlib.blake2b(raw.numpy().tobytes(), digest_size=16).digest()


def last_logits(model: LoadedModel) -> Any:
    """x -> the logits at the last position of input embeddings x [batch, n, d] (only that row is computed where
    the model allows it; no key/value cache is kept). With positions, mask and keep, x is one packed sequence
    (occlusion.py) and the logits are those of the rows keep, [len(keep), vocab]."""
    keeps = "logits_to_keep" in inspect.signature(model.model.forward).parameters

    def run(x: Any, positions: Any = None, mask: Any = None, keep: Any = None) -> Any:
        if keep is not None:
            return model.model(inputs_embeds=x, position_ids=positions, attention_mask=mask, use_cache=False,
                               logits_to_keep=keep).logits[0].float()
        extra = {"logits_to_keep": 1} if keeps else {}
        return model.model(inputs_embeds=x, use_cache=False, **extra).logits[:, -1].float()

    return run


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("attribution")
    if len(set(options["methods"])) != len(options["methods"]):
        raise AnalysisError("a method is named twice", "methods")
    last = forward.logits[-1].double()
    target, contrast = target_and_contrast(model, forward, options)
    ids = torch.tensor([forward.input_ids], device=model.device)
    neutral = _neutral_token(model)
    with torch.no_grad():
        embeds = model.model.get_input_embeddings()(ids).detach()
        baseline = model.model.get_input_embeddings()(torch.full_like(ids, neutral)).detach()

    f = Attributed(model, target, contrast)
    f.remember(embeds[0], float(f.quantity(forward.logits[-1].float())))
    n = embeds.shape[1]
    packed = occlusion.packable(model, n)
    plans = {name: planned_passes(name, n, options, packed) for name in options["methods"]}
    log.info("attribution of %d tokens: at most %d forward and %d backward passes (%s; inputs already seen are "
             "not run again)", n, sum(p["forward"] for p in plans.values()),
             sum(p["backward"] for p in plans.values()),
             ", ".join(f"{name} {p['forward']}+{p['backward']}" for name, p in plans.items()))
    rows = []
    for name in options["methods"]:
        passes, inputs, backward = f.passes, f.inputs, f.backward
        row = _method(name, f, embeds, baseline, options, packed)
        rows.append({**row, "passes": {"forward": f.passes - passes, "backward": f.backward - backward,
                                       "inputs": f.inputs - inputs, "planned": plans[name]}})
    with torch.no_grad():
        f_prompt = float(f(embeds)[0])
        # f(baseline) is what the scores of these methods add up to a difference from; the others never read it.
        f_baseline = float(f(baseline)[0]) if set(options["methods"]) & FROM_BASELINE else None
    log_probs = torch.log_softmax(last, -1)
    tokens = forward.tokens
    return {
        "tokens": tokens,
        "input_ids": forward.input_ids,
        "target": {"id": target, "token": model.token_texts([target])[0], "prob": float(log_probs[target].exp())},
        "contrast": None if contrast is None else {"id": contrast, "token": model.token_texts([contrast])[0],
                                                   "prob": float(log_probs[contrast].exp())},
        "quantity": ("log p(target) − log p(contrast)" if contrast is not None else "log p(target)")
        + " at the output of the last position (softmax of the final logits, temperature 1)",
        "f_prompt": f_prompt,
        "f_baseline": f_baseline,
        "baseline_token": {"id": neutral, "token": model.token_texts([neutral])[0]},
        "methods": [{**row, **_top(row, tokens)} for row in rows],
    }


def _top(row: dict[str, Any], tokens: list[str]) -> dict[str, Any]:
    """The prompt token a method scores highest; none when its scores did not settle, or when other tokens score
    within the scores' estimated error of it ("tied": those tokens, the highest first)."""
    scores = row["scores"]
    best = max(range(len(tokens)), key=scores.__getitem__)
    if not row.get("converged", True):
        return {"top": None}
    error = row.get("error_estimate") or 0.0
    tied = sorted((i for i in range(len(tokens)) if scores[best] - scores[i] <= error), key=lambda i: -scores[i])
    if len(tied) > 1:
        return {"top": None, "tied": [tokens[i] for i in tied]}
    return {"top": tokens[best]}


def _neutral_token(model: LoadedModel) -> int:
    """The token an absent prompt token is replaced by: the tokenizer's padding token, else its end-of-text or
    beginning-of-text token, else id 0."""
    tokenizer = model.tokenizer
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id):
        if isinstance(candidate, int):
            return candidate
    return 0


def _method(name: str, f: Any, embeds: Any, baseline: Any, options: dict[str, Any], packed: bool) -> dict[str, Any]:
    import torch

    row: dict[str, Any] = {"name": name, "label": METHODS[name][0], "measures": METHODS[name][1]}
    if name in GRADIENT:
        with torch.enable_grad():
            scores = _gradient(name, f, embeds, baseline, options, row)
    else:
        scores = _packed_occlusion(f, embeds, baseline) if name == "occlusion" and packed else None
        if scores is None:
            scores = _perturbed(name, f, embeds, baseline, options, row)
    row["scores"] = [float(s) for s in scores.detach().cpu()]
    return row


def _gradient(name: str, f: Any, embeds: Any, baseline: Any, options: dict[str, Any], row: dict[str, Any]) -> Any:
    """Saliency, gradient × input or integrated gradients (which adds how its path settled to row)."""
    import torch
    from captum.attr import InputXGradient, Saliency

    if name == "saliency":
        return Saliency(f).attribute(embeds.clone().requires_grad_(True), abs=False)[0].norm(dim=-1)
    if name == "gradient_x_input":
        return InputXGradient(f).attribute(embeds.clone().requires_grad_(True))[0].sum(-1)
    with torch.no_grad():
        f_prompt = float(f(embeds)[0])  # from the build's forward pass

    def allowed_for(f_baseline: float) -> float:
        return options["tolerance"] * max(abs(f_prompt - f_baseline), 1.0)

    known = f.known(baseline[0])  # else f(baseline) is computed in the path's first pass
    path = integrated_gradients(f, embeds, baseline, options["steps"], options["max_steps"],
                                allowed_for if known is None else allowed_for(known), gradient_batch(embeds.shape[1]))
    if known is None:
        known = path.f_baseline
        f.remember(baseline[0], known)
    allowed = allowed_for(known)
    delta = float(path.scores.sum()) - (f_prompt - known)
    row.update({"points": path.points, "pieces": path.pieces, "allowed": allowed, "convergence_delta": delta,
                "error_estimate": path.error if path.error != float("inf") else None,
                "converged": path.settled and abs(delta) <= allowed})
    return path.scores


def _perturbed(name: str, f: Any, embeds: Any, baseline: Any, options: dict[str, Any], row: dict[str, Any]) -> Any:
    """Occlusion (one pass per BATCH variants), Shapley values, LIME or KernelSHAP, by Captum (the sampled ones
    add their error estimate to row)."""
    import torch
    from captum.attr import FeatureAblation, KernelShap, Lime, ShapleyValueSampling

    n = embeds.shape[1]
    mask = torch.arange(n, device=embeds.device).view(1, n, 1).expand_as(embeds).contiguous()  # a feature per token
    samples = options["samples"]
    common = {"baselines": baseline, "feature_mask": mask, "perturbations_per_eval": BATCH,
              "show_progress": sys.stderr.isatty()}  # Captum's own bar, on a terminal only
    runs = []
    # Shapley values, LIME and KernelSHAP draw random orders and subsets: seeded, so a build gives the same page
    # every time (without touching the random state of anything else). The sampled ones run twice, with seeds 0
    # and 1: the scores are the mean, and half the runs' difference their error.
    for seed in (0,) if name == "occlusion" else SEEDS:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if name == "occlusion":
                out = FeatureAblation(f).attribute(embeds, **common)
            elif name == "shapley":
                out = ShapleyValueSampling(f).attribute(embeds, n_samples=samples, **common)
            elif name == "lime":
                out = Lime(f).attribute(embeds, n_samples=samples, **common)
            else:
                out = KernelShap(f).attribute(embeds, n_samples=samples, **common)
        runs.append(out[0, :, 0].double())
    if len(runs) > 1:
        row["error_estimate"] = float((runs[0] - runs[1]).abs().sum() / 2)
    return sum(runs) / len(runs)


def _packed_occlusion(f: Attributed, embeds: Any, baseline: Any) -> Any:
    """Occlusion's scores f(prompt) - f(variant) from packed passes (occlusion.py), the variants remembered for the
    other methods; None when the model cannot run them packed (then Captum's FeatureAblation runs them)."""
    import torch

    with torch.no_grad():
        f_prompt = f(embeds)[0]  # from the build's forward pass
    values = occlusion.occluded(f.packed, embeds, baseline, float(f_prompt))
    if values is None:
        log.warning("occlusion: a packed pass did not reproduce f(prompt) on this model; running the variants one "
                    "by one")
        return None
    for variant, value in zip(occlusion.variants(embeds, baseline), values.tolist(), strict=True):
        f.remember(variant, value)
    return (f_prompt - values).double()  # in float32 first, as Captum subtracts
