"""Input attribution: the prompt's tokens, one row per method, each coloured by its score (blue: raises the
attributed quantity, red: lowers it; each row scaled to its own largest score), the value on hover."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from lmreport.analyses.attribution.values import unsettled
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
        settled = row.get("converged", True)
        if "points" in row:
            extra = f"; {_settling(row)}"
        elif "error_estimate" in row:
            extra = (f"; the mean of two runs seeded 0 and 1, whose half-difference summed over the tokens is "
                     f"{row['error_estimate']:.3g}")
        else:
            extra = ""
        cells = Markup("").join(
            Markup('<span class="attr-token{}" style="{}" title="{}">{}</span>').format(
                "" if settled else " attr-unsettled", signed_style(score, scale),
                f"{display_token(tok)}: {score:+.4f}" + ("" if settled else " (not settled)"), display_token(tok))
            for tok, score in zip(tokens, row["scores"], strict=True))
        if row["name"] != "saliency" and row["top"] is not None:
            tops.add(row["top"])
        if row["top"] is not None:
            top = Markup("top: <code>{}</code>").format(display_token(row["top"]))
        elif "tied" in row:
            top = Markup("top: n/a ({} tied within the error)").format(
                Markup(", ").join(Markup("<code>{}</code>").format(display_token(t)) for t in row["tied"]))
        else:
            top = Markup("top: n/a (not settled)")
        parts.append(Markup(
            '<div class="attribution-row"><div class="attr-method" title="{}">{}<small>{} · {}'
            "</small></div><div class=\"attr-tokens\">{}</div></div>").format(
                f"{row['measures']}. Cost: {cost}{extra}.", row["label"], top,
                _passes(passes["forward"] + passes["backward"]), cells))
    parts.append(Markup("</div>"))
    for row in data["methods"]:
        if "points" not in row:
            continue
        if row["converged"]:
            parts.append(Markup('<p class="figure-note">Integrated gradients settled: {}.</p>').format(_settling(row)))
        else:
            parts.append(Markup('<p class="figure-note attr-warning">Integrated gradients did not settle: {}. Its '
                                "scores, shown faded, swing with the number of points and are not a result: "
                                "raise <code>max_steps</code>.</p>").format(_settling(row)))
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


def _settling(row: dict[str, Any]) -> str:
    """How integrated gradients' scores settled, in numbers: the points, the pieces, the two errors."""
    error = row["error_estimate"]
    estimated = "not estimated (no piece was cut)" if error is None else f"{error:.3g}"
    pieces = "the whole path" if row["pieces"] == 1 else f"{row['pieces']} pieces of the path"
    return (f"{row['points']} gradient points on {pieces}; estimated error of the scores "
            f"(summed over the tokens) {estimated}; their sum minus f(prompt) − f(baseline) "
            f"{row['convergence_delta']:+.3g}; "
            f"{row['allowed']:.3g} allowed for each")


def warnings(data: dict[str, Any]) -> list[str]:
    """What the build warns about at the block (an error with --strict): scores that did not settle."""
    return [f"attribution: integrated gradients did not settle, so its scores are drawn faded and it names no top "
            f"token: {unsettled(row)}" for row in data["methods"] if not row.get("converged", True)]


def _passes(n: int) -> str:
    """How many passes a method ran, in words: none when every input it needed had been run for another."""
    return "no new pass (its inputs were run already)" if n == 0 else f"{n} pass" if n == 1 else f"{n} passes"


def table(data: dict[str, Any]) -> Rows:
    rows: Rows = [["method", "position", "token", "score", "quantity", "settled"]]
    for method in data["methods"]:
        settled = "yes" if method.get("converged", True) else "no"
        for i, (token, score) in enumerate(zip(data["tokens"], method["scores"], strict=True)):
            rows.append([method["name"], i, token, score, data["quantity"], settled])
    return rows


GUIDE = (
    "Each row is one method; a token's colour is its score: blue raised the explained quantity, red lowered it.",
    "Each row is scaled to its own largest score, so compare colours within a row, not across rows. Hover a "
    "token for its score and a method's name for what it measures and what it cost. Methods that disagree "
    "measure different things: a local slope, a path integral, or the effect of removing tokens.",
)
