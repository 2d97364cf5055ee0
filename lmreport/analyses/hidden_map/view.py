"""A map of hidden states: one Bokeh scatter whose data source holds every layer's coordinates (columns x0, y0,
x1, y1, ...), drawn at the opening layer; the layer slider above it is an HTML range input, and assets/hidden_map.js
copies the chosen layer's columns into the plotted x and y (and that layer's ranges) page-side. BokehJS's
widgets live in a bundle the site does not load; a range input needs none, and works from file:// too."""

from __future__ import annotations

from typing import Any

from bokeh.core.properties import value
from bokeh.models import CDSView, ColumnDataSource, HoverTool, IndexFilter, Legend, LegendItem, Range1d
from bokeh.plotting import figure
from markupsafe import Markup

from lmreport.analyses.spec import Rows
from lmreport.errors import short
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, PALETTE, bokeh_figure
from lmreport.views.figure import Figure, display_token, script_json

METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
MAX_WRITTEN = 60  # points whose token is written beside them; more would cover the map
WORD_FONT = ("11px", "helvetica")  # the words written beside the points (BokehJS's default face), and their offset
WORD_OFFSET = 6  # in pixels; page.js widens the x axis, at the chart's width on the page, until every word fits
PAD = 0.08  # of a layer's extent, around its points (and more on the right, for the words written there)


def _method(data: dict[str, Any]) -> str:
    return METHOD_NAMES.get(data["method"], data["method"])


def layer_label(row: int, n_rows: int) -> str:
    if row == 0:
        return "layer 0 (the embeddings)"
    if row == n_rows - 1:
        return f"layer {row} (after the last block, before the final norm)"
    return f"layer {row} (after block {row})"


def captions(data: dict[str, Any]) -> list[str]:
    """What the slider's readout says at each layer: the layer, PCA's shares of variance, the separation."""
    n_rows = len(data["layers"])
    out = []
    for row in range(n_rows):
        parts = [layer_label(row, n_rows)]
        if data["variance"] is not None:
            first, second = data["variance"][row]
            parts.append(f"PC1 {first:.0%} and PC2 {second:.0%} of the variance")
        if data["separation"] is not None:
            parts.append(f"separation {data['separation'][row]:.2f}")
        out.append(": ".join(parts[:2]) + "".join(f"; {p}" for p in parts[2:]))
    return out


def writes_words(data: dict[str, Any]) -> bool:
    """Whether each point's token is written beside it (few enough points for the words not to cover the map)."""
    return len(data["points"]) <= MAX_WRITTEN


def ranges(coords: list[list[list[float]]]) -> list[list[float]]:
    """[x start, x end, y start, y end] of each layer: its points with a margin, more on the right."""
    out = []
    for row in coords:
        xs, ys = [p[0] for p in row] or [0.0], [p[1] for p in row] or [0.0]
        width, height = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
        out.append([min(xs) - PAD * width, max(xs) + 2.5 * PAD * width,
                    min(ys) - PAD * height, max(ys) + PAD * height])
    return out


def _columns(data: dict[str, Any], row: int) -> dict[str, list[Any]]:
    points, coords = data["points"], data["coords"]
    tokens = [display_token(p["token"]) for p in points]
    columns: dict[str, list[Any]] = {
        "x": [xy[0] for xy in coords[row]], "y": [xy[1] for xy in coords[row]],
        "token": tokens, "written": [short(t, 14) for t in tokens],
        "prompt": [short(data["prompts"][p["prompt"]], 80) for p in points],
        "label": [data["labels"][p["label"]] if p["label"] is not None else "" for p in points],
        "position": [str(p["position"]) for p in points],
    }
    for layer, layer_coords in enumerate(coords):
        columns[f"x{layer}"] = [xy[0] for xy in layer_coords]
        columns[f"y{layer}"] = [xy[1] for xy in layer_coords]
    return columns


def _plot(data: dict[str, Any], figure_id: str, row: int) -> Any:
    start = ranges(data["coords"])[row]
    source = ColumnDataSource(_columns(data, row), name=f"{figure_id}-points")
    # No chart title: the summary says what is drawn, and the slider stays right above the points it moves.
    fig = figure(width=680, height=460, tools="pan,wheel_zoom,box_zoom,save,reset", name=f"{figure_id}-plot",
                 toolbar_location="right", x_range=Range1d(start[0], start[1], name=f"{figure_id}-x"),
                 y_range=Range1d(start[2], start[3], name=f"{figure_id}-y"))
    labels = data["labels"]
    groups = [(label, [i for i, p in enumerate(data["points"]) if p["label"] == k]) for k, label in
              enumerate(labels)] if labels else [("", list(range(len(data["points"]))))]
    write = writes_words(data)
    items, dots = [], []
    for k, (label, members) in enumerate(groups):
        view = CDSView(filter=IndexFilter(members))
        color = PALETTE[k % len(PALETTE)]
        dot = fig.scatter("x", "y", source=source, view=view, size=9, color=color, alpha=0.85)
        drawn = [dot]
        if write:
            drawn.append(fig.text("x", "y", text="written", source=source, view=view, x_offset=WORD_OFFSET,
                                  text_baseline="middle", text_font=value(WORD_FONT[1]), text_font_size=WORD_FONT[0],
                                  text_color=color))
        dots.append(dot)
        items.append(LegendItem(label=label, renderers=drawn))
    tips = [("token", "@token"), ("position", "@position")] if data["tokens_of_one_prompt"] else \
        [("prompt", "@prompt"), ("token", "@token (position @position)")]
    fig.add_tools(HoverTool(renderers=dots, tooltips=tips + ([("label", "@label")] if labels else [])))
    axes = ("PC1", "PC2") if data["method"] == "pca" else (f"{_method(data)} 1", f"{_method(data)} 2")
    fig.xaxis.axis_label, fig.yaxis.axis_label = axes
    if labels:
        legend = Legend(items=items, click_policy="hide", label_text_font_size="11px", orientation="horizontal")
        fig.add_layout(legend, "below")
    return fig


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    n_rows = len(data["layers"])
    row = min(max(data["layer"], 0), n_rows - 1)
    texts = captions(data)
    chart = bokeh_figure(_plot(data, figure_id, row))
    which = "every token of the prompt" if data["tokens_of_one_prompt"] else \
        "one token of each prompt (the same position in each: by default its last)"
    method = _method(data) + (f" (seed {data['seed']})" if data["seed"] is not None else "")
    summary = Markup(
        '<p class="figure-summary">Each point is the hidden state (the residual stream) of {} at the layer the '
        "slider picks (0: the embeddings; n: the stream after block n; the last is before the final norm), "
        "projected to two dimensions by {} of that layer's points alone.</p>").format(which, method)
    controls = Markup(
        '<div class="hidden-map-controls" style="display:flex;flex-wrap:wrap;gap:.3rem .6rem;align-items:center;'
        'margin:.4rem 0"><label for="{id}-layer">Layer</label> <input type="range" id="{id}-layer" '
        'class="hidden-map-layer" min="0" max="{top}" step="1" value="{row}" aria-valuetext="{text}" '
        'style="flex:0 1 22rem;min-width:8rem"> <output class="hidden-map-readout" for="{id}-layer" '
        'aria-live="polite">{text}</output></div>').format(id=figure_id, top=n_rows - 1, row=row, text=texts[row])
    payload = Markup('<script type="application/json" id="{}-map">{}</script>').format(
        figure_id, Markup(script_json({
            "source": f"{figure_id}-points", "x": f"{figure_id}-x", "y": f"{figure_id}-y", "plot": f"{figure_id}-plot",
            "ranges": ranges(data["coords"]), "captions": texts, "written": writes_words(data),
            "font": " ".join(WORD_FONT), "offset": WORD_OFFSET})))
    # assets/hidden_map.js mounts the slider from data-lmr-component, with the JSON block's names and ranges.
    view = Markup('<div class="hidden-map" data-lmr-component="hidden_map" data-lmr-data="{}-map">{}{}</div>'
                  ).format(figure_id, controls, Markup(chart.html))
    return Figure(html=str(summary + view + payload), assets={"bokeh", "hidden_map"})


def table(data: dict[str, Any]) -> Rows:
    rows: Rows = [["layer", "point", "label", "x", "y", "token", "prompt"]]
    for layer, coords in enumerate(data["coords"]):  # rows as on the slider: 0 the embeddings
        for i, (point, (x, y)) in enumerate(zip(data["points"], coords, strict=True)):
            label = data["labels"][point["label"]] if point["label"] is not None else ""
            rows.append([layer, i, label, x, y, point["token"], data["prompts"][point["prompt"]]])
    return rows


GUIDE = (
    "Hidden states as points in two dimensions, layer by layer: move the slider to watch them regroup.",
    "Each layer gets its own projection of its own points, drawn at its own scale: distances compare within a "
    "layer, not across layers. With PCA the axes are the layer's first two principal axes (PC1, PC2; the readout "
    "gives the share of the points' variance each shows, the rest is out of the picture); with t-SNE or UMAP "
    "only neighbourhoods mean something, not the axes or the distances between far groups. An axis's sign means "
    "nothing: each is oriented to agree with the layer below, so points move only as much as the layers differ. "
    "The separation, where points are labelled, is the silhouette score of the labels in the full hidden state "
    "(-1 to 1; above 0, points are nearer their own label's than another's). " + BOKEH_TOOLS,
)
