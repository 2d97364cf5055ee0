"""A probe block through the build on a tiny model: its figure, JSON and CSV, the values prose cites, one forward
pass per length of prompt, the cache on a rebuild, and its errors at their lines."""

from __future__ import annotations

import csv
import json
import re
from html import unescape

import pytest

from lmreport.build import build
from lmreport.errors import BuildFailed
from tests.analyses.probe.prompts import BY_FIRST
from tests.conftest import opts, write_lesson


def lesson(examples: dict, extra: str = "") -> str:
    lines = "\n".join(f"  {label}: {json.dumps(prompts)}" for label, prompts in examples.items())
    return (f"# Probe\n\n```lmreport\nanalysis: probe\nid: p\nexamples:\n{lines}\nfolds: 3\n{extra}```\n\n"
            "At the last row `=p.accuracy(-1):.3f` against a control of `=p.control(-1):.3f`; the baseline is "
            "`=p.baseline:.3f` `?p.baseline < 0.6`; the most selective layer is `=p.best_layer`.\n")


def shown(page: str) -> list[str]:
    return [unescape(x) for x in re.findall(r'class="lmreport-value"[^>]*>([^<]*)<', page)]


def test_a_probe_block_is_built_cited_and_cached(tmp_path, tiny_models, gpt2, forget_models):
    lengths = {len(gpt2.encode(p)) for prompts in BY_FIRST.values() for p in prompts}
    write_lesson(tmp_path / "lessons", "01-a.md", lesson(BY_FIRST))
    summary = build(opts(tmp_path, model=str(tiny_models["gpt2"])))  # a model loaded afresh: no pass kept
    # the build's pass of the first prompt, then one batched pass per length of prompt
    assert (summary.computed, summary.model_loads, summary.claims_failed) == (1, 1, 0)
    assert summary.forward_passes == 1 + len(lengths) < len(BY_FIRST["article"] + BY_FIRST["name"])
    site = tmp_path / "site"
    result = json.loads((site / "data" / "01-a-1-probe.json").read_text())["data"]
    page = (site / "01-a.html").read_text()
    sel = result["selectivity"]
    assert shown(page) == [f"{result['accuracy'][-1]:.3f}", f"{result['control'][-1]:.3f}",
                           f"{result['baseline']:.3f}", str(sel.index(max(sel)))]
    assert "Linear probe accuracy at each layer: article vs name" in page
    assert "reads the residual stream at each prompt&#39;s last token" in page and "3 stratified folds" in page
    rows = list(csv.reader((site / "data" / "01-a-1-probe.csv").open()))
    assert rows[0][:5] == ["layer", "accuracy", "control", "selectivity", "majority_baseline"]
    assert [float(r[1]) for r in rows[1:]] == result["accuracy"]
    assert [float(r[2]) for r in rows[1:]] == result["control"]
    assert [[float(v) for v in r[5:8]] for r in rows[1:]] == result["accuracy_folds"]
    assert [[float(v) for v in r[8:11]] for r in rows[1:]] == result["control_folds"]
    again = build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    assert (again.cached, again.computed, again.forward_passes, again.model_loads) == (1, 0, 0, 0)
    assert (site / "01-a.html").read_text() == page


def test_the_order_of_the_classes_is_part_of_the_result(tmp_path, tiny_models):
    swapped = {"name": BY_FIRST["name"], "article": BY_FIRST["article"]}
    write_lesson(tmp_path / "lessons", "01-a.md", lesson(BY_FIRST))
    write_lesson(tmp_path / "lessons", "02-b.md", lesson(swapped))
    summary = build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    assert summary.computed == 2  # not one result served for both
    first, second = (json.loads((tmp_path / "site" / "data" / f"{n}-1-probe.json").read_text())["data"]
                     for n in ("01-a", "02-b"))
    assert first["labels"] == ["article", "name"] and second["labels"] == ["name", "article"]


@pytest.mark.parametrize("examples, extra, line, message", [
    ({"only": ["The key", "The shop"]}, "", 6, "probe: option 'examples' names 1 label ('only')"),
    ({"a": ["The key", "The shop"], "b": ["Alice", "Bob"]}, "", 6, "probe: 'a' has 2 prompts, fewer than the 3 "
     "folds"),
    (BY_FIRST, "C: -1\n", 10, "probe: option 'C' must be at least 1e-06, got -1"),
    ({"a": ["Alice is", "Bob is", "Rome is"], "b": ["The key is", "The shop is", "A book is"]}, "control_by: token\n",
     10, "probe: the prompts have 1 distinct token at position -1"),
])
def test_errors_land_at_the_option_to_change(tmp_path, tiny_models, examples, extra, line, message):
    write_lesson(tmp_path / "lessons", "01-a.md", lesson(examples, extra))
    with pytest.raises(BuildFailed) as failed:
        build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    (error,) = failed.value.errors
    assert error.line == line and error.message.startswith(message), (error.line, error.message)


def test_a_position_a_prompt_lacks_is_not_drawn_on_that_model(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", lesson(BY_FIRST, "position: 30\n"))
    summary = build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    assert summary.skipped == 1
    (warning,) = [w for w in summary.warnings if "not drawn" in w]
    assert "01-a.md:3:" in warning and "the block asks for position 30, and prompt 1 of 56 has" in warning
    assert "Not drawn: probe on gpt2" in (tmp_path / "site" / "01-a.html").read_text()
