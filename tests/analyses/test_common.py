"""What the analyses share: next-token analyses refuse an encoder, probabilities sum to one at every layer,
layers and heads count from the end when negative."""

import pytest
import torch

from lmreport.errors import AnalysisError
from tests.analyses.helpers import compute

PROMPT = "The keys to the cabinet"


def test_next_token_analyses_refuse_an_encoder(bert):
    for name, options in [("rank_evolution", {"prompt": PROMPT}), ("compare_tokens", {"prompt": PROMPT,
                          "tokens": ["a", "b"]}), ("generate", {"prompt": PROMPT})]:
        with pytest.raises(AnalysisError, match=f"{name} needs a model that predicts the next token; bert is an "
                                                "encoder .BertModel."):
            compute(name, bert, **options)


def test_probabilities_sum_to_one_at_every_layer(gpt2):
    from lmreport.analyses.common import probabilities

    for logits in gpt2.lens(gpt2.forward(PROMPT)):
        every = torch.arange(logits.shape[-1]).expand(logits.shape[0], -1)
        total = probabilities(logits, every).sum(-1)
        assert torch.allclose(total, torch.ones_like(total), atol=1e-9)


def test_negative_layers_and_heads_count_from_the_end(gpt2):
    from lmreport import analyses

    attention, neuron_view = analyses.get("attention"), analyses.get("neuron_view")
    forward = gpt2.forward("The capital of France is")
    last = attention.compute(forward, attention.parse_options({"prompt": "x", "layer": -1}), gpt2)
    assert last["layer"] == gpt2.n_layers  # blocks count from 1, as on every page
    view = neuron_view.compute(forward, neuron_view.parse_options(
        {"prompt": "x", "layer": -1, "head": -1, "layers": [1, -1]}), gpt2)
    assert (view["layer"], view["head"], view["layers"]) == (gpt2.n_layers, 3, [1, gpt2.n_layers])
    with pytest.raises(Exception, match=r"layer -9 is out of range: gpt2 has blocks 1 to 3 \(or -1 for the last"):
        attention.compute(forward, attention.parse_options({"prompt": "x", "layer": -9}), gpt2)
