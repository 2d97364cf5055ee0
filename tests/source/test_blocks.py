"""lmreport blocks: found and placed in lists and quotes, bounded in number, never left open; odd YAML values
in them are short errors at their lines."""

from __future__ import annotations

import pytest

from lmreport.build import build
from lmreport.errors import BuildFailed
from tests.conftest import build_options, write_lesson
from tests.source.helpers import one_error, parse


def test_blocks_in_lists_and_quotes_are_run(tmp_path, tiny_models):
    text = ("# A\n\n- a list item\n\n  ```lmreport\n  analysis: topk\n  prompt: The capital of\n  k: 3\n  ```\n\n"
            "> a quote\n>\n> ```lmreport\n> analysis: topk\n> prompt: The capital\n> ```\n")
    lesson, errors, _ = parse(text)
    assert errors == [] and [(d.line, d.line_of("k"), d.params["prompt"]) for d in lesson.directives] == [
        (5, 8, "The capital of"), (13, 13, "The capital")]
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    page = (tmp_path / "site" / "01-a.html").read_text()
    page = page[page.index("<article"):]
    assert page.count('class="lmreport-figure') == 2 and "lmreportslot" not in page
    assert page.index("<li>") < page.index("lmreport-figure") < page.index("</li>")
    assert page.index("<blockquote>") < page.rindex("lmreport-figure") < page.index("</blockquote>")


def test_indented_figure_is_still_placed(tmp_path, tiny_models):
    write_lesson(
        tmp_path / "lessons", "01-a.md", "- item\n\n   ```lmreport\n   analysis: topk\n   prompt: hi\n   ```\n"
    )
    build(build_options(tmp_path, tiny_models["gpt2"]))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert page.count('class="lmreport-figure') == 1 and "lmreport-slot" not in page


def test_an_unclosed_block_in_a_quote_is_an_error():
    assert one_error("> ```lmreport\n> analysis: topk\n\nafter\n") == (1, "```lmreport block is never closed")


def test_too_many_blocks_in_one_lesson_are_refused_at_the_first_one_too_many():
    line, message = one_error("# A\n\n" + "```lmreport\nanalysis: topk\nprompt: hi\n```\n\n" * 250)
    assert (line, message) == (3 + 200 * 5, "more than 200 lmreport blocks in one lesson: split it into several "
                                            "lessons")


@pytest.mark.parametrize("block, line, message", [
    ("prompt: " + "[" * 5000 + "]" * 5000, 5, "lmreport block: nested more than 32 levels deep"),
    ("prompt: hi\nk: " + "7" * 5000, 6, "lmreport block: cannot read this value (Exceeds the limit"),
    ('prompt: "\\ud800"', 5, "topk: option 'prompt' contains the control character U+D800"),
    ('prompt: hi\ntitle: "x\\ud800"', 6, "topk: option 'title' contains the control character U+D800"),
    ("prompt: hi\nwhen: 2026-13-45", 6, "lmreport block: cannot read this value (month must be in 1..12)"),
    ("prompt: hi\nk: " + "9" * 400, 6, "topk: option 'k' must be at most 1000, got 99999999…(400 digits)"),
    ("prompt: hi\nk: 0x" + "f" * 300, 6, "topk: option 'k' must be at most 1000, got"),
    ("prompt: hi\nk: '" + "x" * 60_000 + "'", 6, "topk: option 'k' must be a whole number, got 'xxxx"),
    ("prompt: hi\nmodel: '~nosuchuser123/m'", 6, "topk: cannot use model '~nosuchuser123/m'"),
    ("prompt: hi\nmodel: '" + "y" * 300 + "'", 6, "topk: cannot use model 'yyyy"),
    ("prompt: hi\nmodel: ''", 6, "topk: option 'model' must not be empty"),
    ("prompt: hi\nnull: x", 6, "topk: unknown option 'None'"),
    ("<<: {prompt: first}\nprompt: second", 5, "lmreport block: YAML merge keys (<<) are not allowed"),
])
def test_odd_values_are_short_errors_at_their_line(tmp_path, tiny_models, block, line, message):
    write_lesson(tmp_path / "lessons", "01-a.md", f"# A\n\n```lmreport\nanalysis: topk\n{block}\n```\n")
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, x.message[: len(message)]) for x in e.value.errors] == [(line, message)]
    assert len(str(e.value)) < 600
