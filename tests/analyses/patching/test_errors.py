"""What patching refuses, each at the option to blame: prompts of different lengths (both splits shown), a corrupted
prompt given twice or not at all, tokens that are no single token, and a corruption that changes nothing."""

from __future__ import annotations

import pytest

from lmreport import analyses
from lmreport.analyses.options import OptionError
from lmreport.analyses.patching import compute
from lmreport.errors import AnalysisError, NotApplicable

PROMPT = "The keys to the cabinet"


def run(loaded, **options):
    spec = analyses.get("patching")
    parsed = spec.parse_options({"prompt": PROMPT, **options})
    return spec.run(loaded.forward(PROMPT, spec.needs), parsed, loaded)


def test_prompts_of_different_lengths_are_refused_showing_both_splits(gpt2):
    with pytest.raises(AnalysisError) as caught:
        run(gpt2, corrupted="The key to the cabinet")
    message = str(caught.value)
    assert caught.value.option == "corrupted"
    assert "the clean prompt is 8 tokens ['The' | ' key' | 's' | ' to' | ' the' | ' ca' | 'bi' | 'net']" in message
    assert "the corrupted one 7 ['The' | ' key' | ' to' | ' the' | ' ca' | 'bi' | 'net']" in message
    with pytest.raises(AnalysisError, match="clean prompt is 8 tokens") as caught:
        run(gpt2, replace=["keys", "key"])
    assert caught.value.option == "replace"


def test_the_corrupted_prompt_is_given_exactly_once(gpt2):
    with pytest.raises(AnalysisError, match="not both") as caught:
        run(gpt2, corrupted="The keys to the table", replace=["cabinet", "table"])
    assert caught.value.option == "replace"
    with pytest.raises(AnalysisError, match="give 'corrupted' .* or 'replace'") as caught:
        run(gpt2)
    assert caught.value.option is None  # the block's line: no option is there to blame
    with pytest.raises(AnalysisError, match="'shelf' is not in the prompt") as caught:
        run(gpt2, replace=["shelf", "table"])
    assert caught.value.option == "replace"
    with pytest.raises(AnalysisError, match="same tokens as the clean one") as caught:
        run(gpt2, corrupted=PROMPT)
    assert caught.value.option == "corrupted"
    spec = analyses.get("patching")
    with pytest.raises(OptionError, match="at least 2"):
        spec.parse_options({"prompt": PROMPT, "replace": ["cabinet"]})
    with pytest.raises(OptionError, match="same value twice"):
        spec.parse_options({"prompt": PROMPT, "replace": ["cabinet", "cabinet"]})
    with pytest.raises(OptionError, match="'neurons' is not one of: residual, attn, mlp, heads"):
        spec.parse_options({"prompt": PROMPT, "site": "neurons"})


def test_answer_and_wrong_must_be_single_tokens_and_fit_the_metric(gpt2):
    with pytest.raises(NotApplicable, match=r"'cabinet' is 3 tokens .*\('ca' \+ 'bi' \+ 'net'\)") as caught:
        run(gpt2, replace=["cabinet", "table"], answer="cabinet")
    assert caught.value.option == "answer"
    with pytest.raises(NotApplicable) as caught:
        run(gpt2, replace=["cabinet", "table"], wrong=" cabinet")
    assert caught.value.option == "wrong"
    with pytest.raises(AnalysisError, match="wrong is the answer itself") as caught:
        run(gpt2, replace=["cabinet", "table"], answer=" the", wrong=" the")
    assert caught.value.option == "wrong"
    with pytest.raises(AnalysisError, match="metric logit_diff only") as caught:
        run(gpt2, replace=["cabinet", "table"], metric="prob", wrong=" the")
    assert caught.value.option == "wrong"


def test_a_corruption_that_leaves_the_metric_unchanged_is_an_error_at_the_block(gpt2, monkeypatch):
    monkeypatch.setattr(compute, "metric_values", lambda logits, *_: logits[:, 0] * 0 + 2.5)
    with pytest.raises(AnalysisError, match="nothing to recover: .* is 2.5 on the clean prompt and on the "
                                            "corrupted one alike") as caught:
        run(gpt2, replace=["cabinet", "table"])
    assert caught.value.option is None


def test_an_encoder_is_not_applicable(bert):
    with pytest.raises(NotApplicable, match="encoder"):
        run(bert, replace=["cabinet", "table"])
