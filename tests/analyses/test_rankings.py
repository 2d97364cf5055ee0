"""rank_evolution, compare_tokens and compare_prompts against ranks found by sorting the vocabulary."""

import math

import pytest
import torch

from lmreport import analyses
from lmreport.analyses import citing
from lmreport.analyses.compare_prompts import values as compare_prompts_values
from lmreport.analyses.rank_evolution import values as rank_evolution_values
from lmreport.errors import AnalysisError, NotApplicable
from lmreport.glue.types import NotApplicableHere

from .helpers import lens_log_probs, rank_by_sorting

PROMPT = "The keys to the cabinet"


def compute(name, loaded, **options):
    analysis = analyses.get(name)
    parsed = analysis.parse_options(options)
    return analysis.compute(loaded.forward(analysis.prompts(parsed)[0]), parsed, loaded)


@pytest.mark.parametrize("kind", ["gpt2", "llama", pytest.param("smollm2", marks=pytest.mark.embedded)])
def test_rank_evolution_matches_sorting(kind, request):
    loaded = request.getfixturevalue(kind)
    data = compute("rank_evolution", loaded, prompt=PROMPT, tokens=[" the", " is"], position=-2)
    lp = lens_log_probs(loaded, PROMPT, kind)
    final = lp[-1].argmax(-1)
    assert data["output_ids"] == final.tolist()
    for layer in range(lp.shape[0]):
        for pos in range(lp.shape[1]):
            assert data["output_ranks"][layer][pos] == rank_by_sorting(lp[layer, pos], int(final[pos]))
            assert data["output_probs"][layer][pos] == pytest.approx(math.exp(lp[layer, pos, final[pos]]), rel=1e-4)
    assert all(r == 1 for r in data["output_ranks"][-1])
    pos = lp.shape[1] - 2
    assert data["position"] == pos
    for cand in data["candidates"]:
        token_id = loaded.tokenizer(cand["text"], add_special_tokens=False)["input_ids"][0]
        assert cand["ranks"] == [rank_by_sorting(lp[layer, pos], token_id) for layer in range(lp.shape[0])]
        assert cand["probs"] == pytest.approx([math.exp(lp[layer, pos, token_id]) for layer in range(lp.shape[0])],
                                              rel=1e-4)
    # enters(token, k): the first layer from which the token stays in the top k, found here by walking down.

    for cand in data["candidates"]:
        for k in (1, 5, 50):
            ranks = cand["ranks"]
            if ranks[-1] > k:
                with pytest.raises(NotApplicableHere):
                    citing.candidate_enters(data, cand["text"], k)
                continue
            row = len(ranks)
            while row > 0 and ranks[row - 1] <= k:
                row -= 1
            assert citing.candidate_enters(data, cand["text"], k) == row
    column = [r[pos] for r in data["output_ranks"]]
    row = len(column)
    while row > 0 and column[row - 1] <= 3:
        row -= 1
    assert rank_evolution_values.output_enters(data, 3, pos) == row


@pytest.mark.parametrize("kind", ["gpt2", "llama", pytest.param("smollm2", marks=pytest.mark.embedded)])
def test_compare_tokens_matches_sorting_and_names_the_leader(kind, request):
    loaded = request.getfixturevalue(kind)
    data = compute("compare_tokens", loaded, prompt=PROMPT, tokens=[" is", " the", "The"])
    lp = lens_log_probs(loaded, PROMPT, kind)[:, -1, :]
    table = []
    for cand in data["candidates"]:
        token_id = cand["id"]
        ranks = [rank_by_sorting(lp[layer], token_id) for layer in range(lp.shape[0])]
        assert cand["ranks"] == ranks
        assert cand["probs"] == pytest.approx(lp[:, token_id].exp().tolist(), rel=1e-4)
        table.append(ranks)
    best = [min(range(3), key=lambda c: table[c][layer]) for layer in range(lp.shape[0])]
    assert data["leader"] == best and data["winner"] == best[-1]
    since = data["leads_from_layer"]
    assert all(b == best[-1] for b in best[since:]) and (since == 0 or best[since - 1] != best[-1])


def test_multi_token_candidate_is_rejected_with_its_pieces(gpt2):
    with pytest.raises(NotApplicable) as e:  # another model's tokenizer may make it one token: a skip, not an error
        compute("compare_tokens", gpt2, prompt=PROMPT, tokens=[" is", " cabinetry"])
    pieces = gpt2.token_texts(gpt2.tokenizer(" cabinetry", add_special_tokens=False)["input_ids"])
    assert len(pieces) > 1
    assert f"candidate ' cabinetry' is {len(pieces)} tokens for gpt2 (" in str(e.value)
    assert " + ".join(repr(p) for p in pieces) in str(e.value)
    assert e.value.option == "tokens"


def test_compare_prompts_log_ratio_and_output(llama):
    prompts = ["The doctor said that", "The key is", "Alice gave a book to"]
    data = compute("compare_prompts", llama, prompts=prompts, tokens=[" is", " the"], ratio=[" the", " is"])
    the_id, is_id = (llama.tokenizer(t, add_special_tokens=False)["input_ids"][0] for t in (" the", " is"))
    for row, prompt in zip(data["prompts"], prompts, strict=True):
        lp = lens_log_probs(llama, prompt, "llama")[:, -1, :]
        assert row["prompt"] == prompt
        assert row["log_ratio"] == pytest.approx((lp[:, the_id] - lp[:, is_id]).tolist(), abs=1e-4)
        assert row["probs"][0] == pytest.approx(lp[:, is_id].exp().tolist(), rel=1e-4)
        assert row["ranks"][1] == [rank_by_sorting(lp[layer], the_id) for layer in range(lp.shape[0])]

    final = {p: lens_log_probs(llama, p, "llama")[-1, -1, :] for p in prompts}
    ratios = {p: float(final[p][the_id] - final[p][is_id]) for p in prompts}
    assert compare_prompts_values.prompts_max_ratio(data) == pytest.approx(max(ratios.values()), abs=1e-4)
    assert compare_prompts_values.prompts_min_ratio(data) == pytest.approx(min(ratios.values()), abs=1e-4)
    assert compare_prompts_values.prompts_most(data) == max(ratios, key=ratios.get)
    assert compare_prompts_values.prompts_least(data) == min(ratios, key=ratios.get)
    mass = float(final[prompts[1]][[the_id, is_id]].exp().sum())
    assert compare_prompts_values.prompts_mass(data, 1) == pytest.approx(mass, rel=1e-4)


def test_compare_prompts_ratio_must_name_candidates(gpt2):
    with pytest.raises(AnalysisError, match="ratio names two of the candidates"):
        compute("compare_prompts", gpt2, prompts=["The key"], tokens=[" is", " the"], ratio=[" is", " of"])


def test_next_token_analyses_refuse_an_encoder(bert):
    for name, options in [("rank_evolution", {"prompt": PROMPT}), ("compare_tokens", {"prompt": PROMPT,
                          "tokens": ["a", "b"]}), ("generate", {"prompt": PROMPT})]:
        with pytest.raises(AnalysisError, match=f"{name} needs a model that predicts the next token; bert is an "
                                                "encoder .BertModel."):
            compute(name, bert, **options)


def test_probabilities_sum_to_one_at_every_layer(gpt2):
    from lmreport.analyses.common import probabilities

    for logits in gpt2.lens(gpt2.forward(PROMPT)):
        every = torch.arange(logits.shape[-1]).expand(logits.shape[0], -1)
        total = probabilities(logits, every).sum(-1)
        assert torch.allclose(total, torch.ones_like(total), atol=1e-9)


def test_a_candidate_without_its_space_gets_a_note(llama):
    data = compute("compare_tokens", llama, prompt=PROMPT, tokens=["is", " the"])
    assert data["notes"] == [
        "'is' has no leading space; ' is' is a different token, usually the one that follows a word. "
        "Write tokens: [\" is\", ...] to follow it."
    ]
    assert compute("compare_tokens", llama, prompt=PROMPT, tokens=[" is", " the"])["notes"] == []
