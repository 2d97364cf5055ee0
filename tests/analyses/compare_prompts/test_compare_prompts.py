"""compare_prompts against log-probabilities and ranks found by sorting the vocabulary."""

import pytest

from lmreport.analyses.compare_prompts import values as compare_prompts_values
from lmreport.errors import AnalysisError
from tests.analyses.helpers import compute, lens_log_probs, rank_by_sorting

PROMPT = "The keys to the cabinet"


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
    # which candidate each prompt prefers, whatever its rank among the ratios ("most" may still prefer " is")
    for i, p in enumerate(prompts):
        assert compare_prompts_values.prompts_prefers(data, i) == (" the" if ratios[p] > 0 else " is")
    assert compare_prompts_values.prompts_preferring(data, " the") == sum(1 for r in ratios.values() if r > 0)
    assert compare_prompts_values.prompts_preferring(data, " is") == sum(1 for r in ratios.values() if r < 0)


def test_compare_prompts_ratio_must_name_candidates(gpt2):
    with pytest.raises(AnalysisError, match="ratio names two of the candidates"):
        compute("compare_prompts", gpt2, prompts=["The key"], tokens=[" is", " the"], ratio=[" is", " of"])
