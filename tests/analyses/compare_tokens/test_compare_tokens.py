"""compare_tokens against ranks found by sorting the vocabulary; candidates of several tokens and without their
space."""

import pytest

from lmreport.errors import NotApplicable
from tests.analyses.helpers import compute, lens_log_probs, rank_by_sorting

PROMPT = "The keys to the cabinet"


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


def test_a_candidate_without_its_space_gets_a_note(llama):
    data = compute("compare_tokens", llama, prompt=PROMPT, tokens=["is", " the"])
    assert data["notes"] == [
        "'is' has no leading space; ' is' is a different token, usually the one that follows a word. "
        "Write tokens: [\" is\", ...] to follow it."
    ]
    assert compute("compare_tokens", llama, prompt=PROMPT, tokens=[" is", " the"])["notes"] == []
