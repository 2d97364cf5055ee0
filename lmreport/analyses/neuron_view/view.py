"""The neuron_view figure."""

from __future__ import annotations

from lmreport.result import Result
from lmreport.views.bertviz import _view
from lmreport.views.figure import Figure, display_tokens, script_json


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    payload = {key: data[key] for key in ("attention", "queries", "keys", "layers", "layer", "head", "bidirectional")}
    payload["tokens"] = display_tokens(data["tokens"])
    data_id = f"{figure_id}-data"
    selects = ('<span class="dropdown-label">Layer: </span><select id="layer"></select> '
               '<span class="dropdown-label">Head: </span><select id="att_head"></select>')
    html = (f'<script type="application/json" id="{data_id}">{script_json(payload)}</script>\n'
            + _view("neuron", data_id, f"{figure_id}-neuron", selects))
    return Figure(html=html, assets={"bertviz"})


GUIDE = (
    "Click ⊕ on a token to see its query, the keys it is compared with, and the attention that follows.",
    "For the chosen layer and head: the query vector of the clicked token, each earlier token's key vector, "
    "their elementwise products and sum (the score), and the softmax of the scores, which is the attention. "
    "Blue is positive, orange negative. Choose the layer and head in the menus above the view.",
)
