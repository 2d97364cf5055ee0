"""Information-flow routes: a threshold slider, the graph (drawn page-side by assets/flow.js from the figure's JSON
block, so moving the threshold needs no rebuild) and a panel that explains the clicked node or edge."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from lmreport.analyses.spec import Rows
from lmreport.result import Result
from lmreport.views.figure import Figure, display_token, display_tokens, script_json


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = display_tokens(data["tokens"])
    position = data["position"]
    top = max(0.5, data["threshold"])
    summary = Markup(
        '<p class="figure-summary">Routes from the embeddings to the output of token {} (<code>{}</code>, after '
        "which the model predicts <code>{}</code>). Each block adds to the residual stream twice: attention, a sum "
        "over heads and over the tokens each head reads, then the MLP. An edge's share is its part's L1 proximity "
        "to the sum it is added to, normalised so that the parts of one sum (the incoming residual stream among "
        "them) add up to 1 (Ferrando &amp; Voita, 2024). A route keeps the edges with a share above the threshold, "
        "walking back from the output; biases count with the residual stream.</p>"
    ).format(position, tokens[position], display_token(data["predicted"]["token"]))
    controls = Markup(
        '<div class="flow-controls"><label for="{id}-threshold">Threshold</label> <input type="range" '
        'id="{id}-threshold" class="flow-threshold" min="{floor}" max="{top}" step="0.005" value="{value}"> '
        '<output class="flow-threshold-value" for="{id}-threshold">{value:.3f}</output> '
        '<span class="flow-count" aria-live="polite"></span></div>'
    ).format(id=figure_id, floor=data["floor"], top=top, value=data["threshold"])
    graph = Markup('<div class="flow-scroll"><svg class="flow-graph" role="group" aria-label="information-flow '
                   'graph: layers bottom to top, tokens left to right"></svg></div>')
    details = Markup('<div class="flow-details" aria-live="polite"><p>Click (or focus and press Enter on) a node or '
                     "an edge to see which heads or neurons count most there and which tokens their output "
                     "promotes and suppresses.</p></div>")
    payload = Markup('<script type="application/json" id="{}-flow">{}</script>').format(figure_id, Markup(script_json({
        "tokens": tokens, "position": position, "threshold": data["threshold"], "floor": data["floor"],
        "layers": len(data["ffn"]), "edges": data["edges"], "ffn": data["ffn"], "residual": data["residual"],
        "nodes": data["nodes"], "vocab": display_tokens(data["vocab"]), "output": data["output"]})))
    help_text = Markup(
        '<p class="view-help">Rows: the embeddings at the bottom (emb, layer 0), then for each layer L1, L2, … '
        "(block n makes layer n, as on every page) the residual stream after attention (round) and after the "
        "block (square), with the MLP (diamond) between. Blue edges are attention "
        "(thicker: a larger share), grey ones the residual stream, orange ones the MLP. The threshold only hides "
        "edges: the shares are not renormalised. Edges below {:.3f} were not sent to the page.</p>"
    ).format(data["floor"])
    noscript = Markup("<noscript><p>The graph is drawn by JavaScript; the figure's numbers are in its JSON file."
                      "</p></noscript>")
    # assets/flow.js mounts the controls, graph and details from data-lmr-component, with the JSON block's numbers.
    view = Markup('<div class="flow-view" data-lmr-component="flow" data-lmr-data="{}-flow">{}</div>').format(
        figure_id, controls + graph + details)
    return Figure(html=str(summary + view + payload + help_text + noscript), assets={"flow"})


def table(data: dict[str, Any]) -> Rows:
    """Every edge sent to the page (share at least the floor, on a route at the floor): attention edges, then
    each MLP's and the residual stream's past it, for the positions up to the output."""
    tokens = data["tokens"]
    rows: Rows = [["layer", "kind", "from_position", "from_token", "to_position", "to_token", "share",
                   "top_heads"]]
    for layer, source, target, share, heads, _ in data["edges"]:
        rows.append([layer, "attention", source, tokens[source], target, tokens[target], share,
                     " ".join(f"{h}:{v}" for h, v in heads)])
    for layer, row in enumerate(data["ffn"], 1):  # blocks count from 1
        for position, share in enumerate(row):
            rows.append([layer, "mlp", position, tokens[position], position, tokens[position], share, ""])
            rows.append([layer, "past_mlp", position, tokens[position], position, tokens[position],
                         round(1 - share, 5), ""])
    return rows


GUIDE = (
    "The graph shows the routes information took to the prediction; the slider keeps only stronger edges.",
    "Layers go up from the embeddings; each column is a token. An edge's thickness is its share of the "
    "residual stream it joins (L1 proximity; the shares of one sum add up to 1). Click a node or an edge for "
    "the heads or neurons behind it and the tokens they promote.",
)
