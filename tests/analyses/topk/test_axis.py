"""The probability axis of topk figures: fixed (`xmax`) or shared with other topk blocks of the lesson
(`scale_with`), read back from the Bokeh documents of the built page; bad values are errors at their lines."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from lmreport import analyses
from lmreport.analyses.linking import link_problems
from lmreport.build import build
from lmreport.errors import BuildFailed
from tests.conftest import build_options, write_lesson
from tests.source.helpers import parse

PROMPT = "The keys to the cabinet"


def block(block_id: str | None = None, **options) -> str:
    lines = ["```lmreport", "analysis: topk", f"prompt: {PROMPT}", "k: 5"]
    lines += [f"id: {block_id}"] if block_id else []
    lines += [f"{name}: {value}" for name, value in options.items()]
    return "\n".join(lines + ["```", ""]) + "\n"


def x_ranges(page: Path) -> dict[str, tuple[float, float]]:
    """Each figure's x range (start, end), as its embedded Bokeh document declares it: figure id -> range."""
    text = page.read_text(encoding="utf-8")
    found = {}
    for figure in re.finditer(r'<figure class="lmreport-figure[^"]*" id="([^"]+)">(.*?)</figure>', text, re.S):
        docs = re.search(r"const docs_json = '(.*?)';", figure.group(2), re.S)
        if docs is None:
            continue
        # Bokeh's embedding: the JSON made HTML-safe, then its backslashes doubled, in a JavaScript string
        doc = next(iter(json.loads(html.unescape(docs.group(1).replace("\\\\", "\\"))).values()))
        plot = doc["roots"][0]
        x_range = plot["attributes"]["x_range"]
        assert x_range["name"] == "Range1d"
        given = x_range.get("attributes", {})  # Bokeh leaves out a default: a Range1d runs from 0 to 1
        found[figure.group(1)] = (given.get("start", 0), given.get("end", 1))
    return found


def built(tmp_path: Path, model: Path, text: str, **kw) -> Path:
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, model, **kw))
    return tmp_path / "site" / "01-a.html"


def test_scale_with_draws_linked_blocks_on_one_axis(tmp_path, tiny_models):
    """Blocks at temperatures 1 and 0.05 have axes of their own that differ; b names a, so the two are drawn on
    the axis of the longer bar, and the third, which names b, shares it too; the fourth, linked to none, keeps its
    own."""
    text = (block("a") + block("b", temperature=0.05, scale_with="a") + block(temperature=3, scale_with="b")
            + block(temperature=0.5))
    ranges = x_ranges(built(tmp_path / "linked", tiny_models["gpt2"], text))
    plain = x_ranges(built(tmp_path / "plain", tiny_models["gpt2"], text.replace("scale_with", "title")))
    assert plain["fig-1"] != plain["fig-2"]  # without scale_with each fits its own bars
    assert ranges["fig-1"] == ranges["fig-2"] == ranges["fig-3"] == plain["fig-2"]  # the longest axis of the three
    assert ranges["fig-4"] == plain["fig-4"] != ranges["fig-1"]
    assert all(start == 0 for start, _ in ranges.values())
    page = (tmp_path / "linked" / "site" / "01-a.html").read_text(encoding="utf-8")
    first = page.split('id="fig-2"')[0]
    assert 'Probability axis shared with <a href="#fig-2">Next-token probabilities</a> and <a href="#fig-3">' in first
    data = json.loads((tmp_path / "linked" / "site" / "data" / "01-a-2-topk.json").read_text(encoding="utf-8"))
    assert data["options"]["scale_with"] == "a" and "shared_axis" not in data["options"]  # as the lesson gives it


def test_xmax_fixes_the_axis_and_a_longer_bar_extends_it_with_a_warning(tmp_path, tiny_models):
    text = block(xmax=1) + block(xmax=0.001)
    ranges = x_ranges(built(tmp_path, tiny_models["gpt2"], text))
    data = json.loads((tmp_path / "site" / "data" / "01-a-2-topk.json").read_text(encoding="utf-8"))
    top = data["data"]["predictions"][0]["prob"]
    assert top > 0.001  # a random model of a few hundred tokens puts more than that on its top token
    assert ranges["fig-1"] == (0, 1.0)
    assert ranges["fig-2"][1] >= top  # never cut: extended to hold the bar
    assert data["data"]["notes"] == [f"xmax is 0.001, but {data['data']['predictions'][0]['token']!r} has "
                                     f"probability {top:.1%}: the probability axis is extended to fit it"]
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"], strict=True))
    assert [(x.line, x.message.split(":")[0]) for x in e.value.errors] == [(8, "topk")]  # the block's line
    assert "xmax is 0.001" in str(e.value.errors[0]) and "01-a.md:8:" in str(e.value.errors[0])


def test_bad_xmax_and_scale_with_are_errors_at_their_lines(tmp_path, tiny_models):
    text = (block("a", xmax=0) + block(xmax=1.5) + block(xmax="half") + block(scale_with="3x")
            + block(scale_with="[a]"))
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, x.message) for x in e.value.errors] == [
        (6, "topk: option 'xmax' must be at least 0.001, got 0"),
        (13, "topk: option 'xmax' must be at most 1, got 1.5"),
        (20, "topk: option 'xmax' must be a number, got 'half'"),
        (27, "topk: option 'scale_with' must be a block id (letters, digits and '_', not starting with a digit), "
             "got '3x'"),
        (34, "topk: option 'scale_with' must be text, got ['a']: put it in quotes"),
    ]
    assert not (tmp_path / "site").exists()


LINKS = (block("cap") + block(scale_with="cpa") + "```lmreport\nanalysis: logit_lens\nid: lens\nprompt: Hi\n```\n\n"
         + block(scale_with="lens") + block("me", scale_with="me") + block(scale_with="cap"))


def test_scale_with_must_name_another_topk_block_of_its_lesson():
    lesson, errors, _ = parse(LINKS)
    assert errors == []
    problems = link_problems([lesson])
    assert [(p.line, p.message) for p in problems] == [
        (12, "topk: option 'scale_with' names 'cpa', and no block of this lesson has that id (the topk blocks with "
             "an id: cap, me); did you mean 'cap'?"),
        (25, "topk: option 'scale_with' names 'lens', a logit_lens block; it must name a topk block"),
        (33, "topk: option 'scale_with' names this block itself; name another topk block of the lesson"),
    ]
    other, _, _ = parse(block("cap"), "02-b.md")
    lone, _, _ = parse(block(scale_with="cap"), "03-c.md")
    assert [p.line for p in link_problems([other, lone])] == [5]  # ids belong to their lesson


def test_the_build_stops_on_a_scale_with_naming_no_topk_block(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LINKS)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [str(x).split("lessons/", 1)[1][:10] for x in e.value.errors] == ["01-a.md:12", "01-a.md:25", "01-a.md:33"]
    assert not (tmp_path / "site").exists()


def test_a_figure_drawn_alone_refuses_scale_with_and_takes_xmax():
    topk = analyses.get("topk")
    with pytest.raises(analyses.OptionError, match="option 'scale_with' names another block of a lesson"):
        topk.parse_options({"prompt": PROMPT, "scale_with": "cap"})
    assert topk.parse_options({"prompt": PROMPT, "xmax": 0.5})["xmax"] == 0.5
