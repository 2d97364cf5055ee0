"""Results are input when they come from a results folder: a result of the right shape whose every text holds
markup (each analysis, every string field) is drawn with that markup as text, never as HTML."""

from __future__ import annotations

import re

import pytest

import lmreport
from lmreport import analyses
from lmreport.result import Result

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>\"'&"
# Texts a view looks up rather than shows (which views, which method, which node): changing them changes what
# is drawn, not how text is escaped; "bytes" are the packed attention weights, checked against the numbers;
# "layers" names the rows of a layer axis, which a consistency check holds to embeddings, layer 1, layer 2...;
# "site", "metric" and "columns" say what patching restored and read, which its check holds to their choices;
# "control_by" says what the probe's control task labels, held to its choices likewise
LOOKUPS = {"views", "focus", "rule", "name", "output", "bytes", "layers", "site", "metric", "columns", "control_by"}
OPTIONS = {
    "attention": {"views": ["head", "model", "heatmap"]},
    "neuron_view": {},
    "topk": {},
    "logit_lens": {},
    "rank_evolution": {"tokens": [" the"]},
    "compare_tokens": {"tokens": [" the", " a"]},
    "compare_prompts": {"prompts": ["The keys to the", "The key to the"], "tokens": [" the", " a"],
                        "ratio": [" the", " a"]},
    "hidden_states": {},
    "neurons": {},
    "generate": {"new_tokens": 3, "attention": True},
    "attribution": {"methods": ["saliency", "occlusion"]},
    "ablation": {"tokens": [" the"]},
    "heads": {},
    "flow": {},
    "hidden_map": {"prompts": ["The keys to the", "The key to the"]},
    "patching": {"replace": ["cabinet", "table"]},
    "probe": {"examples": {"one": ["The keys to the", "The key"], "two": ["Alice gave", "Bob went to"]},
              "folds": 2},
}


def with_markup(value, key=None):
    """Every text of a result (not the texts views look up) with markup appended, the shape kept."""
    if isinstance(value, dict):
        return {k: v if k in LOOKUPS else with_markup(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [with_markup(v, key) for v in value]
    return value + HOSTILE if isinstance(value, str) else value


def test_the_list_covers_every_analysis():
    assert sorted(OPTIONS) == sorted(analyses.NAMES)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_markup_in_every_text_of_a_result_is_drawn_as_text(name, tiny_models):
    options = dict(OPTIONS[name])
    if "prompts" not in options and "examples" not in options:
        options["prompt"] = "The keys to the cabinet are on the table"
    real = lmreport.analyze(name, model=str(tiny_models["gpt2"]), **options)
    data = with_markup(real.data)
    if name == "ablation":  # a variant's text stays the prompt with its change made, as its consistency check asks
        for row in data["rows"][1:]:
            start, end, new = row["change"]
            row["text"] = data["prompt"][:start] + new + data["prompt"][end:]
    analyses.get(name).check(data)  # still the declared shape: only the texts changed
    assert data != real.data
    html = analyses.render(Result(name, real.options, real.model, data), "fig-1").html
    assert re.findall(r"<img src=x|<script>alert", html) == []
