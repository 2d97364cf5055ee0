"""The gain test's shortcuts (logit_lens/screen.py: witness tokens, then a bfloat16 screen) give each row's top token
exactly as the full float32 product's argmax does, ties and chunks included, and the lens's numbers are the same
with and without them; the lens's blocked unembedding gives the same bits as one product."""

from __future__ import annotations

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.logit_lens import compute, screen

PROMPT = "The keys to the cabinet"


class Derived:
    """What the screen asks of a loaded model: values derived from the weights, computed once."""

    def __init__(self) -> None:
        self.kept: dict = {}

    def derived(self, name, make):
        return self.kept.setdefault(name, make())


def full_argmax(x, weight, per_chunk):
    return torch.cat([torch.nn.functional.linear(x[s:s + per_chunk], weight).argmax(-1)
                      for s in range(0, len(x), per_chunk)])


def awkward_unembedding(vocab=1000, d=48):
    """A vocabulary that is no whole number of blocks, with exact ties (a row repeated at a lower and a higher id)
    and near ties (a row nudged by one float32 step)."""
    torch.manual_seed(0)
    weight = torch.randn(vocab, d) * torch.rand(vocab, 1) * 2
    weight[700] = weight[5]  # a tie: argmax takes id 5
    weight[3] = weight[900]  # a tie: argmax takes id 3
    weight[801] = torch.nextafter(weight[400], weight[400] + 1)
    return _linear(weight)


def _linear(weight):
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer


@pytest.mark.parametrize("per_chunk", [7, 1000])
def test_top_tokens_and_differs_match_the_full_products_argmax(per_chunk):
    unembed = awkward_unembedding()
    weight = unembed.weight.detach()
    torch.manual_seed(1)
    x = torch.randn(60, weight.shape[1])
    x[10] = weight[5] * 3  # its top token is tied between ids 5 and 700
    x[11] = weight[900]  # tied between 3 and 900
    x[12] = weight[400] + weight[801]  # a near tie
    x[13] = 0  # every logit 0: argmax takes id 0
    expected = full_argmax(x, weight, per_chunk)
    assert expected[10] == 5 and expected[11] == 3 and expected[13] == 0
    model = Derived()
    every = torch.arange(len(x))
    assert torch.equal(screen.top_tokens(model, unembed, x, per_chunk, every), expected)
    some = torch.tensor([0, 10, 11, 12, 13, 59])
    assert torch.equal(screen.top_tokens(model, unembed, x, per_chunk, some), expected[some])
    # differs() against the tops of the lens: some rows' own top, some another token, some a token tied with it.
    tops = expected.clone()
    tops[::3] = (tops[::3] + 1) % weight.shape[0]
    tops[10], tops[11] = 700, 900  # tied with the argmax but a higher id: argmax differs
    assert torch.equal(screen.differs(model, unembed, x, per_chunk, tops), expected != tops)


def test_a_row_that_is_not_finite_is_left_to_the_full_product():
    unembed = awkward_unembedding()
    x = torch.randn(4, unembed.weight.shape[1])
    x[2, 0] = float("nan")
    assert screen.differs(Derived(), unembed, x, 10, torch.zeros(4, dtype=torch.long)) is None


def test_the_screen_is_used_only_where_it_applies():
    assert not screen.usable(torch.nn.Linear(4, 300, bias=True))
    assert not screen.usable(torch.nn.Linear(4, 300, bias=False).double())
    assert not screen.usable(torch.nn.Embedding(300, 4))
    assert screen.slack(576) > 3 * screen.BF16_UNIT


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_the_lens_is_the_same_without_the_shortcuts(kind, request, monkeypatch):
    """The same data with the screen, without it (every logit computed), and with a screen whose bound is broken
    (its check sends the rows to the full product), on the model with a final norm gain that matters (a random
    model's is all ones)."""
    loaded = request.getfixturevalue(kind)
    lens = analyses.get("logit_lens")
    options = lens.parse_options({"prompt": PROMPT, "top": 3})
    norm = loaded.final_norm()
    saved = norm.weight.detach().clone()

    def run():
        loaded.forget(PROMPT)
        return compute.compute(loaded.forward(PROMPT), options, loaded)

    try:
        with torch.no_grad():
            norm.weight.copy_(1 + torch.randn(len(saved), generator=torch.Generator().manual_seed(0)))
        monkeypatch.setattr(screen, "usable", lambda unembed: True)
        screened = run()
        monkeypatch.setattr(screen, "slack", lambda d: -1.0)  # a broken bound: rows it leaves go to the full product
        assert run() == screened
        monkeypatch.setattr(screen, "usable", lambda unembed: False)
        assert run() == screened
    finally:
        with torch.no_grad():
            norm.weight.copy_(saved)
        loaded.forget(PROMPT)
    assert 0 < len(screened["gain_changed"]) < len(screened["tokens"]) * len(screened["layers"])


@pytest.mark.skipif(not torch.backends.mkl.is_available(), reason="the blocks are used with MKL only")
def test_the_blocked_unembedding_gives_the_bits_of_one_product(gpt2):
    """LoadedModel.unembed computes a large float32 vocabulary VOCAB_BLOCK tokens at a time (the last block not
    narrower than half of one)."""
    from lmreport.models.forward import VOCAB_BLOCK

    torch.manual_seed(2)
    for vocab in (2 * VOCAB_BLOCK, 3 * VOCAB_BLOCK + 100, 3 * VOCAB_BLOCK + VOCAB_BLOCK // 2 + 5):
        unembed = _linear(torch.randn(vocab, 64))
        for rows in (1, 5, 150):
            normed = torch.randn(rows, 64)
            with torch.no_grad():
                assert torch.equal(gpt2.unembed(unembed, normed), unembed(normed)), (vocab, rows)
