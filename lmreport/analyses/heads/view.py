"""Direct logit attribution per head: a layer × head grid of buttons coloured by contribution (blue raises the
logit, red lowers it), and below it where the chosen head looked from the last token. The pattern of the
strongest head is drawn on the page; assets/heads.js redraws it for the head a reader clicks."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from lmreport.analyses.spec import Rows
from lmreport.result import Result
from lmreport.views.figure import Figure, display_token, display_tokens, script_json, shade_style, signed_style


def pattern_html(tokens: list[str], weights: list[float]) -> Markup:
    """The prompt's tokens, each shaded by the attention the last token gives it."""
    return Markup("").join(
        Markup('<span class="head-token" style="{}" title="{}">{}</span>').format(
            shade_style(w), f"{tok}: {w:.3f}", tok) for tok, w in zip(tokens, weights, strict=True))


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    table = data["contributions"]
    scale = max((abs(v) for row in table for v in row), default=0.0)
    tokens = display_tokens(data["tokens"])
    target = display_token(data["target"]["token"])
    contrast = data.get("contrast")
    what = Markup("logit(<code>{}</code>)").format(target) if not contrast else Markup(
        "logit(<code>{}</code>) − logit(<code>{}</code>)").format(target, display_token(contrast["token"]))
    n_heads = len(table[0]) if table else 0
    head_row = Markup("").join(Markup('<th scope="col">{}</th>').format(h) for h in range(n_heads))
    rows = []
    for layer, row in enumerate(table, 1):  # blocks count from 1, as on every page
        cells = Markup("").join(
            Markup('<td><button type="button" class="head-cell" data-layer="{}" data-head="{}" style="{}"'
                   ' title="layer {}, head {}: {:+.3f}" aria-label="layer {}, head {}: {:+.3f}">{:+.1f}</button></td>'
                   ).format(layer, head, signed_style(v, scale, 0.9), layer, head, v, layer, head, v, v)
            for head, v in enumerate(row))
        rows.append(Markup('<tr><th scope="row">{}</th>{}</tr>').format(layer, cells))
    top = data["top"]
    summary = Markup('<p class="figure-summary">Direct contribution of each head to {} at the last position, the '
                     "final norm's scale held at its value in this forward pass. The model's {} is {:.3f}; all "
                     "heads together contribute {:.3f} (the rest is written directly by the MLPs and the embeddings, "
                     "and biases where the model has them)."
                     "{}</p>").format(what, what, data["logit"], data["heads_total"],
                                      Markup(" The model soft-caps its logits; these are before the cap.")
                                      if data.get("softcap") else "")
    grid = Markup('<div class="table-scroll"><table class="heads-grid"><thead><tr><th scope="col">layer \\ head</th>'
                  "{}</tr></thead><tbody>{}</tbody></table></div>").format(head_row, Markup("\n").join(rows))
    pattern = Markup('<div class="head-pattern" id="{}-pattern"><p class="head-pattern-title">Layer {}, head {} '
                     "(the strongest, {:+.3f}): attention from the last token</p><div class=\"head-tokens\">{}</div>"
                     "</div>").format(figure_id, top["layer"], top["head"], top["value"], tokens and
                                      pattern_html(tokens, data["attention"][top["layer"] - 1][top["head"]]))
    payload = Markup('<script type="application/json" id="{}-heads">{}</script>').format(
        figure_id, Markup(script_json({"tokens": tokens, "attention": data["attention"],
                                       "contributions": table})))
    help_text = Markup('<p class="view-help">Blue raises the logit, red lowers it (scaled to the largest). Click a '
                       "head to see where it looked from the last token. Layers are blocks counted from 1 (layer 0 "
                       "is the embeddings, layer n the output of block n); heads count from 0.</p>")
    # assets/heads.js mounts the grid and the pattern below it from data-lmr-component, with the JSON block's numbers.
    view = Markup('<div class="heads-view" data-lmr-component="heads" data-lmr-data="{}-heads">{}</div>').format(
        figure_id, grid + pattern)
    return Figure(html=str(summary + view + payload + help_text), assets={"heads"})


def table(data: dict[str, Any]) -> Rows:
    rows: Rows = [["layer", "head", "direct_contribution", "quantity"]]
    for layer, row in enumerate(data["contributions"], 1):  # blocks count from 1
        rows.extend([layer, head, value, data["quantity"]] for head, value in enumerate(row))
    return rows


GUIDE = (
    "Each cell is one attention head's direct push on the answer's logit: blue up, red down.",
    "A head's direct contribution is its output read through the final norm (scale held at this pass's "
    "value) and the unembedding. Heads also act through later layers, which this view does not credit. Click "
    "a head to see where it looked from the last token.",
)
