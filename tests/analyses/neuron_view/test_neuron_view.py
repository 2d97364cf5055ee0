"""neuron_view: the queries and keys it shows give back the model's own attention through the softmax."""

import pytest
import torch

from lmreport import analyses
from lmreport.errors import AnalysisError

PROMPT = "Alice gave a book to Bob"


def compute(loaded, **options):
    analysis = analyses.get("neuron_view")
    parsed = analysis.parse_options({"prompt": PROMPT, **options})
    return analysis.compute(loaded.forward(PROMPT), parsed, loaded)


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert", pytest.param("smollm2", marks=pytest.mark.embedded)])
def test_softmax_of_query_key_products_is_the_attention(kind, request):
    loaded = request.getfixturevalue(kind)
    data = compute(loaded)
    q = torch.tensor(data["queries"], dtype=torch.float64)
    k = torch.tensor(data["keys"], dtype=torch.float64)
    scores = q @ k.transpose(-1, -2) * data["scale"]
    n = scores.shape[-1]
    if not data["bidirectional"]:
        scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
    enc = loaded.tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        attn = torch.stack([a[0] for a in loaded.model(**enc, output_attentions=True).attentions]).double()
    # q and k are rounded to 3 decimals for the page; the softmax of their product stays close.
    assert torch.allclose(torch.softmax(scores, -1), attn, atol=2e-2)
    assert q.shape[:2] == (loaded.config.num_hidden_layers, loaded.config.num_attention_heads)
    assert data["bidirectional"] == (kind == "bert")


def test_exact_before_rounding(llama):
    from lmreport.analyses.neuron_view.compute import queries_keys

    forward = llama.forward(PROMPT)
    q, k = queries_keys(forward, llama, [0, 2])
    scores = (q @ k.transpose(-1, -2)).double() / q.shape[-1] ** 0.5
    n = scores.shape[-1]
    scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
    assert torch.allclose(torch.softmax(scores, -1), forward.attentions[[0, 2]].double(), atol=1e-5)
    assert q.shape[1] == 6 and k.shape[1] == 6  # 2 key heads shared by 6 query heads, repeated


def test_layer_subset_and_bounds(gpt2):
    data = compute(gpt2, layers=[1, 3], layer=3, head=1)  # blocks count from 1, as on every page
    assert data["layers"] == [1, 3] and data["layer"] == 3 and len(data["queries"]) == 2
    # Layer 3 is the model's third block, the one whose output is hidden-state row 3.
    assert torch.allclose(torch.tensor(data["attention"][1]), gpt2.forward(PROMPT).attentions[2].float(), atol=6e-4)
    with pytest.raises(AnalysisError, match="layer 7 is out of range: gpt2 has blocks 1 to 3"):
        compute(gpt2, layers=[1, 7])
    with pytest.raises(AnalysisError, match="layer 0 is out of range"):
        compute(gpt2, layers=[0, 1])
    with pytest.raises(AnalysisError, match=r"layer 2 is not among the layers shown \[1, 3\]"):
        compute(gpt2, layers=[1, 3], layer=2)
    with pytest.raises(AnalysisError, match="head 9 is out of range: gpt2 has heads 0 to 3"):
        compute(gpt2, head=9)


@pytest.mark.parametrize("kind", ["gpt_neox", "opt"])
def test_other_architectures_get_a_clear_message(kind, tmp_path):
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, OPTConfig, OPTForCausalLM

    from lmreport import models
    from tests.conftest import _tokenizer

    tok = _tokenizer(tmp_path)
    if kind == "gpt_neox":
        config = GPTNeoXConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                               intermediate_size=64, max_position_embeddings=64)
        GPTNeoXForCausalLM(config).save_pretrained(tmp_path)
    else:
        config = OPTConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           ffn_dim=64, max_position_embeddings=64, word_embed_proj_dim=32)
        OPTForCausalLM(config).save_pretrained(tmp_path)
    loaded = models.load(models.resolve(str(tmp_path)))
    with pytest.raises(AnalysisError, match=r"the neuron view supports GPT-2, BERT and Llama-style .* is not one"):
        compute(loaded)
