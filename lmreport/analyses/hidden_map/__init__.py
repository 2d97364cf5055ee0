"""The hidden_map analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.hidden_map import compute, values, view
from lmreport.analyses.hidden_map.inputs import MAX_POINTS, HiddenMapAnalysis, LabelledPrompts
from lmreport.analyses.hidden_map.projection import METHODS
from lmreport.analyses.hidden_map.schema import HiddenMapResult, consistent
from lmreport.analyses.options import MAX_PROMPT_CHARS, Option

ANALYSIS = HiddenMapAnalysis(
    name="hidden_map",
    label="A map of hidden states, layer by layer",
    summary=(
        "Hidden states in two dimensions at every layer, with a slider through the layers: one token of each "
        "prompt (coloured by the label of its examples) or every token of one prompt; each layer projected on "
        "its own by PCA (or t-SNE, UMAP), with its share of variance and how well the labels separate."
    ),
    options=(
        Option("prompts", list, None, "the prompts, a point each, e.g. [\"The word is dog\", \"The word is red\"]",
               nullable=True, min_items=2, max_items=MAX_POINTS, max_chars=MAX_PROMPT_CHARS),
        LabelledPrompts("examples", dict, None, "label: list of prompts, a point per prompt coloured by its label, "
                        "e.g. {animal: [\"The word is dog\", ...], colour: [\"The word is red\", ...]}",
                        nullable=True),
        Option("prompt", str, None, "one prompt, a point per token (instead of prompts or examples)",
               nullable=True, max_chars=MAX_PROMPT_CHARS, nonempty=True),
        Option("position", int, -1, "which token of each prompt is its point (-1: the last)", indexes="position"),
        Option("skip_first_token", bool, False,
               "with prompt: leave the first token out (its vector is often huge and would squash the others)"),
        Option("method", str, "pca", "pca (each layer's first two principal axes), tsne (t-SNE) or umap (needs "
               "the umap-learn package)", choices=METHODS),
        Option("layer", int, -1, "the layer the slider opens on (blocks count from 1; -1: the last)",
               indexes="layer"),
        Option("seed", int, 0, "the random seed of tsne and umap (t-SNE starts from the PCA map, so it depends "
               "little on it)", minimum=0, maximum=2**32 - 1),
    ),
    compute=compute.compute,
    schema=HiddenMapResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    script="page.js",
    needs=compute.NEEDS,
    values=values.VALUES,
)
