"""BertViz head, model and neuron views, drawing from one copy of the numbers per figure."""

from __future__ import annotations

from typing import Any

from lmreport.views.figure import display_tokens, script_json

_VIEW_HELP = {
    "head": "Head view: one layer; click a head's colour to show or hide it, hover a token to focus it.",
    "model": "Model view: every layer (rows) and head (columns); click a cell to enlarge it.",
    "heatmap": "Heatmap: each row is a token (the query), each column a token it can attend to (the key); the "
    "darker the cell, the more attention. Choose a layer, and one head or the mean of the layer's heads; hover a "
    "cell for its weight.",
    "neuron": "Neuron view: pick a layer and head, then click the ⊕ beside a token on the left to open its query, "
    "the keys, their products and the attention that results; hover a token to see its lines.",
}


LAYERS_NOTE = " Layer n is block n, counted from 1 as on every page (0 is the embeddings); heads count from 0."


def _view(view: str, data_id: str, root: str, selects: str) -> str:
    """A BertViz view: bertviz-glue.js mounts it from its data-lmr-component, with the numbers of data_id's block."""
    return (
        f'<p class="view-help">{_VIEW_HELP[view]}{LAYERS_NOTE}</p>\n'
        f'<div class="bertviz bertviz-{view}" id="{root}" data-lmr-component="{view}" data-lmr-data="{data_id}" '
        f'tabindex="0" role="region" aria-label="{view} view">'
        f'<span style="user-select:none">{selects}</span><div id="vis"></div></div>'
    )


def views_html(data: dict[str, Any], figure_id: str) -> str:
    payload = {"tokens": display_tokens(data["tokens"]), "packed": data["packed"],
               "layer": data["layer"], "head": data.get("head")}
    data_id = f"{figure_id}-data"
    parts = [f'<script type="application/json" id="{data_id}">{script_json(payload)}</script>']
    for view in data["views"]:
        if view == "heatmap":
            parts.append(_heatmap(data_id, f"{figure_id}-heatmap"))
            continue
        select = 'Layer: <select id="layer"></select>' if view == "head" else ""
        parts.append(_view(view, data_id, f"{figure_id}-{view}", select))
    return "\n".join(parts)


def _heatmap(data_id: str, root: str) -> str:
    """The heatmap view: menus for the layer and the head (or the layer's mean), drawn by bertviz-glue.js."""
    return (
        f'<p class="view-help">{_VIEW_HELP["heatmap"]}{LAYERS_NOTE}</p>\n'
        f'<div class="attention-heatmap" id="{root}" data-lmr-component="heatmap" data-lmr-data="{data_id}">'
        f'<div class="heatmap-menus">'
        f'<label>Layer <select class="heatmap-layer"></select></label> '
        f'<label>Head <select class="heatmap-head"></select></label></div>'
        f'<div class="heatmap-scroll" tabindex="0" role="region" aria-label="heatmap">'
        f'<div class="heatmap-grid" role="img"></div></div></div>'
    )
