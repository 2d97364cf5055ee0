"""Top-k next tokens as a horizontal Bokeh bar chart with hover values."""

from __future__ import annotations

from typing import Any

from bokeh.models import ColumnDataSource, HoverTool
from bokeh.plotting import figure

from lmreport.analyses.spec import Rows
from lmreport.errors import short
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, bokeh_figure
from lmreport.views.figure import Figure, display_token, display_tokens


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    preds = data["predictions"]
    tokens = display_tokens(data["tokens"])
    after = short("".join(tokens[: data["position"] + 1]), 60)
    source = ColumnDataSource(
        {
            "rank": [p["rank"] for p in preds],
            "token": [display_token(p["token"]) for p in preds],
            "prob": [p["prob"] for p in preds],
            "percent": [f"{100 * p['prob']:.2f}%" for p in preds],
            "logit": [f"{p['logit']:.3f}" for p in preds],
            "label": [f"{100 * p['prob']:.1f}%" for p in preds],
        }
    )
    k = len(preds)
    fig = figure(
        height=70 + 26 * k,
        sizing_mode="stretch_width",
        x_range=(0, max(1e-9, max(source.data["prob"])) * 1.18),
        y_range=(k + 0.6, 0.4),
        title=f"Next token after “{after}”" + ("" if data.get("temperature", 1.0) == 1.0 else
                                                f" at temperature {data['temperature']:g}: softmax(logits / "
                                                f"{data['temperature']:g})"),
        tools="save,reset",
        toolbar_location="right",
    )
    fig.hbar(y="rank", right="prob", height=0.72, source=source, color="#3b6fb6", hover_color="#f28e2b")
    fig.text(x="prob", y="rank", text="label", source=source, x_offset=4, text_baseline="middle", text_font_size="11px")
    fig.yaxis.ticker = list(range(1, k + 1))
    fig.yaxis.major_label_overrides = {p["rank"]: display_token(p["token"]) for p in preds}
    fig.xaxis.axis_label = "probability"
    fig.ygrid.grid_line_color = None
    fig.add_tools(
        HoverTool(tooltips=[("rank", "@rank"), ("token", "@token"), ("probability", "@percent"), ("logit", "@logit")])
    )
    return bokeh_figure(fig)


def table(data: dict[str, Any]) -> Rows:
    return [["rank", "token", "token_id", "probability", "logit"]] + [
        [p["rank"], p["token"], p["id"], p["prob"], p["logit"]] for p in data["predictions"]]


GUIDE = (
    "The most likely next tokens, longest bar first; hover a bar for its probability and logit.",
    "Probabilities are the softmax of the model's final logits after the chosen position, divided by the "
    "temperature the chart's title states (1, the model's own distribution, when it states none). "
    "The bars are the top k of the whole vocabulary; the rest of the probability is spread over all other "
    "tokens. " + BOKEH_TOOLS,
)
