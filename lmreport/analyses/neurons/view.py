"""MLP neurons: most active per token and layer, top contributors to the output token, NMF factors
shown as token highlighting."""

from __future__ import annotations

from bokeh.models import ColumnDataSource, HoverTool
from bokeh.plotting import figure
from markupsafe import escape

from lmreport.errors import short
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, PALETTE, bokeh_figure, grid
from lmreport.views.figure import Figure, display_token, display_tokens, shade_style


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    tokens = display_tokens(data["tokens"])
    n_layers = data["n_layers"]
    values = [[cell[0] for cell in row] for row in data["top_values"]]
    active = grid(
        title="Most active MLP neuron of each block at each token (colour saturates at the 95th percentile)",
        x_labels=tokens,
        y_labels=[str(i) for i in range(1, n_layers + 1)],  # blocks count from 1, as on every page
        values=values,
        text=[[f"{cell[0]:.1f}" for cell in row] for row in data["top_values"]],
        hover={
            "layer": [[str(y)] * len(tokens) for y in range(1, n_layers + 1)],
            "token": [[f"{x}: {t}" for x, t in enumerate(tokens)] for _ in range(n_layers)],
            "top neurons": [
                ["  ".join(f"#{n} {v:.2f}" for n, v in zip(ns, vs, strict=True)) for ns, vs in zip(nrow, vrow,
                                                                                               strict=True)]
                for nrow, vrow in zip(data["top_neurons"], data["top_values"], strict=True)
            ],
        },
        low=min(0.0, min(min(r) for r in values)),
        high=saturation(values),
        x_axis_label="token",
        y_axis_label="layer (block n's MLP, blocks from 1)",
    )
    value = data.get("neuron_value", "the input of the MLP's output projection")
    parts = [f'<p class="figure-summary">A neuron\'s value: {escape(value)}. Layer n is block n\'s MLP, blocks '
             "counted from 1 as on every page (layer 0 is the embeddings, which have no MLP).</p>",
             bokeh_figure(active).html]
    if data["contributions"]:
        parts.append('<p class="figure-summary">Contribution: the neuron\'s value × its output weights read '
                     "through the final norm, with the norm's scale (1/rms) held at its value in this forward pass, "
                     "and the token's unembedding: its direct effect on the logit.</p>")
        parts.append(bokeh_figure(contributions_plot(data["contributions"], tokens)).html)
    parts.append(factors_html(data["factors"], tokens))
    return Figure(html="\n".join(parts), assets={"bokeh"})


def saturation(values: list[list[float]]) -> float:
    """The colour scale's top: the 95th percentile, so that one huge activation does not wash out the rest."""
    flat = sorted(v for row in values for v in row)
    return max(1e-6, flat[int(0.95 * (len(flat) - 1))])


def contributions_plot(contrib: dict, tokens: list[str]):
    neurons = contrib["neurons"]
    labels = [f"L{n['layer']} #{n['neuron']}" for n in neurons]
    source = ColumnDataSource({
        "y": list(range(len(neurons))),
        "contribution": [n["contribution"] for n in neurons],
        "label": labels,
        "activation": [f"{n['activation']:.4f}" for n in neurons],
        "weight": [f"{n['weight']:.4f}" for n in neurons],
        "value": [f"{n['contribution']:+.4f}" for n in neurons],
        "color": [PALETTE[0] if n["contribution"] >= 0 else PALETTE[3] for n in neurons],
    })
    token = display_token(contrib["token"])
    after = tokens[contrib["position"]]
    fig = figure(height=60 + 20 * len(neurons), width=640, y_range=(len(neurons) - 0.5, -0.5),
                 title=f"Neurons that most raise (blue) and lower (red) the logit of {token} "
                 f"after “{short(after, 20)}”",
                 tools="save,reset", toolbar_location="right")
    fig.hbar(y="y", right="contribution", height=0.7, color="color", source=source)
    fig.yaxis.ticker = list(range(len(neurons)))
    fig.yaxis.major_label_overrides = dict(enumerate(labels))
    fig.xaxis.axis_label = "direct effect on the logit"  # what it is exactly: the summary above the chart
    fig.add_tools(HoverTool(tooltips=[("neuron", "@label"), ("activation", "@activation"),
                                      ("weight to logit", "@weight"), ("contribution", "@value")]))
    return fig


def factors_html(factors: dict, tokens: list[str]) -> str:
    """One line of tokens per NMF factor, each token's background as strong as the factor there; beside it, what
    sets the factor apart: the token where it is strongest and the layer it makes the largest part of."""
    rows = []
    for f, (weights, parts) in enumerate(zip(factors["token_weights"], factors["layer_part"], strict=True)):
        spans = "".join(
            f'<span class="factor-token" style="{shade_style(w)}" '
            f'title="factor {f + 1}: {w:.3f}">{escape(t)}</span>'
            for t, w in zip(tokens, weights, strict=True)
        )
        label = factor_label(weights, parts, tokens)
        rows.append(f'<div class="factor-row"><span class="factor-name">factor {f + 1}{label}</span>'
                    f'<span class="factor-tokens">{spans}</span></div>')
    note = " negative values clipped to 0 and" if factors["clipped_negative"] else ""
    return (
        f'<div class="factors"><p class="view-help">Non-negative matrix factorization of all MLP values into '
        f"{factors['n']} factors, largest first, with{note} each layer divided by its root-mean-square value so that "
        "every layer weighs the same: the darker a token, the more the factor is active there. Beside each factor: "
        "the token where it is strongest, and the layer it stands for, as “P% of layer L”: of what the factors "
        "together rebuild of layer L, P% is this factor's, its largest part of any layer (hover for the next "
        f"layers). The factors rebuild the scaled values with a relative error of {factors['relative_error']:.0%}."
        "</p>" + "".join(rows) + "</div>"
    )


def factor_label(weights: list[float], parts: list[float], tokens: list[str]) -> str:
    """The factor's strongest token and its layer (blocks from 1), as small lines under its name."""
    if max(weights, default=0) <= 0 or max(parts, default=0) <= 0:
        return "<small>0 everywhere</small>"
    token = tokens[max(range(len(weights)), key=lambda i: weights[i])]
    ranked = sorted(range(len(parts)), key=lambda i: -parts[i])
    title = "; ".join(f"{parts[i]:.0%} of layer {i + 1}" for i in ranked[:4])
    return (f"<small>strongest on <code>{escape(token)}</code></small>"
            f'<small title="its part of what the factors rebuild of each layer: {title}">{parts[ranked[0]]:.0%} of '
            f"layer {ranked[0] + 1}</small>")


GUIDE = (
    "The most active MLP neuron per block and token; then the neurons that most raise or lower the "
    "predicted token; then groups of neurons that fire together.",
    "A neuron's value is what the MLP's output projection reads (for gated MLPs, act(gate) × up, which can "
    "be negative). Contributions are direct effects on the logit, with the final norm's scale held at its "
    "value in this pass. Factors come from a non-negative factorization of all values, each layer scaled to the "
    "same size first. " + BOKEH_TOOLS,
)
