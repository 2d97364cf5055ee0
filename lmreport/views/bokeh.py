"""Bokeh plots as page fragments that use the site's shared BokehJS (never a CDN), and the plot
shapes several views share: a labelled grid (layer × position) and lines across layers."""

from __future__ import annotations

from typing import Any

from bokeh.embed import components
from bokeh.models import ColumnDataSource, HoverTool, LinearColorMapper, LogColorMapper
from bokeh.palettes import Blues256, Category10_10
from bokeh.plotting import figure
from markupsafe import Markup

from lmreport.errors import short
from lmreport.views.figure import Figure

LIGHT_TO_DARK = list(reversed(Blues256))[20:200]


PALETTE = Category10_10


PRINT_HIDDEN = "@media print { :host { display: none !important; } }"


MIN_WIDTH = 300  # px: narrower than this a chart scrolls sideways in its card instead of shrinking


def bokeh_figure(plot: Any) -> Figure:
    """One chart, or a column of charts, as a page fragment that fits its column: each chart stretches to the
    column's width up to its own (never below MIN_WIDTH, or below the width a grid needs to keep its cells
    readable: then it scrolls sideways), its title is HTML above it so that it wraps instead of being cut, and
    its legend sits below it."""
    from bokeh.layouts import Column
    from bokeh.models import InlineStyleSheet, Toolbar

    plots = list(plot.children) if isinstance(plot, Column) else [plot]
    titles = []
    for chart in plots:
        titles.append(chart.title.text if chart.title is not None else "")
        if chart.title is not None:
            chart.title.text = ""
        natural = chart.width or 600
        chart.sizing_mode = "stretch_width"
        chart.max_width = natural
        chart.min_width = min(natural, max(MIN_WIDTH, chart.min_width or 0))
        for legend in chart.legend:
            legend.location = "top_left"
        # The toolbar lives in Bokeh's shadow DOM, out of reach of the page's print styles: it gets its own.
        for toolbar in chart.select({"type": Toolbar}):
            toolbar.stylesheets = [InlineStyleSheet(css=PRINT_HIDDEN)]
    script, divs = components(tuple(plots))
    # The first chart of each Bokeh document is marked, so a page can tell when all its documents are drawn.
    html = "".join(
        str(Markup('<div class="bk-figure"{}>{}{}</div>\n').format(
            Markup(" data-bk-doc") if i == 0 else "",
            Markup('<p class="chart-title">{}</p>').format(title) if title else "", Markup(div)))
        for i, (title, div) in enumerate(zip(titles, divs, strict=True)))
    return Figure(html=html + script, assets={"bokeh"})


def grid(
    *,
    title: str,
    x_labels: list[str],
    y_labels: list[str],
    values: list[list[float]],
    text: list[list[str]],
    hover: dict[str, list[list[str]]],
    low: float,
    high: float,
    log: bool = False,
    reverse: bool = False,
    x_axis_label: str = "",
    y_axis_label: str = "",
) -> Any:
    """A heatmap: values[y][x] coloured (log scale if asked; reverse: small is dark), text in each cell,
    hover columns (name -> [y][x] strings). Row 0 is drawn at the bottom."""
    n_rows, n_cols = len(y_labels), len(x_labels)
    cell_px = max(46, min(86, 760 // max(n_cols, 1)))
    width = max(130 + cell_px * n_cols, min(900, 7 * len(title) + 80))  # room for the whole title
    cell_px = (width - 130) // max(n_cols, 1)
    palette = list(reversed(LIGHT_TO_DARK)) if reverse else LIGHT_TO_DARK
    mapper_cls = LogColorMapper if log else LinearColorMapper
    mapper = mapper_cls(palette=palette, low=low, high=high)
    cols: dict[str, list[Any]] = {"x": [], "y": [], "value": [], "ink": [], "cell": []}
    cols.update({name: [] for name in hover})
    dark_at = 0.55
    min_width = min(width, 110 + 44 * n_cols)  # narrower, the cells' text would overlap: scroll instead
    # Text is cut to what the narrowest cell the chart can shrink to holds (10 px type, about 6 px a character).
    narrowest = min(cell_px, (min_width - 110) // max(n_cols, 1))
    for y in range(n_rows):
        for x in range(n_cols):
            value = values[y][x]
            cols["x"].append(x)
            cols["y"].append(y)
            cols["value"].append(value)
            cols["cell"].append(short(text[y][x], min(max(3, (narrowest - 6) // 6), 14)))
            cols["ink"].append("#ffffff" if _darkness(value, low, high, log, reverse) > dark_at else "#111111")
            for name, table in hover.items():
                cols[name].append(table[y][x])
    fig = figure(
        height=90 + 20 * n_rows,
        width=width,
        min_width=min_width,
        x_range=(-0.5, n_cols - 0.5),
        y_range=(-0.5, n_rows - 0.5),
        title=title,
        tools="save,reset",
        toolbar_location="right",
    )
    source = ColumnDataSource(cols)
    cells = fig.rect(x="x", y="y", width=0.96, height=0.92, source=source,
                     fill_color={"field": "value", "transform": mapper}, line_color=None)
    fig.text(x="x", y="y", text="cell", source=source, text_align="center", text_baseline="middle",
             text_font_size="10px", text_color="ink")
    fig.xaxis.ticker = list(range(n_cols))
    fig.xaxis.major_label_overrides = {i: "\n".join(short(part, cell_px // 7) for part in t.split("\n"))
                                       for i, t in enumerate(x_labels)}
    fig.xaxis.major_label_orientation = 0.6 if n_cols > 12 or (n_cols > 8 and "\n" not in "".join(x_labels)) else 0
    fig.yaxis.ticker = list(range(n_rows))
    fig.yaxis.major_label_overrides = dict(enumerate(y_labels))
    fig.xaxis.axis_label = x_axis_label
    fig.yaxis.axis_label = y_axis_label
    fig.grid.grid_line_color = None
    fig.add_tools(HoverTool(renderers=[cells], tooltips=[(name, f"@{{{name}}}") for name in hover]))
    if n_rows < 8:  # a grid this short has no room for Bokeh's logo and its three tools: one went behind "⋯"
        fig.toolbar.logo = None
    return fig


def _darkness(value: float, low: float, high: float, log: bool, reverse: bool) -> float:
    import math

    if log:
        value, low, high = (math.log(max(v, 1e-12)) for v in (value, low, high))
    share = 0.0 if high == low else min(1.0, max(0.0, (value - low) / (high - low)))
    return 1 - share if reverse else share


# One layer numbering on every page: 0 is the embeddings, n the residual stream after block n (blocks count from 1).
LAYER_AXIS = "layer (0 = embeddings, n = after block n)"


LEGEND_ROW = 21  # px a legend entry takes (11 px labels and the glyph)


def layer_ticks(n_rows: int) -> dict[int, str]:
    return {i: ("emb" if i == 0 else str(i)) for i in range(n_rows)}


def lines(
    *,
    title: str,
    series: list[dict[str, Any]],
    n_rows: int,
    y_axis_label: str,
    log_y: bool = False,
    flip_y: bool = False,
    width: int = 560,
    height: int = 320,
) -> Any:
    """Lines across layers, one per series {label, values, hover: {name: [str]}}; hover shows the values. The
    legend sits below the plot, one row per series: the chart grows by those rows, so that the plot keeps its
    `height` however many series there are."""
    fig = figure(
        width=width, height=height + LEGEND_ROW * len(series), title=title, tools="save,reset",
        toolbar_location="right", y_axis_type="log" if log_y else "linear", x_range=(-0.5, n_rows - 0.5),
    )
    renderers = []
    for i, s in enumerate(series):
        data = {"layer": list(range(n_rows)), "value": s["values"], "label": [s["label"]] * n_rows}
        data.update(s.get("hover", {}))
        source = ColumnDataSource(data)
        color = PALETTE[i % len(PALETTE)]
        fig.line("layer", "value", source=source, color=color, line_width=2, legend_label=s["label"],
                 line_dash=s.get("dash", "solid"))
        renderers.append(fig.scatter("layer", "value", source=source, color=color, size=5))
    names = list(series[0].get("hover", {})) if series else []
    fig.add_tools(HoverTool(renderers=renderers,
                            tooltips=[("", "@label"), ("layer", "@layer")] + [(n, f"@{{{n}}}") for n in names]))
    if log_y:
        # Every power of ten from 1 up, 1 included (ranks start there; Bokeh's own log ticks may skip it).
        import math

        from bokeh.models import FixedTicker, Range1d

        top = max([max(s["values"]) for s in series if s["values"]] + [10])
        decades = math.ceil(math.log10(top) + 1e-9)
        low, high = 0.8, 10 ** decades * 1.25
        fig.y_range = Range1d(high, low) if flip_y else Range1d(low, high)
        fig.yaxis.ticker = FixedTicker(ticks=[10**k for k in range(decades + 1)])
        fig.yaxis.major_label_overrides = {10**k: f"{10**k:,}" for k in range(decades + 1)}
    elif flip_y:
        fig.y_range.flipped = True
    fig.xaxis.axis_label = LAYER_AXIS
    fig.yaxis.axis_label = y_axis_label
    fig.legend.click_policy = "hide"
    fig.legend.label_text_font_size = "11px"
    fig.add_layout(fig.legend[0], "below")  # below, not beside: the chart keeps its width on a phone
    return fig


BOKEH_TOOLS = ("The toolbar at a chart's right (on a phone, below it) pans, zooms with the wheel or a pinch, resets "
               "the view and saves the chart as a PNG; hovering or tapping a cell or point shows its numbers.")
