"""The Python API gives the same numbers as the build and shows itself in a notebook."""

import re

import pytest

import lmreport
from lmreport import LmreportError, analyses


def test_analyze_matches_the_analysis_run_directly(tiny_models, gpt2):
    result = lmreport.analyze("topk", prompt="The keys to the", model=str(tiny_models["gpt2"]), k=4)
    topk = analyses.get("topk")
    direct = topk.compute(
        gpt2.forward("The keys to the"), topk.parse_options({"prompt": "The keys to the", "k": 4}), gpt2
    )
    assert result.data == direct
    assert result.options == {"prompt": "The keys to the", "k": 4, "position": -1}
    assert result.model["name"] == "gpt2"
    html = result._repr_html_()
    assert "Bokeh" in html and "<script" in html


def test_analyze_errors_are_plain_messages(tiny_models):
    valid = ", ".join(sorted(analyses.REGISTRY))
    with pytest.raises(LmreportError, match=re.escape(f"unknown analysis 'lens' (valid: {valid})")):
        lmreport.analyze("lens", prompt="x", model=str(tiny_models["gpt2"]))
    with pytest.raises(LmreportError, match="topk: option 'k' must be at least 1, got 0"):
        lmreport.analyze("topk", prompt="x", model=str(tiny_models["gpt2"]), k=0)
    with pytest.raises(LmreportError, match="topk: unknown option 'kk'"):
        lmreport.analyze("topk", prompt="x", model=str(tiny_models["gpt2"]), kk=3)
