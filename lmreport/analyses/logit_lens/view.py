"""Logit lens as a layer × position heatmap of the top token and its probability."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bokeh.models import LinearAxis
from markupsafe import Markup

from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, LAYER_AXIS, bokeh_figure, grid, layer_ticks
from lmreport.views.figure import Figure, display_token, display_tokens

if TYPE_CHECKING:
    from lmreport.analyses.try_prompt import TryPrompt

TITLE = "Top prediction of each layer (final norm + unembedding), colour = its probability"


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = display_tokens(data["tokens"])
    layers = data["layers"]
    n_rows = len(layers)
    tops = [[[display_token(t) for t in cell] for cell in row] for row in data["top_tokens"]]
    probs = data["top_probs"]
    fig = grid(
        title=TITLE,
        x_labels=tokens,
        y_labels=list(layer_ticks(n_rows).values()),
        values=[[cell[0] for cell in row] for row in probs],
        text=[[cell[0] for cell in row] for row in tops],
        hover={
            "layer": [[layers[y] + (" (output)" if y == n_rows - 1 else "")] * len(tokens) for y in range(n_rows)],
            "input": [[f"{x}: {t}" for x, t in enumerate(tokens)] for _ in range(n_rows)],
            "top": [
                ["  ".join(f"{t} {100 * p:.1f}%" for t, p in zip(tops[y][x], probs[y][x], strict=True))
                 for x in range(len(tokens))]
                for y in range(n_rows)
            ],
        },
        low=0.0,
        high=1.0,
        x_axis_label="input token (prediction is for the next one)",
        y_axis_label=LAYER_AXIS,
    )
    return opening_at_end(fig)


def opening_at_end(fig: Any) -> Figure:
    """A layer × position grid drawn to open, on a screen narrower than it, scrolled to its last column (the
    prediction; assets/logit_lens.js), with the layers again at the right, beside that column, and the title above
    the box that scrolls, where the reader sees it however far the grid is scrolled."""
    if fig.min_width > PHONE_COLUMN:
        fig.add_layout(LinearAxis(ticker=fig.yaxis[0].ticker,
                                  major_label_overrides=fig.yaxis[0].major_label_overrides), "right")
        fig.width += RIGHT_AXIS
        fig.min_width += RIGHT_AXIS
    title, fig.title.text = fig.title.text, ""
    drawn = bokeh_figure(fig)
    html = Markup('<p class="chart-title">{}</p><div class="lens-scroll" data-lmr-component="logit-lens">{}</div>'
                  ).format(title, Markup(drawn.html))
    return Figure(html=str(html), assets=drawn.assets | {"logit_lens"})


def try_prompt(result: Result) -> TryPrompt | None:
    """The reader's prompt in the page: the twin is this grid, which try.js gives the reader's positions (sized as
    views/bokeh.py's grid() sizes one), with the build's top cells to compare when the prompt is the figure's."""
    from lmreport.analyses.try_prompt import TryPrompt

    data = result.data
    if "top_probs" not in data:
        return None
    built = {"ids": data["input_ids"], "top": [[cell[0] for cell in row] for row in data["top_ids"]],
             "probs": [[cell[0] for cell in row] for row in data["top_probs"]]}
    return TryPrompt(result.options["prompt"], {
        "top": result.options["top"], "layers": data["layers"], "title_width": min(900, 7 * len(TITLE) + 80),
        "phone_column": PHONE_COLUMN, "right_axis": RIGHT_AXIS, "built": built}, result)


PHONE_COLUMN = 330  # px: a grid that needs more scrolls sideways on a 390 px phone


RIGHT_AXIS = 34  # px the layer labels at the right take


GUIDE = (
    "Each cell is the token the model would predict if it stopped at that layer; darker means more probable.",
    "Rows are layers (0: the embeddings, n: the output of block n, the top row the model's real output); "
    "columns are positions in the prompt. Each cell reads the residual stream through the final norm and the "
    "unembedding. Hover a cell for its top few tokens and their probabilities. " + BOKEH_TOOLS,
)
