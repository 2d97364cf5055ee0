"""Every analysis on architectures the course does not use (GPT-NeoX, OPT): numbers or a clear message."""

import pytest
import torch

from lmreport import analyses, models
from lmreport.errors import AnalysisError

from ..conftest import _tokenizer

PROMPT = "The keys to the cabinet"
OPTIONS = {
    "compare_prompts": {"prompts": [PROMPT], "tokens": [" the", " is"]},
    "compare_tokens": {"prompt": PROMPT, "tokens": [" the", " is"]},
    "generate": {"prompt": PROMPT, "new_tokens": 2},
}


@pytest.fixture(scope="module", params=["gpt_neox", "opt"])
def other(request, tmp_path_factory):
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, OPTConfig, OPTForCausalLM

    folder = tmp_path_factory.mktemp(request.param)
    tok = _tokenizer(folder)
    torch.manual_seed(0)
    if request.param == "gpt_neox":
        GPTNeoXForCausalLM(GPTNeoXConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=4, intermediate_size=64,
                                         max_position_embeddings=64)).save_pretrained(folder)
    else:
        OPTForCausalLM(OPTConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                 ffn_dim=64, max_position_embeddings=64,
                                 word_embed_proj_dim=32)).save_pretrained(folder)
    return models.load(models.resolve(str(folder)))


@pytest.mark.parametrize("name", sorted(analyses.REGISTRY))
def test_numbers_or_a_clear_message(other, name):
    analysis = analyses.get(name)
    options = analysis.parse_options(OPTIONS.get(name, {"prompt": PROMPT}))
    try:
        data = analysis.run(other.forward(analysis.prompts(options)[0]), options, other)
    except AnalysisError as e:
        assert name == "neuron_view" and "supports GPT-2, BERT and Llama-style" in str(e)
        return
    assert data


def test_logit_lens_last_row_is_the_output(other):
    lens = analyses.get("logit_lens")
    data = lens.run(other.forward(PROMPT), lens.parse_options({"prompt": PROMPT, "top": 1}), other)
    enc = other.tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        argmax = other.model(**enc).logits[0].argmax(-1).tolist()
    assert [cell[0] for cell in data["top_ids"][-1]] == argmax
    # The first rows go through the model's own final norm: the residual stream's last row, normed and
    # unembedded, gives back the output logits.
    forward = other.forward(PROMPT)
    with torch.no_grad():
        again = other.model.get_output_embeddings()(other.final_norm()(forward.hidden_states[-1]))
    assert torch.allclose(again, forward.logits, atol=1e-4)
