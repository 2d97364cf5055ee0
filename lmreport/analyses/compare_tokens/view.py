"""Candidate tokens side by side: rank and probability across layers."""

from __future__ import annotations

from bokeh.layouts import column
from markupsafe import escape

from lmreport.errors import short
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, bokeh_figure, lines
from lmreport.views.figure import LENS_RULE, RANK_RULE, Figure, display_token


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    n_rows = len(data["layers"])
    series_rank, series_prob = [], []
    for c in data["candidates"]:
        label = display_token(c["token"])
        hover = {
            "rank": [str(r) for r in c["ranks"]],
            "probability": [f"{100 * p:.3f}%" for p in c["probs"]],
        }
        series_rank.append({"label": label, "values": c["ranks"], "hover": hover})
        series_prob.append({"label": label, "values": c["probs"], "hover": hover})
    after = short("".join(display_token(t) for t in data["tokens"][: data["position"] + 1]), 50)
    ranks = lines(title=f"Rank after “{after}” (1 = top)", series=series_rank, n_rows=n_rows,
                  y_axis_label="rank (log scale)", log_y=True, flip_y=True)
    probs = lines(title="Probability", series=series_prob, n_rows=n_rows, y_axis_label="probability")
    chart = bokeh_figure(column(ranks, probs))
    chart.html = (f'<p class="figure-summary">{escape(summary(data))} Layers: {escape(LENS_RULE)}; '
                  f"{escape(RANK_RULE)}.</p>\n" + chart.html)
    return chart


def summary(data: dict) -> str:
    """One sentence: who wins at the output, and from which layer it leads."""
    cands = data["candidates"]
    at_output = ", ".join(
        f"{display_token(c['token'])} rank {c['ranks'][-1]} ({100 * c['probs'][-1]:.1f}%)" for c in cands
    )
    winner = display_token(cands[data["winner"]]["token"])
    since = data["leads_from_layer"]
    where = "at every layer" if since == 0 else f"from layer {since} on"
    return f"At the output: {at_output}. {winner} ranks best {where}."


GUIDE = (
    "One line per candidate token across the layers: its rank (top, log scale) and probability (bottom).",
    "Read from left (embeddings) to right (the model's output) to see from which layer a candidate leads. "
    "Ranks and probabilities come from the logit lens. Click a legend entry to hide a line. " + BOKEH_TOOLS,
)
