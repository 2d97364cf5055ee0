"""Every analysis on architectures the course does not use (GPT-NeoX/Pythia, OPT, Mistral, Qwen2, Phi, Gemma,
Gemma 2): numbers or a clear message, and a final norm and unembedding that give back the model's output."""

import pytest
import torch

from lmreport import analyses, models
from lmreport.errors import AnalysisError
from tests.analyses.helpers import EVERY_PROMPT as PROMPT
from tests.analyses.helpers import options_for
from tests.conftest import _tokenizer

SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 64}
# Tiny random models of each family from a config (no download). Families that share a module layout
# (Llama, Mistral, Qwen2; GPT-NeoX and Pythia) are still each built, since their configs differ.
ARCHITECTURES = {
    "gpt_neox": ("GPTNeoXConfig", "GPTNeoXForCausalLM", {**SMALL, "intermediate_size": 64}),
    "opt": ("OPTConfig", "OPTForCausalLM", {**SMALL, "ffn_dim": 64, "word_embed_proj_dim": 32}),
    "mistral": ("MistralConfig", "MistralForCausalLM", {**SMALL, "intermediate_size": 64, "num_key_value_heads": 2}),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", {**SMALL, "intermediate_size": 64, "num_key_value_heads": 2}),
    "phi": ("PhiConfig", "PhiForCausalLM", {**SMALL, "intermediate_size": 64}),
    "gemma": ("GemmaConfig", "GemmaForCausalLM", {**SMALL, "intermediate_size": 64, "num_key_value_heads": 1,
                                                 "head_dim": 8}),
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", {**SMALL, "intermediate_size": 64, "num_key_value_heads": 2,
                                                    "head_dim": 8, "final_logit_softcapping": 3.0}),
}


FLOW_REFUSED = {"gpt_neox": "side by side", "phi": "side by side", "gemma2": "do not add attention"}


@pytest.fixture(scope="module", params=sorted(ARCHITECTURES))
def other(request, tmp_path_factory):
    import transformers

    config_name, model_name, settings = ARCHITECTURES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    tok = _tokenizer(folder)
    torch.manual_seed(0)
    config = getattr(transformers, config_name)(vocab_size=len(tok), **settings)
    getattr(transformers, model_name)(config).save_pretrained(folder)
    return models.load(models.resolve(str(folder)))


@pytest.mark.parametrize("name", sorted(analyses.REGISTRY))
def test_numbers_or_a_clear_message(other, name):
    analysis = analyses.get(name)
    options = analysis.parse_options(options_for(name))
    try:
        data = analysis.run(other.forward(analysis.prompts(options)[0]), options, other)
    except AnalysisError as e:
        # Information flow needs attention, then the MLP, each added to the residual stream (not side by side, not
        # normed before adding).
        if name == "flow" and other.config.model_type in FLOW_REFUSED:
            assert FLOW_REFUSED[other.config.model_type] in str(e), str(e)
            return
        # The neuron view draws only queries and keys that give back the model's own attention.
        assert name == "neuron_view" and ("supports GPT-2, BERT and Llama-style" in str(e)
                                          or "do not give back its attention" in str(e)
                                          or "cannot recompute the queries and keys" in str(e)), str(e)
        return
    assert data
    if name == "neuron_view":
        q = torch.tensor(data["queries"], dtype=torch.float64)
        k = torch.tensor(data["keys"], dtype=torch.float64)
        scores = q @ k.transpose(-1, -2) * data["scale"]
        n = scores.shape[-1]
        scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
        assert torch.allclose(torch.softmax(scores, -1), torch.tensor(data["attention"], dtype=torch.float64),
                              atol=2e-2)


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
        again = other.soft_cap(other.model.get_output_embeddings()(other.final_norm()(forward.hidden_states[-1])))
    assert torch.allclose(again, forward.logits, atol=1e-4)
    assert torch.allclose(torch.tensor(data["top_probs"][-1], dtype=torch.float64)[:, 0],
                          torch.softmax(forward.logits.double(), -1).max(-1).values, atol=1e-6)


def test_an_unknown_layout_is_named_with_what_is_missing(gpt2, monkeypatch):
    from lmreport.errors import NotApplicable
    from lmreport.models import architecture

    monkeypatch.setattr(architecture, "FINAL_NORM_PATHS", ("no_such_norm",))
    with pytest.raises(NotApplicable, match=r"cannot find the final norm of GPT2LMHeadModel \(looked for "
                                            r"no_such_norm in GPT2Model\)"):
        gpt2.final_norm()


def _direct_logit_matches_output(loaded) -> None:
    """The neurons' direct-logit direction, dotted with the final residual stream (plus the norm's and the
    unembedding's biases), is the model's own output logit: the mapping of the final norm is right."""
    from lmreport.analyses.neurons.compute import direct_logit_direction

    forward = loaded.forward(PROMPT)
    token = int(forward.logits[-1].argmax())
    direction = direct_logit_direction(forward, loaded, len(forward.tokens) - 1, token)
    logit = float(direction @ forward.hidden_states[-1, -1].double())
    norm, unembed = loaded.final_norm(), loaded.model.get_output_embeddings()
    if getattr(norm, "bias", None) is not None:
        logit += float(unembed.weight[token].detach().double() @ norm.bias.detach().double())
    if getattr(unembed, "bias", None) is not None:
        logit += float(unembed.bias[token].detach())
    expected = float(forward.logits[-1, token])
    cap = getattr(loaded.config, "final_logit_softcapping", None)
    if cap:
        expected = float(torch.atanh(torch.tensor(expected / cap, dtype=torch.float64)) * cap)
    assert logit == pytest.approx(expected, abs=1e-3)


def test_direct_logit_direction_gives_back_the_output_logit(other):
    _direct_logit_matches_output(other)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_direct_logit_direction_on_the_course_architectures(kind, request):
    _direct_logit_matches_output(request.getfixturevalue(kind))
