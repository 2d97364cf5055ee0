"""Top-k checked against softmax of the model's own logits, computed here independently."""

import math

import pytest
import torch

from lmreport import analyses
from lmreport.analyses import citing
from lmreport.analyses.topk import values as topk_values
from lmreport.errors import AnalysisError, NotApplicable

PROMPT = "The capital of France is"


def direct_probs(loaded, prompt, position=-1):
    enc = loaded.tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        logits = loaded.model(**enc).logits[0, position].double()
    return torch.softmax(logits, -1), logits


@pytest.mark.parametrize("name", ["gpt2", "llama", pytest.param("smollm2", marks=pytest.mark.embedded)])
def test_topk_matches_softmax_of_logits(name, request):
    loaded = request.getfixturevalue(name)
    topk = analyses.get("topk")
    data = topk.compute(loaded.forward(PROMPT), topk.parse_options({"prompt": PROMPT, "k": 7}), loaded)
    probs, logits = direct_probs(loaded, PROMPT)
    expected = torch.topk(probs, 7)
    assert [p["id"] for p in data["predictions"]] == expected.indices.tolist()
    for p, q, i in zip(data["predictions"], expected.values.tolist(), expected.indices.tolist(), strict=True):
        assert p["prob"] == pytest.approx(q, rel=1e-6)
        assert p["logit"] == pytest.approx(float(logits[i]), abs=1e-5)
        decoded = loaded.tokenizer.decode([i])
        assert p["token"] == decoded or ("\ufffd" in decoded and "\\x" in p["token"])
    assert [p["rank"] for p in data["predictions"]] == list(range(1, 8))
    entropy = float(-(probs * probs.log()).sum())
    assert data["entropy"] == pytest.approx(entropy, rel=1e-6)
    assert data["position"] == len(data["tokens"]) - 1


def test_all_probabilities_sum_to_one(gpt2):
    topk = analyses.get("topk")
    k = gpt2.vocab_size
    data = topk.compute(gpt2.forward(PROMPT), topk.parse_options({"prompt": PROMPT, "k": k}), gpt2)
    assert math.fsum(p["prob"] for p in data["predictions"]) == pytest.approx(1.0, abs=1e-9)
    probs = [p["prob"] for p in data["predictions"]]
    assert probs == sorted(probs, reverse=True)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_temperature_divides_the_logits_before_the_softmax(gpt2, temperature):

    topk = analyses.get("topk")
    options = topk.parse_options({"prompt": PROMPT, "k": 5, "temperature": temperature})
    data = topk.compute(gpt2.forward(PROMPT), options, gpt2)
    _, logits = direct_probs(gpt2, PROMPT)
    probs = torch.softmax(logits / temperature, -1)
    expected = torch.topk(probs, 5)
    assert [p["prob"] for p in data["predictions"]] == pytest.approx(expected.values.tolist(), rel=1e-6)
    assert [p["logit"] for p in data["predictions"]] == pytest.approx(logits[expected.indices].tolist(), abs=1e-5)
    assert data["entropy"] == pytest.approx(float(-(probs * probs.log()).sum()), rel=1e-6)
    assert topk_values.topk_mass(data) == pytest.approx(float(expected.values.sum()), rel=1e-6)
    assert topk_values.topk_mass(data, 2) == pytest.approx(float(expected.values[:2].sum()), rel=1e-6)
    assert citing.prompt_tokens(data) == len(gpt2.tokenizer(PROMPT)["input_ids"])
    assert citing.prompt_token(data, -1) == data["tokens"][-1]
    one = topk.compute(gpt2.forward(PROMPT), topk.parse_options({"prompt": PROMPT, "k": 5}), gpt2)
    # Cooler sharpens, hotter flattens: the entropy moves the way the temperature says.
    assert (data["entropy"] < one["entropy"]) == (temperature < 1)


def test_position_predicts_the_token_after_it(gpt2):
    topk = analyses.get("topk")
    data = topk.compute(gpt2.forward(PROMPT), topk.parse_options({"prompt": PROMPT, "k": 3, "position": 1}), gpt2)
    probs, _ = direct_probs(gpt2, PROMPT, position=1)
    assert [p["id"] for p in data["predictions"]] == torch.topk(probs, 3).indices.tolist()
    assert data["position"] == 1


def test_bounds_are_clear_errors(gpt2, bert):
    topk = analyses.get("topk")
    forward = gpt2.forward(PROMPT)
    with pytest.raises(AnalysisError, match=r"k is 1000, but the vocabulary has only \d+ tokens"):
        topk.compute(forward, topk.parse_options({"prompt": PROMPT, "k": 1000}), gpt2)
    with pytest.raises(AnalysisError, match=r"position 40 is out of range: the prompt has \d+ tokens"):
        topk.compute(forward, topk.parse_options({"prompt": PROMPT, "position": 40}), gpt2)
    with pytest.raises(NotApplicable, match="topk needs a model that predicts the next token; bert is an encoder"):
        topk.compute(bert.forward(PROMPT), topk.parse_options({"prompt": PROMPT}), bert)


def test_partial_utf8_tokens_show_their_bytes(gpt2):
    """A byte-level token that is half of a character reads as escapes, not as '�'."""
    ids = gpt2.tokenizer("é🙂", add_special_tokens=False)["input_ids"]
    texts = gpt2.token_texts(ids)
    assert "\ufffd" not in "".join(texts)
    raw = b"".join(t.encode("utf-8") if "\\x" not in t else bytes.fromhex(t.replace("\\x", "")) for t in texts)
    assert raw.decode("utf-8") == "é🙂"
