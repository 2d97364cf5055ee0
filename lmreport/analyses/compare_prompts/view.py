"""Prompts × candidate tokens: output probabilities side by side, and per-layer lines."""

from __future__ import annotations

from bokeh.layouts import column
from bokeh.models import ColumnDataSource, FactorRange, HoverTool
from bokeh.plotting import figure
from markupsafe import Markup

from lmreport.errors import short
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, PALETTE, bokeh_figure, lines
from lmreport.views.figure import Figure, display_token


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    names = [display_token(c["token"]) for c in data["candidates"]]
    prompts = [short(p["prompt"], 40) for p in data["prompts"]]
    # Groups are the prompts' numbers (unique, and short enough to stay level and legible on a phone); the list
    # above the charts says which prompt each number is.
    # Prompts count from 0, as the values that cite them do (`=id.ratio(0)`).
    factors = [(f"prompt {i}", n) for i in range(len(prompts)) for n in names]
    bars = {
        "x": factors,
        "prob": [p["probs"][c][-1] for p in data["prompts"] for c in range(len(names))],
        "rank": [str(p["ranks"][c][-1]) for p in data["prompts"] for c in range(len(names))],
        "prompt": [p["prompt"] for p in data["prompts"] for _ in names],
        "token": [n for _ in data["prompts"] for n in names],
        "color": [PALETTE[c % len(PALETTE)] for _ in data["prompts"] for c in range(len(names))],
    }
    bars["percent"] = [f"{100 * v:.3f}%" for v in bars["prob"]]
    out = figure(x_range=FactorRange(*factors), height=320, width=max(360, 56 * len(factors)),
                 min_width=max(300, 60 + 20 * len(factors)), title="Output probability", tools="save,reset",
                 toolbar_location="right")
    out.vbar(x="x", top="prob", width=0.8, color="color", source=ColumnDataSource(bars))
    out.add_tools(HoverTool(tooltips=[("prompt", "@prompt"), ("token", "@token"), ("probability", "@percent"),
                                      ("rank", "@rank")]))
    out.xaxis.major_label_orientation = 0.9 if max(len(n) for n in names) > 3 else 0
    out.xaxis.group_label_orientation = 0
    out.yaxis.axis_label = "probability"
    n_rows = len(data["layers"])
    if data["ratio"]:
        a, b = (display_token(data["candidates"][[c["text"] for c in data["candidates"]].index(r)]["token"])
                for r in data["ratio"])
        series = [{"label": f"{i}: {p}", "values": row_["log_ratio"],
                   "hover": {"ln ratio": [f"{v:+.3f}" for v in row_["log_ratio"]]}}
                  for i, (p, row_) in enumerate(zip(prompts, data["prompts"], strict=True))]
        layers = lines(title=f"ln p({a}) / p({b}) at each layer (above 0: {a} is preferred)", series=series,
                       n_rows=n_rows, y_axis_label="log ratio", width=700)
    else:
        series = [
            {"label": f"{i}: {n}", "values": p_row["probs"][c], "dash": ["solid", "dashed", "dotted"][c % 3],
             "hover": {"probability": [f"{100 * v:.3f}%" for v in p_row["probs"][c]]}}
            for i, p_row in enumerate(data["prompts"]) for c, n in enumerate(names)
        ]
        layers = lines(title="Probability at each layer", series=series, n_rows=n_rows,
                       y_axis_label="probability", width=520)
    chart = bokeh_figure(column(out, layers))
    listed = Markup("").join(Markup("<li>{}</li>").format(p["prompt"]) for p in data["prompts"])
    chart.html = str(Markup('<ol class="prompt-list" start="0">{}</ol>\n').format(listed)) + chart.html
    return chart


GUIDE = (
    "Bars compare the candidates' output probabilities across prompts; lines follow them through the layers.",
    "Each prompt is one group; the log ratio ln(p_a / p_b), when asked for, is above 0 where the first "
    "candidate is the more likely. Per-layer values come from the logit lens. " + BOKEH_TOOLS,
)
