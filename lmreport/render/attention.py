"""BertViz head and model views, drawing from one copy of the attention per figure."""

from __future__ import annotations

from ..result import Result
from .common import Figure, display_tokens, script_json

_VIEW_TITLES = {
    "head": "Head view: one layer; click a head's colour to show or hide it, hover a token to focus it.",
    "model": "Model view: every layer (rows) and head (columns); click a cell to enlarge it.",
}


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    payload = {
        "tokens": display_tokens(data["tokens"]),
        "attention": data["attention"],
        "layer": data["layer"],
    }
    parts = [f'<script type="application/json" id="{figure_id}-data">{script_json(payload)}</script>']
    for view in data["views"]:
        root = f"{figure_id}-{view}"
        select = 'Layer: <select id="layer"></select>' if view == "head" else ""
        parts.append(
            f'<p class="view-help">{_VIEW_TITLES[view]}</p>\n'
            f'<div class="bertviz bertviz-{view}" id="{root}">'
            f'<span style="user-select:none">{select}</span><div id="vis"></div></div>\n'
            f'<script>lmreportBertviz.{view}("{figure_id}-data", "{root}");</script>'
        )
    return Figure(html="\n".join(parts), assets={"bertviz"})
