"""Top-k next tokens as a horizontal Bokeh bar chart with hover values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bokeh.models import ColumnDataSource, HoverTool
from bokeh.plotting import figure
from markupsafe import Markup

from lmreport.analyses.spec import Rows
from lmreport.errors import short
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, bokeh_figure
from lmreport.views.figure import Figure, display_token, display_tokens

if TYPE_CHECKING:
    from lmreport.analyses.linking import Linked
    from lmreport.analyses.try_prompt import TryPrompt

LABEL_ROOM = 1.18  # an axis fitted to the bars runs this far past the longest, so that its label fits after it


def axis_end(result: Result) -> float:
    """Where the block's own probability axis ends: at xmax when every bar fits there, else past its longest bar
    and never past 1 (a bar longer than xmax extends the axis: compute() notes it, and the build warns)."""
    top = max(1e-9, result.data["predictions"][0]["prob"])
    xmax = result.options.get("xmax")
    return xmax if xmax is not None and top <= xmax else min(1.0, top * LABEL_ROOM)


def shared_axis(result: Result, others: list[Linked]) -> Result:
    """The result as drawn with the topk blocks scale_with links it to: one axis for all, ending where the longest
    of their own axes ends (so it holds the largest probability among them, and the largest xmax)."""
    if "predictions" not in result.data:
        return result  # not drawn on this model
    ends, shown = [axis_end(result)], []
    for other in others:
        try:
            ends.append(axis_end(other.result))
        except (KeyError, IndexError, TypeError):  # a block not drawn on this model shares nothing
            continue
        shown.append([other.anchor, other.title])
    if not shown:
        return result
    options = {**result.options, "shared_axis": {"end": max(ends), "with": shown}}
    return Result(result.analysis, options, result.model, result.data)


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    preds = data["predictions"]
    tokens = display_tokens(data["tokens"])
    after = short("".join(tokens[: data["position"] + 1]), 60)
    shared = result.options.get("shared_axis")
    end = max(axis_end(result), shared["end"]) if shared else axis_end(result)
    # A bar whose label would not fit after it before the axis ends (an axis fixed by xmax or shared) has it inside.
    inside = [p["prob"] * LABEL_ROOM > end * (1 + 1e-9) for p in preds]
    source = ColumnDataSource(
        {
            "rank": [p["rank"] for p in preds],
            "token": [display_token(p["token"]) for p in preds],
            "prob": [p["prob"] for p in preds],
            "percent": [f"{100 * p['prob']:.2f}%" for p in preds],
            "logit": [f"{p['logit']:.3f}" for p in preds],
            "label": [f"{100 * p['prob']:.1f}%" for p in preds],
            "align": ["right" if i else "left" for i in inside],
            "offset": [-4 if i else 4 for i in inside],
            "ink": ["#ffffff" if i else "#444444" for i in inside],
        }
    )
    k = len(preds)
    fig = figure(
        height=70 + 26 * k,
        sizing_mode="stretch_width",
        x_range=(0, end),
        y_range=(k + 0.6, 0.4),
        title=f"Next token after “{after}”" + ("" if data.get("temperature", 1.0) == 1.0 else
                                                f" at temperature {data['temperature']:g}: softmax(logits / "
                                                f"{data['temperature']:g})"),
        tools="save,reset",
        toolbar_location="right",
    )
    fig.hbar(y="rank", right="prob", height=0.72, source=source, color="#3b6fb6", hover_color="#f28e2b")
    fig.text(x="prob", y="rank", text="label", source=source, x_offset="offset", text_align="align",
             text_color="ink", text_baseline="middle", text_font_size="11px")
    fig.yaxis.ticker = list(range(1, k + 1))
    fig.yaxis.major_label_overrides = {p["rank"]: display_token(p["token"]) for p in preds}
    fig.xaxis.axis_label = "probability"
    fig.ygrid.grid_line_color = None
    fig.add_tools(
        HoverTool(tooltips=[("rank", "@rank"), ("token", "@token"), ("probability", "@percent"), ("logit", "@logit")])
    )
    drawn = bokeh_figure(fig)
    return Figure(html=drawn.html + _axis_note(result, end), assets=drawn.assets)


def _percent(x: float) -> str:
    return f"{100 * x:.3g}%"


def _axis_note(result: Result, end: float) -> str:
    """The line under a chart whose axis is not fitted to its own bars: shared with which figures, or fixed."""
    shared, xmax = result.options.get("shared_axis"), result.options.get("xmax")
    if shared:
        links = [Markup('<a href="#{}">{}</a>').format(anchor, title) for anchor, title in shared["with"]]
        named = links[0] if len(links) == 1 else Markup(", ").join(links[:-1]) + Markup(" and ") + links[-1]
        return str(Markup('<p class="axis-note">Probability axis shared with {} (0 to {}): bar lengths compare '
                          'across these figures.</p>').format(named, _percent(end)))
    if xmax is not None:
        why = "fixed by xmax" if end == xmax else f"extended past xmax ({_percent(xmax)}) to fit the longest bar"
        return str(Markup('<p class="axis-note">Probability axis 0 to {}, {}.</p>').format(_percent(end), why))
    return ""


def try_prompt(result: Result) -> TryPrompt | None:
    """The reader's prompt in the page: the box starts with the text the figure predicts after (the prompt up to the
    block's position), the twin is this chart with the axis its own bars need (try.js applies xmax as axis_end does)."""
    from lmreport.analyses.try_prompt import TryPrompt

    data = result.data
    if "predictions" not in data:
        return None
    position = data["position"]
    prompt = result.options["prompt"] if position == len(data["tokens"]) - 1 else "".join(data["tokens"][:position + 1])
    twin = Result(result.analysis, {k: v for k, v in result.options.items() if k not in ("xmax", "shared_axis")},
                  result.model, data)
    built = {"ids": data["input_ids"][:position + 1], "temperature": data["temperature"],
             "next": [[p["id"], p["prob"]] for p in data["predictions"]]}
    return TryPrompt(prompt, {"k": len(data["predictions"]), "xmax": result.options.get("xmax"),
                              "label_room": LABEL_ROOM, "built": built}, twin, temperature=data["temperature"])


def table(data: dict[str, Any]) -> Rows:
    return [["rank", "token", "token_id", "probability", "logit"]] + [
        [p["rank"], p["token"], p["id"], p["prob"], p["logit"]] for p in data["predictions"]]


GUIDE = (
    "The most likely next tokens, longest bar first; hover a bar for its probability and logit.",
    "Probabilities are the softmax of the model's final logits after the chosen position, divided by the "
    "temperature the chart's title states (1, the model's own distribution, when it states none). "
    "The bars are the top k of the whole vocabulary; the rest of the probability is spread over all other "
    "tokens. Each chart's probability axis fits its own bars, unless the block fixes it (xmax) or shares it with "
    "other charts of the page (scale_with): the line under the chart then says so, and bar lengths compare across "
    "the charts that share it. " + BOKEH_TOOLS,
)
