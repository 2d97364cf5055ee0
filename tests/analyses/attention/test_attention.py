"""Attention checked against the model's own attention outputs."""

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.attention import values as attention_values
from lmreport.errors import AnalysisError
from lmreport.glue.types import ReferenceProblem

PROMPT = "Alice gave a book to Bob"


@pytest.mark.parametrize("name", ["gpt2", "llama", "bert", pytest.param("smollm2", marks=pytest.mark.embedded)])
def test_attention_matches_model_output(name, request):
    loaded = request.getfixturevalue(name)
    attention = analyses.get("attention")
    data = attention.compute(loaded.forward(PROMPT), attention.parse_options({"prompt": PROMPT}), loaded)
    enc = loaded.tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        expected = torch.stack([a[0] for a in loaded.model(**enc, output_attentions=True).attentions]).double()
    got = torch.tensor(data["attention"], dtype=torch.float64)
    assert (
        got.shape
        == expected.shape
        == (
            loaded.config.num_hidden_layers,
            loaded.config.num_attention_heads,
            len(data["tokens"]),
            len(data["tokens"]),
        )
    )
    assert torch.allclose(got, expected, atol=0.5e-4 + 1e-7)
    assert torch.allclose(got.sum(-1), torch.ones(got.shape[:-1], dtype=torch.float64), atol=1e-3)
    assert data["views"] == ["head", "model"]


def test_grouped_query_attention_gives_every_query_head(llama):
    attention = analyses.get("attention")
    data = attention.compute(llama.forward(PROMPT), attention.parse_options({"prompt": PROMPT}), llama)
    assert (data["n_heads"], data["kv_heads"]) == (6, 2)
    att = torch.tensor(data["attention"])
    # Causal: nothing above the diagonal.
    assert float(torch.triu(att, diagonal=1).abs().max()) == 0.0


def test_layer_out_of_range(gpt2):
    attention = analyses.get("attention")
    for layer in (9, 4, 0, -4):  # blocks count from 1: 0 is the embeddings, which have no attention
        with pytest.raises(AnalysisError, match=f"layer {layer} is out of range: gpt2 has blocks 1 to 3"):
            attention.compute(gpt2.forward(PROMPT), attention.parse_options({"prompt": PROMPT, "layer": layer}),
                              gpt2)


def test_layers_count_blocks_from_one(gpt2):
    """The one numbering of every page: layer n is block n (hidden-state row n is its output)."""
    attention = analyses.get("attention")
    forward = gpt2.forward(PROMPT)
    for layer, block in ((1, 0), (3, 2), (-1, 2), (-3, 0)):
        data = attention.compute(forward, attention.parse_options({"prompt": PROMPT, "layer": layer}), gpt2)
        assert data["layer"] == block + 1 and data["layers"] == [1, 2, 3]


def test_the_sink_is_the_mean_attention_to_the_first_token(gpt2):

    attention = analyses.get("attention")
    data = attention.compute(gpt2.forward(PROMPT), attention.parse_options({"prompt": PROMPT}), gpt2)
    with torch.no_grad():
        out = gpt2.model(**gpt2.tokenizer(PROMPT, return_tensors="pt"), output_attentions=True)
    for layer, block in ((1, 0), (2, 1), (-1, 2)):  # blocks count from 1, as on every page
        first = out.attentions[block][0, :, 1:, 0]  # every head, every query after the first, key 0
        assert attention_values.attention_sink(data, layer) == pytest.approx(float(first.mean()), abs=1e-4)
    with pytest.raises(ReferenceProblem, match="layer 0 is out of range"):
        attention_values.attention_sink(data, 0)


def test_pattern_values_against_the_models_own_attention(gpt2):
    """Previous-token, first-token and induction scores, computed here from the model's attention tensors."""

    prompt = "one two three one two three"
    attention = analyses.get("attention")
    data = attention.compute(gpt2.forward(prompt), attention.parse_options({"prompt": prompt}), gpt2)
    with torch.no_grad():
        enc = gpt2.tokenizer(prompt, return_tensors="pt")
        att = torch.stack(gpt2.model(**enc, output_attentions=True).attentions)[:, 0].double()  # [layer, head, q, k]
    ids = enc["input_ids"][0].tolist()
    n = len(ids)
    prev = torch.stack([att[..., t, t - 1] for t in range(1, n)], -1).mean(-1)  # [layer, head]
    first = att[..., 1:, 0].mean(-1)
    pairs = [(t, max(s for s in range(t - 1) if ids[s] == ids[t]) + 1) for t in range(n)
             if any(ids[s] == ids[t] for s in range(t - 1))]
    assert len(pairs) >= 3
    induction = torch.stack([att[..., q, k] for q, k in pairs], -1).mean(-1)
    for name, table in (("previous", prev), ("first", first), ("induction", induction)):
        for layer, head in ((1, 0), (3, 3), (-1, 1)):
            expected = float(table[layer - 1 if layer > 0 else layer, head])
            assert attention_values.attention_pattern(data, name, layer, head) == pytest.approx(expected, abs=2e-4)
        best = int(table.argmax())
        assert attention_values.attention_strongest(data, name) == f"layer {best // 4 + 1}, head {best % 4}"
        assert attention_values.attention_strongest_value(data, name) == pytest.approx(float(table.max()), abs=2e-4)
    with pytest.raises(ReferenceProblem, match="unknown pattern"):
        attention_values.attention_pattern(data, "diagonal", 1, 0)
