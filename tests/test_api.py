"""The Python API gives the same numbers as the build and shows itself in a notebook, offline."""

import re
import time

import pytest

import lmreport
from lmreport import LmreportError, analyses, models
from tests import browser


def test_analyze_matches_the_analysis_run_directly(tiny_models, gpt2):
    result = lmreport.analyze("topk", prompt="The keys to the", model=str(tiny_models["gpt2"]), k=4)
    topk = analyses.get("topk")
    with models.fast_linears(gpt2.model):  # the kernels the build and analyze() run with (models/kernels.py)
        forward = gpt2.forward("The keys to the")
        direct = topk.compute(forward, topk.parse_options({"prompt": "The keys to the", "k": 4}), gpt2)
    # as in the site's data files: the numbers, then the sizes of the model they came from
    assert result.data == {**direct, "model_shape": gpt2.shape(forward)}
    assert result.options == {"prompt": "The keys to the", "k": 4, "position": -1, "temperature": 1.0, "xmax": None,
                              "scale_with": None}
    assert result.model["name"] == "gpt2"
    lmreport.notebook_reset()
    html = result._repr_html_()
    assert "Bokeh" in html and "<script" in html


def test_a_notebook_loads_each_script_once_and_calls_share_a_forward_pass(tiny_models, gpt2, capsys):
    lmreport.notebook_reset()
    first = lmreport.analyze("topk", prompt="The keys to the", model=str(tiny_models["gpt2"]))
    second = lmreport.analyze("logit_lens", prompt="The keys to the", model=str(tiny_models["gpt2"]))
    bokeh_js = len(first._repr_html_())
    later = len(second._repr_html_())
    assert later < bokeh_js / 10  # BokehJS came with the first figure only
    lmreport.notebook_reset()
    assert len(second._repr_html_()) > bokeh_js / 2  # after a reset, again
    # The same model and prompt: one model in memory and one forward pass for both calls.
    from lmreport import models

    loaded = models.load(models.resolve(str(tiny_models["gpt2"])))
    before = loaded.forward_count
    lmreport.analyze("rank_evolution", prompt="The keys to the", model=str(tiny_models["gpt2"]))
    lmreport.analyze("topk", prompt="The keys to the", model=str(tiny_models["gpt2"]), k=3)
    assert loaded.forward_count == before  # the pass of the calls above is reused
    for i in range(lmreport.api.RECENT_PROMPTS):
        lmreport.analyze("topk", prompt=f"Prompt number {i}", model=str(tiny_models["gpt2"]))
    lmreport.analyze("topk", prompt="The keys to the", model=str(tiny_models["gpt2"]))
    assert loaded.forward_count == before + lmreport.api.RECENT_PROMPTS + 1  # older passes are let go
    assert "Loading" not in capsys.readouterr().err  # no progress bars unless asked


def test_analyze_errors_are_plain_messages(tiny_models):
    valid = ", ".join(sorted(analyses.REGISTRY))
    with pytest.raises(LmreportError, match=re.escape(f"unknown analysis 'lens' (valid: {valid})")):
        lmreport.analyze("lens", prompt="x", model=str(tiny_models["gpt2"]))
    with pytest.raises(LmreportError, match="topk: option 'k' must be at least 1, got 0"):
        lmreport.analyze("topk", prompt="x", model=str(tiny_models["gpt2"]), k=0)
    with pytest.raises(LmreportError, match="topk: unknown option 'kk'"):
        lmreport.analyze("topk", prompt="x", model=str(tiny_models["gpt2"]), kk=3)


SCRIPT = "</script><script>alert(1)</script>"


@pytest.mark.browser
@pytest.mark.skipif(not browser.available(), reason="needs Debian's chromium and chromium-driver")
def test_analyze_warns_of_scores_that_did_not_settle(tiny_models):
    # 16 points cannot cut the path once: integrated gradients cannot settle, and the notebook is told so
    with pytest.warns(lmreport.LmreportWarning, match="integrated gradients did not settle"):
        result = lmreport.analyze("attribution", prompt="The key is on the", model=str(tiny_models["gpt2"]),
                                  methods=["integrated_gradients"], steps=8, max_steps=16)
    assert result.data["methods"][0]["top"] is None
    assert "top: n/a (not settled)" in result._repr_html_()


def test_notebook_view_works_offline_on_its_own(tmp_path, tiny_models):
    """A result's _repr_html_ (what a notebook shows) draws with no file or network access."""
    import lmreport

    lmreport.notebook_reset()  # this page is a notebook of its own: it needs every script
    parts = [lmreport.analyze(name, prompt=SCRIPT, model=str(tiny_models["gpt2"]))._repr_html_()
             for name in ("topk", "attention")]
    page = tmp_path / "notebook.html"
    page.write_text("<!doctype html><meta charset='utf-8'><title>notebook</title>" + "".join(parts))
    with browser.chromium() as driver:
        browser.requests_and_failures(driver)
        driver.get(page.as_uri())
        time.sleep(1.5)
        urls, failed = browser.requests_and_failures(driver)
        assert failed == [] and [u for u in urls if not u.startswith(("data:", page.as_uri()))] == []
        assert browser.console_errors(driver) == []
        assert driver.execute_script("return Bokeh.documents.length") == 1
        assert driver.execute_script("return document.querySelectorAll('.bertviz #vis svg').length") == 2


def test_a_result_reads_the_values_prose_cites(tiny_models, gpt2):
    result = lmreport.analyze("topk", prompt="The keys to the", model=str(tiny_models["gpt2"]), k=3)
    top = result.data["predictions"][0]
    assert result.value("top") == top["token"] and result.value("top_prob") == top["prob"]
    assert result.value("prob", top["token"]) == top["prob"]
    assert result.value("layers") == result.data["model_shape"]["layers"]
    listed = result.values()
    assert "top" in listed and listed["prob"].startswith("prob(token")
    with pytest.raises(LmreportError, match="has no value 'tpo'"):
        result.value("tpo")
    with pytest.raises(LmreportError, match="prob"):
        result.value("prob")  # its token is missing
    lens = lmreport.analyze("hidden_states", prompt="The keys to the", model=str(tiny_models["gpt2"]))
    with pytest.raises(LmreportError, match="n/a here|out of range"):
        lens.value("first_ratio", 99)
