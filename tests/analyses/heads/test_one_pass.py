"""The heads analysis reads each head's output from the forward pass it is given (one pass per prompt, as the other
analyses), and gives the same numbers, bit for bit, when that pass did not keep them and it runs its own."""

from __future__ import annotations

import pytest
import torch

from lmreport import analyses
from lmreport.models import architecture

PROMPT = "The keys to the cabinet are on the"


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_heads_read_the_shared_pass_and_give_the_same_numbers_without_it(kind, request):
    loaded = request.getfixturevalue(kind)
    spec = analyses.get("heads")
    options = spec.parse_options({"prompt": PROMPT, "target": " the", "contrast": " is"})
    loaded.forget(PROMPT)
    forward = loaded.forward(PROMPT, spec.needs)
    # What the pass kept: each layer's attention output projection's input, all positions.
    seen = {}
    projections = [architecture.attention_output(layer) for layer in architecture.decoder_layers(loaded.model)]
    with torch.no_grad(), architecture.capture_inputs(dict(enumerate(projections))) as captured:
        loaded.model(torch.tensor([forward.input_ids]))
        seen.update(captured)
    assert torch.equal(forward.head_outputs, torch.stack([seen[i][0] for i in range(len(projections))]))
    passes = loaded.forward_count
    shared = spec.compute(forward, options, loaded)
    assert loaded.forward_count == passes  # no pass of its own
    loaded.forget(PROMPT)
    alone = loaded.forward(PROMPT, {"hidden_states", "attentions"})
    assert alone.head_outputs is None
    passes = loaded.forward_count
    assert spec.compute(alone, options, loaded) == shared
    assert loaded.forward_count == passes + 1
    loaded.forget(PROMPT)
