"""Logit lens checked against the final norm and unembedding applied by hand, per architecture."""

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.logit_lens import values as logit_lens_values
from lmreport.errors import AnalysisError

PROMPT = "The keys to the cabinet"


# Each model with its final norm and unembedding, found here by their names in the model.
MODELS = [
    ("gpt2", lambda m: m.transformer.ln_f, lambda m: m.lm_head),
    ("llama", lambda m: m.model.norm, lambda m: m.lm_head),
    pytest.param("smollm2", lambda m: m.model.norm, lambda m: m.lm_head, marks=pytest.mark.embedded),
]


def by_hand(loaded, prompt, norm, head):
    """Each layer's hidden state -> named final norm -> lm_head -> softmax; last row = real output."""
    enc = loaded.tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = loaded.model(**enc, output_hidden_states=True)
        rows = [torch.softmax(head(norm(h[0])).double(), -1) for h in out.hidden_states[:-1]]
        rows.append(torch.softmax(out.logits[0].double(), -1))
    return torch.stack(rows)


@pytest.mark.parametrize("name, norm, head", MODELS)
def test_each_layer_through_final_norm_and_unembedding(name, norm, head, request):
    loaded = request.getfixturevalue(name)
    lens = analyses.get("logit_lens")
    data = lens.compute(loaded.forward(PROMPT), lens.parse_options({"prompt": PROMPT, "top": 4}), loaded)
    expected = by_hand(loaded, PROMPT, norm(loaded.model), head(loaded.model))
    n_layers = loaded.config.num_hidden_layers
    assert data["layers"] == ["embeddings"] + [f"layer {i}" for i in range(1, n_layers + 1)]
    top = torch.topk(expected, 4, dim=-1)
    assert data["top_ids"] == top.indices.tolist()
    # float32 products summed in another order: agreement to 1e-4 relative
    assert torch.allclose(torch.tensor(data["top_probs"], dtype=torch.float64), top.values, rtol=1e-4, atol=1e-7)
    decoded = loaded.tokenizer.decode([top.indices[0, 0, 0].item()])
    assert data["top_tokens"][0][0][0] == decoded or ("\ufffd" in decoded and "\\x" in data["top_tokens"][0][0][0])


def test_last_row_is_the_models_own_prediction(llama):
    lens = analyses.get("logit_lens")
    data = lens.compute(llama.forward(PROMPT), lens.parse_options({"prompt": PROMPT}), llama)
    enc = llama.tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        argmax = llama.model(**enc).logits[0].argmax(-1).tolist()
    assert [pos[0] for pos in data["top_ids"][-1]] == argmax


def test_final_norm_is_applied(gpt2):
    """Without the norm the middle layers read differently: the lens must not skip it."""
    lens = analyses.get("logit_lens")
    data = lens.compute(gpt2.forward(PROMPT), lens.parse_options({"prompt": PROMPT, "top": 1}), gpt2)
    enc = gpt2.tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        hidden = gpt2.model(**enc, output_hidden_states=True).hidden_states[1][0]
        unnormed = torch.softmax(gpt2.model.lm_head(hidden).double(), -1).max(-1).values
    assert not torch.allclose(torch.tensor([p[0] for p in data["top_probs"][1]], dtype=torch.float64), unnormed)


def test_encoder_has_no_logit_lens(bert):
    lens = analyses.get("logit_lens")
    with pytest.raises(AnalysisError, match="encoder"):
        lens.compute(bert.forward(PROMPT), lens.parse_options({"prompt": PROMPT}), bert)


@pytest.mark.parametrize("name, norm, head", MODELS)
def test_cells_whose_top_token_the_gain_changes(name, norm, head, request):
    """The cells where leaving out the final norm's gain (and bias) gives another top token, found here with the
    norm's weights set to 1 (and its bias to 0) on a copy of the module."""
    import copy


    loaded = request.getfixturevalue(name)
    lens = analyses.get("logit_lens")
    data = lens.compute(loaded.forward(PROMPT), lens.parse_options({"prompt": PROMPT, "top": 1}), loaded)
    plain = copy.deepcopy(norm(loaded.model))
    with torch.no_grad():
        plain.weight.fill_(1.0)
        if getattr(plain, "bias", None) is not None:
            plain.bias.zero_()
        enc = loaded.tokenizer(PROMPT, return_tensors="pt")
        out = loaded.model(**enc, output_hidden_states=True)
        # The residual stream after the last block, before the final norm: the input the norm gets.
        seen = {}
        hook = norm(loaded.model).register_forward_hook(lambda m, args, output: seen.setdefault("x", args[0]))
        loaded.model(**enc)
        hook.remove()
        rows = list(out.hidden_states[:-1]) + [seen["x"]]
        tops = [head(loaded.model)(plain(h[0])).argmax(-1).tolist() for h in rows]
    expected = [[r, p] for r, row in enumerate(tops) for p, top in enumerate(row) if top != data["top_ids"][r][p][0]]
    assert data["gain_changed"] == expected
    assert logit_lens_values.lens_gain_changes(data) == len(expected)
    assert logit_lens_values.lens_cells(data) == len(rows) * len(data["tokens"])
    if name != "smollm2":
        return
    # On SmolLM2 the gain matters: without it some cell's top token differs.
    assert expected
