"""Attention checked against the model's own attention outputs."""

import pytest
import torch

from lmreport import analyses
from lmreport.errors import AnalysisError

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
    from lmreport.analyses import values

    attention = analyses.get("attention")
    data = attention.compute(gpt2.forward(PROMPT), attention.parse_options({"prompt": PROMPT}), gpt2)
    with torch.no_grad():
        out = gpt2.model(**gpt2.tokenizer(PROMPT, return_tensors="pt"), output_attentions=True)
    for layer, block in ((1, 0), (2, 1), (-1, 2)):  # blocks count from 1, as on every page
        first = out.attentions[block][0, :, 1:, 0]  # every head, every query after the first, key 0
        assert values.attention_sink(data, layer) == pytest.approx(float(first.mean()), abs=1e-4)
    with pytest.raises(values.ReferenceProblem, match="layer 0 is out of range"):
        values.attention_sink(data, 0)
