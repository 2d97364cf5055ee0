"""Rank of the predicted token at each layer and position (and of named tokens), as labelled grids."""

from __future__ import annotations

from bokeh.layouts import column

from ..result import Result
from .bokeh import bokeh_figure, grid, layer_ticks
from .common import Figure, display_token, display_tokens

RANK_COLOUR_LIMIT = 1000  # ranks from here down are all drawn palest


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = display_tokens(data["tokens"])
    layers = data["layers"]
    n_rows = len(layers)
    outputs = [display_token(t) for t in data["output_tokens"]]
    ranks, probs = data["output_ranks"], data["output_probs"]
    layer_hover = [[layers[y]] * len(tokens) for y in range(n_rows)]
    main = grid(
        title="Rank, at each layer, of the token the model finally predicts "
        "(1 = top; the darker, the better; 1000 and worse are palest)",
        x_labels=[f"{t}\n→ {o}" for t, o in zip(tokens, outputs, strict=True)],
        y_labels=list(layer_ticks(n_rows).values()),
        values=ranks,
        text=[[str(r) for r in row] for row in ranks],
        hover={
            "layer": layer_hover,
            "after": [[f"{x}: {t}" for x, t in enumerate(tokens)] for _ in range(n_rows)],
            "token": [outputs for _ in range(n_rows)],
            "rank": [[str(r) for r in row] for row in ranks],
            "probability": [[f"{100 * p:.2f}%" for p in row] for row in probs],
        },
        low=1,
        high=RANK_COLOUR_LIMIT,
        log=True,
        reverse=True,
        x_axis_label="input token → the model's final prediction after it",
        y_axis_label="layer",
    )
    plots = [main]
    if data["candidates"]:
        cands = data["candidates"]
        names = [display_token(c["token"]) for c in cands]
        cand_ranks = [[c["ranks"][y] for c in cands] for y in range(n_rows)]
        cand_probs = [[c["probs"][y] for c in cands] for y in range(n_rows)]
        after = f"{data['position']}: {tokens[data['position']]}"
        plots.append(grid(
            title=f"Rank of the named tokens after “{after}”",
            x_labels=names,
            y_labels=list(layer_ticks(n_rows).values()),
            values=cand_ranks,
            text=[[str(r) for r in row] for row in cand_ranks],
            hover={
                "layer": [[layers[y]] * len(cands) for y in range(n_rows)],
                "token": [names for _ in range(n_rows)],
                "rank": [[str(r) for r in row] for row in cand_ranks],
                "probability": [[f"{100 * p:.3f}%" for p in row] for row in cand_probs],
            },
            low=1,
            high=RANK_COLOUR_LIMIT,
            log=True,
            reverse=True,
            x_axis_label="named token",
            y_axis_label="layer",
        ))
    return bokeh_figure(column(*plots) if len(plots) > 1 else main)
