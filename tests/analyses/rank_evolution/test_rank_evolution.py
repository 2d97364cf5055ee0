"""rank_evolution against ranks found by sorting the vocabulary."""

import math

import pytest

from lmreport.analyses import citing
from lmreport.analyses.rank_evolution import values as rank_evolution_values
from lmreport.glue.types import NotApplicableHere
from tests.analyses.helpers import compute, lens_log_probs, rank_by_sorting

PROMPT = "The keys to the cabinet"


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
