"""Line numbers count '\n' only: other separators, CRLF and CR line endings and inline markup over several
lines leave every block and error at its line."""

from __future__ import annotations

import pytest

from tests.source.helpers import one_error, parse


@pytest.mark.parametrize("separator", ["\u2028", "\f", "\u2029"])
def test_separators_in_prose_do_not_shift_line_numbers(separator):
    text = f"# A\n\nprose{separator}more{separator}and more\n\n```lmreport\nanalysis: nope\n```\n"
    lesson, errors, _ = parse(text)
    assert errors == [] and lesson.directives[0].line == 5


def test_crlf_and_cr_line_endings_keep_lines():
    for newline in ("\r\n", "\r"):
        text = newline.join(["# A", "", "text", "", "```lmreport", "analysis: topk", "prompt: hi", "kk: 1", "```", ""])
        lesson, errors, _ = parse(text)
        assert errors == [] and (lesson.directives[0].line, lesson.directives[0].line_of("kk")) == (5, 8)


def test_lines_after_multi_line_code_alt_text_and_titles_are_right():
    for inline in ("some `code\nspan` here", "![alt\ntext](a.png)", '[a](http://x "ti\ntle")', "[a `b\nc`](http://x)"):
        assert one_error(f"# A\n\n{inline}\n[bad](javascript:1)\n")[0] == 5, inline
