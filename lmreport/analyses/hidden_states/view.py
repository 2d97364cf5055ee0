"""Hidden states: norm per layer and position, cosine similarity to the last layer, PCA trajectories."""

from __future__ import annotations

from bokeh.layouts import column
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.plotting import figure

from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, LAYER_AXIS, PALETTE, bokeh_figure, grid, layer_ticks
from lmreport.views.figure import Figure, display_tokens


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = display_tokens(data["tokens"])
    layers = data["layers"]
    n_rows = len(layers)
    y_labels = list(layer_ticks(n_rows).values())
    layer_hover = [[layers[y]] * len(tokens) for y in range(n_rows)]
    token_hover = [[f"{x}: {t}" for x, t in enumerate(tokens)] for _ in range(n_rows)]
    norms = data["norms"]
    norm_grid = grid(
        title="Length (L2 norm) of each token's hidden state",
        x_labels=tokens, y_labels=y_labels, values=norms,
        text=[[f"{v:.0f}" if v >= 10 else f"{v:.1f}" for v in r] for r in norms],
        hover={"layer": layer_hover, "token": token_hover, "norm": [[f"{v:.3f}" for v in r] for r in norms]},
        low=max(1e-6, min(min(r) for r in norms)), high=max(max(r) for r in norms), log=True,
        x_axis_label="token", y_axis_label=LAYER_AXIS,
    )
    cos_last = data["cos_last"]
    cos_next = data["cos_next"] + [[1.0] * len(tokens)]
    cos_grid = grid(
        title="Cosine similarity of each layer to the last layer",
        x_labels=tokens, y_labels=y_labels, values=cos_last,
        text=[[f"{v:.2f}" for v in r] for r in cos_last],
        hover={
            "layer": layer_hover, "token": token_hover,
            "cos to last": [[f"{v:.4f}" for v in r] for r in cos_last],
            "cos to next layer": [[f"{v:.4f}" for v in r] for r in cos_next[:-1]] + [["—"] * len(tokens)],
        },
        low=min(0.0, min(min(r) for r in cos_last)), high=1.0,
        x_axis_label="token", y_axis_label=LAYER_AXIS,
    )
    return bokeh_figure(column(norm_grid, cos_grid, pca_plot(data, tokens)))


def pca_plot(data: dict, tokens: list[str]):
    pca = data["pca"]
    ratio = pca["explained_variance_ratio"] + [0.0, 0.0]
    fig = figure(width=760, height=460, tools="pan,wheel_zoom,box_zoom,save,reset", toolbar_location="right",
                 title=f"Each token's path through the layers, PCA of all hidden states "
                       f"(PC1 {100 * ratio[0]:.0f}%, PC2 {100 * ratio[1]:.0f}% of variance)")
    first = pca["first_position"]
    renderers = []
    for offset, token in enumerate(tokens[first:]):
        pos = first + offset
        path = [pca["points"][layer][offset] for layer in range(len(data["layers"]))]
        source = ColumnDataSource({
            "x": [p[0] for p in path], "y": [p[1] for p in path],
            "layer": data["layers"], "token": [f"{pos}: {token}"] * len(path),
            "size": [4 + 8 * i / max(1, len(path) - 1) for i in range(len(path))],
        })
        color = PALETTE[offset % len(PALETTE)]
        fig.line("x", "y", source=source, color=color, alpha=0.5, legend_label=f"{pos}: {token}")
        renderers.append(fig.scatter("x", "y", size="size", source=source, color=color, alpha=0.8,
                                     legend_label=f"{pos}: {token}"))
    fig.add_tools(HoverTool(renderers=renderers, tooltips=[("token", "@token"), ("layer", "@layer")]))
    fig.xaxis.axis_label = "PC1"
    fig.yaxis.axis_label = "PC2 (dots grow with depth)"
    fig.legend.click_policy = "hide"
    fig.legend.label_text_font_size = "10px"
    fig.add_layout(fig.legend[0], "below")
    return fig


GUIDE = (
    "How the residual stream changes from layer to layer: its size, its similarity to the last layer, and "
    "each token's path in two dimensions.",
    "Norms are the L2 size of each token's vector; cosine similarity compares each layer's vector with the "
    "last layer's (1: same direction). The PCA panel projects every token at every layer onto the two "
    "directions of largest variance; lines join a token's layers. " + BOKEH_TOOLS,
)
