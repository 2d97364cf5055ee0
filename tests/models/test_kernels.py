"""oneDNN for the float32 linear layers of lmreport's passes without gradients (models/kernels.py): the same numbers
as torch's own linear up to float32 rounding, gradients untouched, the model as it was outside the block, and the
build and analyze() running their passes through it."""

from __future__ import annotations

import pytest
import torch

import lmreport
from lmreport import models
from lmreport.build import build
from lmreport.models import kernels
from tests.conftest import opts, write_lesson

pytestmark = pytest.mark.skipif(not kernels.onednn_works(), reason="this torch has no working oneDNN linear")


@pytest.fixture
def counted(monkeypatch):
    """How many products oneDNN computed, and for how many rows in all."""
    calls = {"n": 0, "rows": 0}
    real = kernels._onednn

    def counting(x, weight, bias):
        calls["n"] += 1
        calls["rows"] += x.numel() // x.shape[-1]
        return real(x, weight, bias)

    monkeypatch.setattr(kernels, "_onednn", counting)
    monkeypatch.delenv(kernels.ENV, raising=False)
    return calls


def _linears(model) -> int:
    return sum(type(m) is torch.nn.Linear for m in model.modules())


@pytest.mark.parametrize("kind", ["llama", "bert", "gpt2"])
def test_logits_equal_torch_and_float64_within_rounding(kind, request, counted):
    """Every nn.Linear is routed (Llama's have no bias, BERT's have one; GPT-2's Conv1D are not nn.Linear and stay
    torch's); the outputs equal torch's float32 ones and a float64 copy of the model's within float32 rounding."""
    import copy

    model = request.getfixturevalue(kind).model
    ids = torch.tensor([[5, 17, 3, 42, 8, 11, 29]])

    def output(m):  # the logits, or an encoder's last hidden state
        out = m(input_ids=ids)
        return out.logits if "logits" in out else out.last_hidden_state

    with torch.no_grad():
        stock = output(model)
        exact = output(copy.deepcopy(model).double())
        with kernels.fast_linears(model) as routed:
            fast = output(model)
    assert routed == _linears(model) > 0
    assert counted["n"] >= routed  # each routed layer ran through oneDNN at least once
    scale = float(exact.abs().max())
    assert float((fast.double() - exact).abs().max()) <= 1e-5 * max(1.0, scale)
    assert float((fast - stock).abs().max()) <= 1e-5 * max(1.0, scale)


def test_gradients_are_torchs_own_and_the_model_is_as_it_was_after(llama, counted):
    model = llama.model
    ids = torch.tensor([[5, 17, 3, 42, 8]])
    embeds = model.get_input_embeddings()(ids).detach()

    def gradient():
        x = embeds.clone().requires_grad_(True)
        model(inputs_embeds=x).logits[0, -1].log_softmax(-1)[7].backward()
        return x.grad

    stock = gradient()
    with torch.no_grad():
        before = model(input_ids=ids).logits
    with kernels.fast_linears(model):
        inside = gradient()
        assert counted["n"] == 0  # a pass that records a gradient is torch's
    assert torch.equal(inside, stock)
    assert not any("forward" in m.__dict__ for m in model.modules())
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, before)  # bit for bit torch's again
    assert counted["n"] == 0


def test_blocks_nest_and_the_environment_turns_it_off(llama, counted, monkeypatch):
    model = llama.model
    with kernels.fast_linears(model) as outer:
        with kernels.fast_linears(model) as inner:
            assert inner == 0  # the outer block's layers are left to it
        assert outer > 0 and all("forward" in m.__dict__ for m in model.modules() if type(m) is torch.nn.Linear)
    monkeypatch.setenv(kernels.ENV, "torch")
    with kernels.fast_linears(model) as routed:
        assert routed == 0
        with torch.no_grad():
            model(input_ids=torch.tensor([[1, 2, 3]]))
    assert counted["n"] == 0


def test_any_input_shape_or_stride_gives_torchs_numbers(counted):
    """A vector, a batch of matrices, a transposed or strided input, an empty one: torch's shapes and numbers."""
    layer = torch.nn.Linear(16, 8)
    inputs = [torch.randn(16), torch.randn(3, 16), torch.randn(2, 3, 4, 16), torch.randn(16, 5).t(),
              torch.randn(4, 32)[:, ::2], torch.randn(0, 16)]
    with torch.no_grad(), kernels.fast_linears(torch.nn.Sequential(layer)) as routed:
        assert routed == 1
        for x in inputs:
            got, want = layer(x), torch.nn.functional.linear(x.double(), layer.weight.double(), layer.bias.double())
            assert got.shape == want.shape and got.dtype == torch.float32
            assert torch.allclose(got.double(), want, atol=1e-5), tuple(x.shape)
    assert counted["n"] == len(inputs) - 1  # the empty one is torch's


def test_a_float16_or_bfloat16_layer_stays_torchs():
    layer = torch.nn.Linear(8, 4).to(torch.bfloat16)
    holder = torch.nn.Sequential(layer)
    with kernels.fast_linears(holder) as routed:
        assert routed == 0


def test_analyze_and_the_build_run_their_passes_through_it(tmp_path, tiny_models, counted, forget_models):
    """The forward pass and an analysis's own batched passes (occlusion's packed pass) multiply with oneDNN, and
    the scores still equal running each variant with torch's linear."""
    path = str(tiny_models["llama"])
    data = lmreport.analyze("attribution", prompt="The keys to the cabinet", model=path,
                            methods=["occlusion"]).data
    assert counted["n"] > 0 and counted["rows"] > 0
    loaded = models.load(models.resolve(path))
    ids = torch.tensor([data["input_ids"]])
    target = data["target"]["id"]
    embed = loaded.model.get_input_embeddings()
    with torch.no_grad():
        x = embed(ids)
        baseline = embed(torch.tensor([data["baseline_token"]["id"]]))[0]

        def f(e):
            return float(loaded.model(inputs_embeds=e).logits[0, -1].log_softmax(-1)[target])

        scores = data["methods"][0]["scores"]
        assert len(scores) == ids.shape[1]
        for i, score in enumerate(scores):
            variant = x.clone()
            variant[0, i] = baseline
            assert score == pytest.approx(f(x) - f(variant), abs=1e-5)

    before = counted["n"]
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n\n```lmreport\nanalysis: topk\nprompt: \"A build\"\n```\n")
    build(opts(tmp_path, model=str(tiny_models["gpt2"])))  # GPT-2's one nn.Linear is its unembedding
    assert counted["n"] > before


def test_a_result_computed_with_one_kernel_is_not_served_for_the_other(monkeypatch):
    from lmreport.build.cache import result_key

    def key():
        return result_key({"name": "m"}, "topk", "code", {"k": 4})

    monkeypatch.delenv(kernels.ENV, raising=False)
    default = key()
    monkeypatch.setenv(kernels.ENV, "torch")
    assert key() != default
    monkeypatch.setenv(kernels.ENV, "onednn")
    assert key() == default
