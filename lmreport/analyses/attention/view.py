"""The attention figure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmreport.result import Result
from lmreport.views.bertviz import views_html
from lmreport.views.figure import Figure

if TYPE_CHECKING:
    from lmreport.analyses.try_prompt import TryPrompt


def render(result: Result, figure_id: str) -> Figure:
    return Figure(html=views_html(result.data, figure_id), assets={"bertviz"})


def try_prompt(result: Result) -> TryPrompt | None:
    """The reader's prompt in the page: the twin is these views drawn again from the reader's weights (try.js writes
    them into the twin's data block), opening on the figure's layer and head; the build's weights to compare are the
    figure's own data block on the page."""
    from lmreport.analyses.try_prompt import TryPrompt

    data = result.data
    if "packed" not in data:
        return None
    twin = Result(result.analysis, result.options, result.model, {**data, "tokens": [], "packed": None})
    return TryPrompt(result.options["prompt"], {"layer": data["layer"], "head": data.get("head"),
                                                "built": {"ids": data["input_ids"]}}, twin)


GUIDE = (
    "Lines join each token (left) to the tokens it attends to (right); thicker means more attention.",
    "Attention weights are the softmax of each head's query · key scores: every row adds up to 1. The head "
    "view shows one layer with all its heads in colour (click a colour square to show or hide a head; hover "
    "a token to see only its lines). The model view shows every layer (rows) × head (columns): click a "
    "thumbnail to enlarge it. Layers count blocks from 1, as on every page (layer 0 is the embeddings); "
    "heads count from 0.",
)
GUIDE_HEATMAP = (
    "Each row is a token, each column a token it may attend to; the darker the cell, the more attention.",
    "Each row adds up to 1 (for the mean of the heads too). Above the diagonal a causal model's grid is empty: "
    "a token cannot look ahead. Choose a layer and one head or the mean of the layer's heads in the menus; "
    "hover a cell for its weight (sent to the page to ±0.002; the figure's data file has the exact numbers).",
)


def guide(data: dict) -> tuple[str, str]:
    """A heatmap alone has its own guide; the BertViz views share one."""
    return GUIDE_HEATMAP if data.get("views") == ["heatmap"] else GUIDE
