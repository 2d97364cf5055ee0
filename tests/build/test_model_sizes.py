"""Blocks that name a layer, head or position their model or prompt lacks: not drawn on that model (a note on
the page, one warning at the block's line, an error with --strict, references n/a), every such problem of a block
reported together, and reported even when the build stops on other errors first."""

from __future__ import annotations

import json

import pytest

from lmreport import analyses
from lmreport.analyses.indexing import index_problems
from lmreport.build import build
from lmreport.errors import BuildFailed
from tests.conftest import build_options, write_lesson

SHAPE = {"layers": 3, "heads": 4, "vocab": 320}


def _problems(analysis: str, values: dict, counts=(5,)):
    return index_problems(analyses.REGISTRY[analysis].options, values, SHAPE, list(counts))


def test_every_indexing_option_is_checked_against_the_models_sizes_and_the_prompts_length():
    # In range, counted as pages count them: blocks 1..3 (or -3..-1), heads 0..3 (or -4..-1), positions 0..4.
    assert _problems("attention", {"layer": 3, "head": -4}) == []
    assert _problems("attention", {"layer": -3, "head": 3}) == []
    assert _problems("neuron_view", {"layer": 1, "head": 0, "layers": [1, 2, -1]}) == []
    assert _problems("topk", {"position": -5}) == [] and _problems("topk", {"position": 4}) == []
    # Out of range: each option once, with every value it names that does not fit.
    assert _problems("attention", {"layer": 0, "head": 4}) == [
        ("layer", "the block asks for layer 0, and the model has 3 blocks (1 to 3; blocks count from 1, -1 is the "
                  "last)"),
        ("head", "the block asks for head 4, and the model has 4 heads per layer (0 to 3, or -1 for the last)")]
    assert [m for _, m in _problems("neuron_view", {"layer": 1, "head": -5, "layers": [2, 4, -4]})] == [
        "the block asks for head -5, and the model has 4 heads per layer (0 to 3, or -1 for the last)",
        "the block asks for layers 4 and -4, and the model has 3 blocks (1 to 3; blocks count from 1, -1 is the "
        "last)"]
    assert _problems("topk", {"position": 5}) == [
        ("position", "the block asks for position 5, and the prompt has 5 tokens (0 to 4, or -1 for the last)")]
    # Several prompts: the shortest decides, and the message says which it is.
    assert _problems("compare_prompts", {"position": -4}, counts=(6, 3, 8)) == [
        ("position", "the block asks for position -4, and prompt 2 of 3 has 3 tokens (0 to 2, or -1 for the last)")]
    # A number of tokens to list: at most the vocabulary.
    assert _problems("topk", {"k": 320}) == []
    assert _problems("topk", {"k": 321}) == [("k", "the block asks for k 321, and the model's vocabulary has 320 "
                                                    "tokens")]
    # An option left at its default (None: the mean of the heads) names nothing.
    assert _problems("attention", {"layer": 1, "head": None}) == []


LESSON = """# Sizes

```lmreport
id: deep
analysis: attention
prompt: "The cat sat on the mat"
views: [heatmap]
layer: 5
head: 6
```

The sink at layer 5 takes `=deep.sink(3):.0%` of the attention; `?deep.sink(3) > 10%`.

```lmreport
id: far
analysis: topk
prompt: "The cat sat"
position: 40
```

```lmreport
id: fine
analysis: topk
prompt: "The cat sat"
```

It predicts `=fine.top`.
"""


def test_a_block_naming_what_the_model_lacks_is_not_drawn_and_warned_at_its_line(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert summary.skipped == 2
    block_warnings = [w for w in summary.warnings if "the block is not drawn" in w]
    assert [w.split("01-a.md:")[1].split(":")[0] for w in block_warnings] == ["3", "14"]
    assert "the block asks for layer 5, and the model has 3 blocks" in block_warnings[0]
    assert "the block asks for head 6, and the model has 4 heads per layer" in block_warnings[0]  # together
    assert "the block asks for position 40, and the prompt has" in block_warnings[1]
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert page.count('class="figure-skipped">Not drawn: attention on gpt2: the block asks for layer 5') == 1
    assert page.count('class="figure-skipped">Not drawn: topk on gpt2: the block asks for position 40') == 1
    assert page.count(">n/a</span>") == 2 and "lmreport-claim-failed" not in page
    fine = json.loads((tmp_path / "site" / "data" / "01-a-3-topk.json").read_text())
    assert fine["data"]["predictions"]  # the block that fits is drawn as ever
    # The data file of a block not drawn says why, and states the model's sizes.
    far = json.loads((tmp_path / "site" / "data" / "01-a-2-topk.json").read_text())
    assert "position 40" in far["data"]["skipped"] and far["data"]["model_shape"]["layers"] == 3
    with pytest.raises(BuildFailed, match="01-a.md:3: attention on gpt2: the block asks for layer 5"):
        build(build_options(tmp_path, tiny_models["gpt2"], strict=True))


def test_a_build_that_stops_on_an_option_error_also_names_the_blocks_sizes_problems(tmp_path, tiny_models, caplog):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON.replace("head: 6\n", "head: 6\ncolour: red\n"))
    with pytest.raises(BuildFailed) as failed:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [str(e).split("01-a.md:")[1][:3] for e in failed.value.errors] == ["10:"]  # the unknown option
    said = [r.getMessage() for r in caplog.records if "would not be drawn" in r.getMessage()]
    assert len(said) == 2 and "01-a.md:8: attention on gpt2: the block asks for layer 5" in said[0]
    assert "head 6" in said[0] and "01-a.md:19: topk on gpt2: the block asks for position 40" in said[1]
    with pytest.raises(BuildFailed) as failed:  # --strict: they are errors, all in one report
        build(build_options(tmp_path, tiny_models["gpt2"], strict=True))
    assert sorted(str(e).split("01-a.md:")[1].split(":")[0] for e in failed.value.errors) == ["10", "19", "8"]
