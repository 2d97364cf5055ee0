"""A line of the mean residual norm across layers."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.spec import Rows
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, bokeh_figure, lines
from lmreport.views.figure import Figure


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    plot = lines(title="Mean L2 norm of the residual stream", n_rows=len(data["layers"]), y_axis_label="norm",
                 series=[{"label": "mean over tokens", "values": data["mean"],
                          "hover": {"layer": data["layers"]}}])
    return bokeh_figure(plot)


def table(data: dict[str, Any]) -> Rows:
    return [["layer", "mean_norm"]] + [[name, value] for name, value in zip(data["layers"], data["mean"], strict=True)]


GUIDE = ("The residual stream's length after each layer, averaged over the prompt's tokens.",
         "Layer 0 is the embeddings, layer n the output of block n (before the final norm). " + BOKEH_TOOLS)
