"""The batched forward passes give each prompt the hidden states its own forward pass gives, at its own position,
in one pass per batch of prompts of one length."""

from __future__ import annotations

import pytest
import torch

from lmreport.analyses.probe import states
from tests.analyses.probe.prompts import PROMPTS

MIXED = ["The key", "The keys to the cabinet", "Alice gave a book", "Bob went to", "The capital of France is Paris",
         "1, 1, 2", "The shop", "Then Alice gave a book to Bob"]


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("position", [-1, 0, 1])
def test_batched_states_equal_each_prompts_own_forward_pass(kind, position, request):
    loaded = request.getfixturevalue(kind)
    prompts = MIXED + PROMPTS[:12]
    encoded = [loaded.encode(p) for p in prompts]
    at = [position % len(ids) for ids in encoded]
    before = loaded.forward_count
    batched = states.states_at(loaded, encoded, at)
    assert loaded.forward_count - before == len({len(ids) for ids in encoded})  # one pass per length
    alone = torch.stack([loaded.run_ids(p, ids, {"hidden_states"}).hidden_states[:, a]
                         for p, ids, a in zip(prompts, encoded, at, strict=True)])
    assert batched.shape == (len(prompts), loaded.n_layers + 1, alone.shape[-1]) and batched.dtype == torch.float32
    # the same numbers up to float32 rounding (a batched matrix product may add in another order)
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)


def test_batches_are_cut_to_a_number_of_tokens(gpt2, monkeypatch):
    prompts = PROMPTS[:20]
    encoded = [gpt2.encode(p) for p in prompts]
    at = [len(ids) - 1 for ids in encoded]
    whole = states.states_at(gpt2, encoded, at)
    monkeypatch.setattr(states, "BATCH_TOKENS", 5)  # one or two prompts a batch
    before = gpt2.forward_count
    cut = states.states_at(gpt2, encoded, at)
    lengths = [len(ids) for ids in encoded]
    expected = sum(-(-lengths.count(n) // max(1, 5 // n)) for n in set(lengths))
    assert gpt2.forward_count - before == expected > len(set(lengths))
    torch.testing.assert_close(cut, whole, rtol=1e-5, atol=1e-6)
