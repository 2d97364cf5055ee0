"""How to read each kind of figure: one line shown under it, and a short explanation a click opens."""

from __future__ import annotations

from markupsafe import Markup

BOKEH_TOOLS = ("The toolbar at a chart's right (on a phone, below it) pans, zooms with the wheel or a pinch, resets "
               "the view and saves the chart as a PNG; hovering or tapping a cell or point shows its numbers.")

GUIDE: dict[str, tuple[str, str]] = {
    "attention": (
        "Lines join each token (left) to the tokens it attends to (right); thicker means more attention.",
        "Attention weights are the softmax of each head's query · key scores: every row adds up to 1. The head "
        "view shows one layer with all its heads in colour (click a colour square to show or hide a head; hover "
        "a token to see only its lines). The model view shows every layer (rows) × head (columns): click a "
        "thumbnail to enlarge it. Layers count blocks from 1, as on every page (layer 0 is the embeddings); "
        "heads count from 0.",
    ),
    "attention_heatmap": (
        "Each row is a token, each column a token it may attend to; the darker the cell, the more attention.",
        "Each row adds up to 1 (for the mean of the heads too). Above the diagonal a causal model's grid is empty: "
        "a token cannot look ahead. Choose a layer and one head or the mean of the layer's heads in the menus; "
        "hover a cell for its weight (sent to the page to ±0.002; the figure's data file has the exact numbers).",
    ),
    "neuron_view": (
        "Click ⊕ on a token to see its query, the keys it is compared with, and the attention that follows.",
        "For the chosen layer and head: the query vector of the clicked token, each earlier token's key vector, "
        "their elementwise products and sum (the score), and the softmax of the scores, which is the attention. "
        "Blue is positive, orange negative. Choose the layer and head in the menus above the view.",
    ),
    "topk": (
        "The most likely next tokens, longest bar first; hover a bar for its probability and logit.",
        "Probabilities are the softmax of the model's final logits after the chosen position, divided by the "
        "temperature the chart's title states (1, the model's own distribution, when it states none). "
        "The bars are the top k of the whole vocabulary; the rest of the probability is spread over all other "
        "tokens. " + BOKEH_TOOLS,
    ),
    "logit_lens": (
        "Each cell is the token the model would predict if it stopped at that layer; darker means more probable.",
        "Rows are layers (0: the embeddings, n: the output of block n, the top row the model's real output); "
        "columns are positions in the prompt. Each cell reads the residual stream through the final norm and the "
        "unembedding. Hover a cell for its top few tokens and their probabilities. " + BOKEH_TOOLS,
    ),
    "rank_evolution": (
        "Each cell is a token's rank at that layer (1 is the top); darker means a better rank.",
        "Ranks come from the logit lens at each layer (0: embeddings, n: the output of block n): 1 + the number of "
        "tokens with a larger logit. The first grid follows the token the model finally predicts after each "
        "position; a second grid, when asked for, follows named tokens. " + BOKEH_TOOLS,
    ),
    "compare_tokens": (
        "One line per candidate token across the layers: its rank (top, log scale) and probability (bottom).",
        "Read from left (embeddings) to right (the model's output) to see from which layer a candidate leads. "
        "Ranks and probabilities come from the logit lens. Click a legend entry to hide a line. " + BOKEH_TOOLS,
    ),
    "compare_prompts": (
        "Bars compare the candidates' output probabilities across prompts; lines follow them through the layers.",
        "Each prompt is one group; the log ratio ln(p_a / p_b), when asked for, is above 0 where the first "
        "candidate is the more likely. Per-layer values come from the logit lens. " + BOKEH_TOOLS,
    ),
    "hidden_states": (
        "How the residual stream changes from layer to layer: its size, its similarity to the last layer, and "
        "each token's path in two dimensions.",
        "Norms are the L2 size of each token's vector; cosine similarity compares each layer's vector with the "
        "last layer's (1: same direction). The PCA panel projects every token at every layer onto the two "
        "directions of largest variance; lines join a token's layers. " + BOKEH_TOOLS,
    ),
    "neurons": (
        "The most active MLP neuron per block and token; then the neurons that most raise or lower the "
        "predicted token; then groups of neurons that fire together.",
        "A neuron's value is what the MLP's output projection reads (for gated MLPs, act(gate) × up, which can "
        "be negative). Contributions are direct effects on the logit, with the final norm's scale held at its "
        "value in this pass. Factors come from a non-negative factorization of all values. " + BOKEH_TOOLS,
    ),
    "generate": (
        "Each column is one generated token; rows are the alternatives the model weighed, most likely on top.",
        "● marks the token that was chosen. Probabilities are those of the distribution the token came from "
        "(after the temperature when sampling). " + BOKEH_TOOLS,
    ),
    "attribution": (
        "Each row is one method; a token's colour is its score: blue raised the explained quantity, red lowered it.",
        "Each row is scaled to its own largest score, so compare colours within a row, not across rows. Hover a "
        "token for its score and a method's name for what it measures and what it cost. Methods that disagree "
        "measure different things: a local slope, a path integral, or the effect of removing tokens.",
    ),
    "ablation": (
        "Each row is a variant of the prompt; the table says how the next-token prediction moved.",
        "Struck text was removed and marked text put in its place. Rows are sorted by the KL divergence of the "
        "variant's next-token distribution from the base prompt's (in nats: 0 means unchanged). The small "
        "number beside a probability is its change from the base prompt.",
    ),
    "heads": (
        "Each cell is one attention head's direct push on the answer's logit: blue up, red down.",
        "A head's direct contribution is its output read through the final norm (scale held at this pass's "
        "value) and the unembedding. Heads also act through later layers, which this view does not credit. Click "
        "a head to see where it looked from the last token.",
    ),
    "flow": (
        "The graph shows the routes information took to the prediction; the slider keeps only stronger edges.",
        "Layers go up from the embeddings; each column is a token. An edge's thickness is its share of the "
        "residual stream it joins (L1 proximity; the shares of one sum add up to 1). Click a node or an edge for "
        "the heads or neurons behind it and the tokens they promote.",
    ),
}


def guide_html(analysis: str, data: dict | None = None) -> Markup:
    """The figure's "how to read this" line, expandable to its explanation; empty for an unknown analysis."""
    if analysis == "attention" and (data or {}).get("views") == ["heatmap"]:
        analysis = "attention_heatmap"
    if analysis not in GUIDE:
        return Markup("")
    line, more = GUIDE[analysis]
    return Markup('<details class="how-to-read"><summary>How to read this: {}</summary><p>{}</p></details>').format(
        line, more)
