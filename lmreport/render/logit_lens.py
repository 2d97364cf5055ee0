"""Logit lens as a layer × position heatmap of the top token and its probability."""

from __future__ import annotations

from bokeh.models import ColumnDataSource, HoverTool, LinearColorMapper
from bokeh.palettes import Blues256
from bokeh.plotting import figure

from ..result import Result
from .bokeh import bokeh_figure
from .common import Figure, display_token, display_tokens, short


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = display_tokens(data["tokens"])
    layers = data["layers"]
    n_rows, n_pos = len(layers), len(tokens)
    cell_px = max(46, min(86, 820 // max(n_pos, 1)))
    cols: dict[str, list] = {k: [] for k in ("x", "y", "prob", "ink", "cell", "layer", "input", "alternatives")}
    for row in range(n_rows):
        for pos in range(n_pos):
            top_tokens = [display_token(t) for t in data["top_tokens"][row][pos]]
            top_probs = data["top_probs"][row][pos]
            cols["x"].append(pos)
            cols["y"].append(row)
            cols["prob"].append(top_probs[0])
            cols["ink"].append("#ffffff" if top_probs[0] > 0.55 else "#111111")
            cols["cell"].append(short(top_tokens[0], cell_px // 9))
            cols["layer"].append(layers[row] + (" (output)" if row == n_rows - 1 else ""))
            cols["input"].append(f"{pos}: {tokens[pos]}")
            pairs = zip(top_tokens, top_probs, strict=True)
            cols["alternatives"].append("  ".join(f"{t} {100 * p:.1f}%" for t, p in pairs))
    source = ColumnDataSource(cols)
    fig = figure(
        height=90 + 20 * n_rows,
        width=130 + cell_px * n_pos,
        x_range=(-0.5, n_pos - 0.5),
        y_range=(-0.5, n_rows - 0.5),
        title="Top prediction of each layer (final norm + unembedding), colour = its probability",
        tools="save,reset",
        toolbar_location="right",
    )
    mapper = LinearColorMapper(palette=list(reversed(Blues256))[20:200], low=0.0, high=1.0)
    cells = fig.rect(
        x="x",
        y="y",
        width=0.96,
        height=0.92,
        source=source,
        fill_color={"field": "prob", "transform": mapper},
        line_color=None,
    )
    fig.text(
        x="x",
        y="y",
        text="cell",
        source=source,
        text_align="center",
        text_baseline="middle",
        text_font_size="10px",
        text_color="ink",
    )
    fig.xaxis.ticker = list(range(n_pos))
    fig.xaxis.major_label_overrides = {i: short(t, cell_px // 7) for i, t in enumerate(tokens)}
    fig.xaxis.major_label_orientation = 0.6 if n_pos > 8 else 0
    fig.yaxis.ticker = list(range(n_rows))
    fig.yaxis.major_label_overrides = {i: ("emb" if i == 0 else str(i)) for i in range(n_rows)}
    fig.yaxis.axis_label = "layer"
    fig.xaxis.axis_label = "input token (prediction is for the next one)"
    fig.grid.grid_line_color = None
    fig.add_tools(
        HoverTool(
            renderers=[cells],
            tooltips=[("layer", "@layer"), ("input", "@input"), ("top", "@alternatives")],
        )
    )
    return bokeh_figure(fig)
