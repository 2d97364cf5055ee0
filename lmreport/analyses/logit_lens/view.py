"""Logit lens as a layer × position heatmap of the top token and its probability."""

from __future__ import annotations

from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, LAYER_AXIS, bokeh_figure, grid, layer_ticks
from lmreport.views.figure import Figure, display_token, display_tokens


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = display_tokens(data["tokens"])
    layers = data["layers"]
    n_rows = len(layers)
    tops = [[[display_token(t) for t in cell] for cell in row] for row in data["top_tokens"]]
    probs = data["top_probs"]
    fig = grid(
        title="Top prediction of each layer (final norm + unembedding), colour = its probability",
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
    return bokeh_figure(fig)


GUIDE = (
    "Each cell is the token the model would predict if it stopped at that layer; darker means more probable.",
    "Rows are layers (0: the embeddings, n: the output of block n, the top row the model's real output); "
    "columns are positions in the prompt. Each cell reads the residual stream through the final norm and the "
    "unembedding. Hover a cell for its top few tokens and their probabilities. " + BOKEH_TOOLS,
)
