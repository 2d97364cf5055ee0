"""Rank of the predicted token at each layer and position (and of named tokens), as labelled grids."""

from __future__ import annotations

from bokeh.layouts import column
from markupsafe import escape

from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, LAYER_AXIS, bokeh_figure, grid, layer_ticks
from lmreport.views.figure import LENS_RULE, RANK_RULE, Figure, display_token, display_tokens

RANK_COLOUR_LIMIT = 1000  # ranks from here down are all drawn palest


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = display_tokens(data["tokens"])
    outputs = [display_token(t) for t in data["output_tokens"]]
    main = rank_grid(
        title="Rank, at each layer, of the token the model finally predicts "
        "(1 = top; the darker, the better; 1000 and worse are palest)",
        columns=[f"{t}\n→ {o}" for t, o in zip(tokens, outputs, strict=True)],
        hover_columns={"after": [f"{x}: {t}" for x, t in enumerate(tokens)], "token": outputs},
        layers=data["layers"], ranks=data["output_ranks"], probs=data["output_probs"],
        x_axis_label="input token → the model's final prediction after it",
    )
    note = f'<p class="figure-summary">Ranks of {escape(LENS_RULE)}; {escape(RANK_RULE)}.</p>\n'
    if not data["candidates"]:
        chart = bokeh_figure(main)
        chart.html = note + chart.html
        return chart
    cands = data["candidates"]
    names = [display_token(c["token"]) for c in cands]
    named = rank_grid(
        title=f"Rank of the named tokens after “{data['position']}: {tokens[data['position']]}”",
        columns=names, hover_columns={"token": names}, layers=data["layers"],
        ranks=[[c["ranks"][y] for c in cands] for y in range(len(data["layers"]))],
        probs=[[c["probs"][y] for c in cands] for y in range(len(data["layers"]))],
        x_axis_label="named token",
    )
    chart = bokeh_figure(column(main, named))
    chart.html = note + chart.html
    return chart


def rank_grid(*, title: str, columns: list[str], hover_columns: dict[str, list[str]], layers: list[str],
              ranks: list[list[int]], probs: list[list[float]], x_axis_label: str):
    """Ranks [layer][column] as a grid: log colour scale, 1 darkest, RANK_COLOUR_LIMIT and worse palest."""
    n_rows = len(layers)
    hover = {"layer": [[layers[y]] * len(columns) for y in range(n_rows)]}
    hover.update({name: [values for _ in range(n_rows)] for name, values in hover_columns.items()})
    hover["rank"] = [[str(r) for r in row] for row in ranks]
    hover["probability"] = [[f"{100 * p:.3f}%" for p in row] for row in probs]
    return grid(
        title=title, x_labels=columns, y_labels=list(layer_ticks(n_rows).values()), values=ranks,
        text=[[str(r) for r in row] for row in ranks], hover=hover, low=1, high=RANK_COLOUR_LIMIT, log=True,
        reverse=True, x_axis_label=x_axis_label, y_axis_label=LAYER_AXIS,
    )


GUIDE = (
    "Each cell is a token's rank at that layer (1 is the top); darker means a better rank.",
    "Ranks come from the logit lens at each layer (0: embeddings, n: the output of block n): 1 + the number of "
    "tokens with a larger logit. The first grid follows the token the model finally predicts after each "
    "position; a second grid, when asked for, follows named tokens. " + BOKEH_TOOLS,
)
