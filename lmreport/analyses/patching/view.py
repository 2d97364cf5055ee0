"""Activation patching as a heatmap: one row per layer, one column per position of the clean prompt (per head for
site heads), each cell the share of the clean metric that restoring that one activation brings back into the
corrupted run."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from lmreport.analyses.logit_lens.view import opening_at_end
from lmreport.analyses.spec import Guide, Rows
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, LAYER_AXIS, bokeh_figure, grid
from lmreport.views.figure import Figure, display_token

# What each site restores, as the caption and the guide say it.
RESTORED = {
    "residual": "the residual stream (the embeddings in row 0, the output of block n in row n) at one position",
    "attn": "the output of block n's attention sub-block at one position",
    "mlp": "the output of block n's MLP at one position",
    "heads": "the output of one head of block n at every position (its slice of the attention output "
             "projection's input)",
}


BLOCK_AXIS = "layer (block n, counted from 1)"


def _metric_html(data: dict[str, Any]) -> Markup:
    answer = display_token(data["answer"]["token"])
    if data["wrong"] is None:
        return Markup("p(<code>{}</code>)").format(answer)
    return Markup("logit(<code>{}</code>) − logit(<code>{}</code>)").format(answer,
                                                                            display_token(data["wrong"]["token"]))


def _cell(value: float) -> str:
    """Two decimals; a tiny negative shows as 0.00, not -0.00, which reads as a sign that means something."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def column_labels(data: dict[str, Any]) -> list[str]:
    """The clean prompt's tokens, with the corrupted one beside it where they differ (␣Eiffel/␣Col); or heads."""
    if data["columns"] == "head":
        return [str(h) for h in range(len(data["recovery"][0]) if data["recovery"] else 0)]
    changed = set(data["changed"])
    return [display_token(clean) + (f"/{display_token(corrupted)}" if i in changed else "")
            for i, (clean, corrupted) in enumerate(zip(data["tokens"], data["corrupted_tokens"], strict=False))]


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    recovery, patched = data["recovery"], data["patched"]
    x_labels = column_labels(data)
    heads = data["columns"] == "head"
    y_labels = ["emb" if layer == 0 else str(layer) for layer in data["layers"]]
    what = "head" if heads else "token"
    fig = grid(
        title=f"Share of the clean answer brought back by restoring one {'head' if heads else 'activation'} "
              f"({data['site']}{'' if heads else ', one position'}) into the corrupted run",
        x_labels=x_labels,
        y_labels=y_labels,
        values=recovery,
        text=[[_cell(v) for v in row] for row in recovery],
        hover={
            "layer": [[("embeddings" if layer == 0 else f"layer {layer}")] * len(x_labels) for layer in data["layers"]],
            what: [[f"{x}: {label}" for x, label in enumerate(x_labels)] for _ in data["layers"]],
            "recovery": [[f"{v:.4f}" for v in row] for row in recovery],
            "metric": [[f"{v:.4f}" for v in row] for row in patched],
        },
        low=0.0,
        high=1.0,
        x_axis_label="head" if heads else "clean token (/corrupted token where they differ)",
        y_axis_label=LAYER_AXIS if data["site"] == "residual" else BLOCK_AXIS,
    )
    if heads:
        drawn = bokeh_figure(fig)
        return Figure(html=str(summary(data) + Markup(drawn.html)), assets=drawn.assets)
    # Wider than a phone, the grid opens at its last position, where the answer is read, as the logit lens's does.
    drawn = opening_at_end(fig)
    return Figure(html=str(summary(data)) + drawn.html, assets=drawn.assets)


def summary(data: dict[str, Any]) -> Markup:
    """What the numbers are: which metric, normalised how, which tensor restored, and the two runs' values."""
    metric = _metric_html(data)
    return Markup(
        '<p class="figure-summary">Clean prompt <q>{}</q>, corrupted <q>{}</q>. Metric: {} at the last position '
        "({}), {:.3f} on the clean prompt and {:.3f} on the corrupted one. Each cell restores {} from the clean "
        "run into the corrupted run and shows (patched − corrupted) / (clean − corrupted): 0 is the corrupted "
        "value, 1 the clean one. Colour runs from 0 (light) to 1 (dark); values outside take the end colours, "
        "and the number is exact.</p>"
    ).format(data["prompt"], data["corrupted"], metric, data["chosen"], data["clean_metric"],
             data["corrupted_metric"], RESTORED.get(data["site"], data["site"]))


def table(data: dict[str, Any]) -> Rows:
    column = data["columns"]
    rows: Rows = [["site", "layer", column, "clean_token", "corrupted_token", "metric", "patched_metric",
                   "recovery"]]
    for layer, patched, recovery in zip(data["layers"], data["patched"], data["recovery"], strict=True):
        for i, (value, share) in enumerate(zip(patched, recovery, strict=True)):
            clean, corrupted = ("", "") if column == "head" else (data["tokens"][i], data["corrupted_tokens"][i])
            rows.append([data["site"], layer, i, clean, corrupted, data["quantity"], value, share])
    return rows


def guide(data: dict[str, Any]) -> Guide:
    restored = RESTORED.get(data.get("site", ""), "one activation of the clean run")
    return (
        "Each cell: how much of the clean answer comes back when one activation of the clean run is restored into "
        "the corrupted run (0: none, 1: all).",
        f"Activation patching runs the corrupted prompt again with one activation taken from the clean prompt's "
        f"run: here {restored}. The metric (the answer's logit minus the wrong token's, or the answer's "
        "probability) is read at the last position and normalised: (patched − corrupted) / (clean − corrupted). A "
        "cell near 1 holds what the model needs to give the clean answer; near 0, restoring it alone does not help "
        "(the information may be elsewhere too). Positions before the first changed token read the same in both "
        "runs, so restoring them does nothing. " + BOKEH_TOOLS,
    )


SMALL_GAP = {"logit_diff": 0.5, "prob": 0.02}  # below these, rounding and noise weigh in every ratio


def warnings(data: dict[str, Any]) -> list[str]:
    """What the build warns about at the block (an error with --strict): a corruption that barely moves the
    metric, so that every recovery is a ratio of small differences."""
    gap = data["clean_metric"] - data["corrupted_metric"]
    if abs(gap) >= SMALL_GAP.get(data["metric"], 0.0):
        return []
    return [f"patching: the corruption moves {data['quantity']} by only {gap:+.3g} ({data['clean_metric']:.4g} "
            f"clean, {data['corrupted_metric']:.4g} corrupted): each recovery divides by that small gap"]
