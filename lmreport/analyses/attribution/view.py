"""Input attribution: the prompt's tokens, one row per method, each coloured by its score (blue: raises the
attributed quantity, red: lowers it; each row scaled to its own largest score), the value on hover."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from lmreport.analyses.spec import Rows
from lmreport.result import Result
from lmreport.views.figure import Figure, display_token, signed_style


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = data["tokens"]
    target = data["target"]
    contrast = data.get("contrast")
    explained = Markup("p(<code>{}</code>) = {:.1%}").format(display_token(target["token"]), target["prob"])
    if contrast:
        explained += Markup(" against p(<code>{}</code>) = {:.1%}").format(display_token(contrast["token"]),
                                                                          contrast["prob"])
    neutral = display_token(data["baseline_token"]["token"])
    baseline = Markup("; f(baseline: every token <code>{}</code>) = {:.3f}").format(
        neutral, data["f_baseline"]) if data.get("f_baseline") is not None else ""
    parts = [Markup('<p class="figure-summary">What is attributed: f = {} ({}). f(prompt) = {:.3f}{}. An absent '
                    'token is replaced by <code>{}</code>.</p>').format(data["quantity"], explained, data["f_prompt"],
                                                                       baseline, neutral)]
    parts.append(Markup('<div class="attribution-rows">'))
    tops = set()
    for row in data["methods"]:
        scale = max((abs(s) for s in row["scores"]), default=0.0)
        passes = row["passes"]
        cost = f"{passes['forward']} batched forward and {passes['backward']} backward passes"
        if "inputs" in passes:
            cost += f" over {passes['inputs']} inputs"
        if "planned" in passes and passes["planned"]["inputs"] > passes["inputs"]:
            cost += f" (the method asked for {passes['planned']['inputs']}; the others had been run already)"
        extra = f"; convergence delta {row['convergence_delta']:.2g}" if "convergence_delta" in row else ""
        cells = Markup("").join(
            Markup('<span class="attr-token" style="{}" title="{}">{}</span>').format(
                signed_style(score, scale), f"{display_token(tok)}: {score:+.4f}", display_token(tok))
            for tok, score in zip(tokens, row["scores"], strict=True))
        if row["name"] != "saliency":
            tops.add(row["top"])
        parts.append(Markup(
            '<div class="attribution-row"><div class="attr-method" title="{}">{}<small>top: <code>{}</code> · {}'
            "</small></div><div class=\"attr-tokens\">{}</div></div>").format(
                f"{row['measures']}. Cost: {cost}{extra}.", row["label"], display_token(row["top"]),
                _passes(passes["forward"] + passes["backward"]), cells))
    parts.append(Markup("</div>"))
    for row in data["methods"]:
        if "convergence_delta" not in row:
            continue
        gap = data["f_prompt"] - data["f_baseline"]  # integrated gradients start from the baseline
        if abs(row["convergence_delta"]) > 0.05 * max(abs(gap), 1e-6):
            parts.append(Markup('<p class="figure-note">Integrated gradients did not converge at {} steps: its scores '
                                "add up to {:.3f}, not to f(prompt) − f(baseline) = {:.3f}; the model's output "
                                "changes abruptly along the path. Read its row with care, or raise "
                                "<code>steps</code>.</p>").format(result.options["steps"], sum(row["scores"]), gap))
    if len(tops) > 1:
        shown = {row["name"] for row in data["methods"]}
        kinds = [kind for methods, kind in KINDS if shown & methods]
        parts.append(Markup('<p class="figure-note">The signed methods disagree on the most important token ({}): '
                            "they measure different things ({}). Hover a method's name for what it "
                            "measures.</p>").format(", ".join(display_token(t) for t in sorted(tops)),
                                                    ", ".join(kinds)))
    parts.append(Markup('<p class="view-help">Blue raises the attributed quantity, red lowers it; each row is '
                        "scaled to its own largest score. Hover a token for its score.</p>"))
    return Figure(html=str(Markup("\n").join(parts)), assets=set())


# What each family of methods measures, for the note when they disagree (in the order the note names them).
KINDS = (
    ({"saliency", "gradient_x_input"}, "a local slope"),
    ({"integrated_gradients"}, "a path integral"),
    ({"occlusion"}, "the effect of removing one token"),
    ({"shapley", "lime", "kernel_shap"}, "the effect of removing subsets of tokens"),
)


def _passes(n: int) -> str:
    """How many passes a method ran, in words: none when every input it needed had been run for another."""
    return "no new pass (its inputs were run already)" if n == 0 else f"{n} pass" if n == 1 else f"{n} passes"


def table(data: dict[str, Any]) -> Rows:
    rows: Rows = [["method", "position", "token", "score", "quantity"]]
    for method in data["methods"]:
        for i, (token, score) in enumerate(zip(data["tokens"], method["scores"], strict=True)):
            rows.append([method["name"], i, token, score, data["quantity"]])
    return rows


GUIDE = (
    "Each row is one method; a token's colour is its score: blue raised the explained quantity, red lowered it.",
    "Each row is scaled to its own largest score, so compare colours within a row, not across rows. Hover a "
    "token for its score and a method's name for what it measures and what it cost. Methods that disagree "
    "measure different things: a local slope, a path integral, or the effect of removing tokens.",
)
