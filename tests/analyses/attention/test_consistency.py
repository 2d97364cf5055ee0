"""Attention results: the page's bytes are packed from the exact weights, and a well-typed result whose parts
disagree with each other or with the model is refused (a results folder from another machine is input)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from lmreport import analyses
from lmreport.analyses.attention.packing import unpack_attention
from lmreport.analyses.schema import ResultShapeError

PROMPT = "one two three four five one two three four five one two"


def run(loaded, name="attention", **options):
    spec = analyses.get(name)
    return spec.run(loaded.forward(PROMPT), spec.parse_options({"prompt": PROMPT, **options}), loaded)


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_each_byte_on_the_page_is_the_exact_weight_rounded_once(kind, request):
    loaded = request.getfixturevalue(kind)
    data = run(loaded, views=["head", "heatmap"])
    exact = loaded.forward(PROMPT).attentions.double().cpu().numpy()
    drawn = unpack_attention(data["packed"])
    # every byte is round(w · 255) of the exact weight, not of the 4-decimal one the JSON keeps (which puts
    # about 0.5% of the bytes a step off)
    assert np.array_equal(np.rint(drawn * 255), np.rint(exact * 255))
    assert np.abs(drawn - exact).max() <= 0.5 / 255 + 1e-9
    rounded = np.asarray(data["attention"])
    assert np.abs(rounded - exact).max() <= 0.5e-4 + 1e-9
    assert data["packed"]["triangle"] is (kind != "bert")


def crafted(spec, data, change):
    bad = copy.deepcopy(data)
    change(bad)
    with pytest.raises(ResultShapeError, match="not consistent"):
        spec.check(bad)


def test_an_attention_result_that_disagrees_with_itself_or_the_model_is_refused(llama):
    import base64

    spec = analyses.get("attention")
    data = run(llama, views=["head", "heatmap"], head=1)
    spec.check(data)
    crafted(spec, data, lambda d: d["input_ids"].pop())
    crafted(spec, data, lambda d: d.update(n_layers=10**9))
    crafted(spec, data, lambda d: d.update(layer=d["n_layers"] + 1))
    crafted(spec, data, lambda d: d.update(head=d["n_heads"]))
    crafted(spec, data, lambda d: d.update(views=["head", "<script>"]))
    crafted(spec, data, lambda d: d.update(kv_heads=d["kv_heads"] + 1))
    crafted(spec, data, lambda d: d.update(focus="everything"))
    crafted(spec, data, lambda d: d["attention"][0][0].pop())  # a ragged matrix
    crafted(spec, data, lambda d: d["attention"][1][0][3].__setitem__(0, 5.0))  # a row adding up to 6
    crafted(spec, data, lambda d: d["packed"].update(shape=[1, 1, 1]))
    crafted(spec, data, lambda d: d["packed"].update(bytes="not base64!"))
    crafted(spec, data, lambda d: d["packed"].update(bytes=d["packed"]["bytes"][:-8]))
    # bytes of the right length that draw another picture than the numbers say
    other = base64.b64encode(bytes(len(base64.b64decode(data["packed"]["bytes"])))).decode()
    crafted(spec, data, lambda d: d["packed"].update(bytes=other))


def test_a_generate_result_that_disagrees_with_itself_or_the_model_is_refused(gpt2):
    spec = analyses.get("generate")
    data = run(gpt2, "generate", new_tokens=4, k=3, attention=True)
    spec.check(data)
    crafted(spec, data, lambda d: d["steps"][0].update(id=d["model_shape"]["vocab"]))
    crafted(spec, data, lambda d: d["steps"][0].update(prob=1.5))
    crafted(spec, data, lambda d: d["steps"][0]["alternatives"].reverse())
    crafted(spec, data, lambda d: d["steps"][0].update(rank=0))
    crafted(spec, data, lambda d: d.update(temperature=0.0))
    crafted(spec, data, lambda d: d["steps"].pop())  # attention then covers a token no step made
    crafted(spec, data, lambda d: d["attention"].update(n_heads=d["attention"]["n_heads"] + 1))
