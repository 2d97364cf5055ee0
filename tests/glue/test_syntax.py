"""The grammar of numbers (`=id.value:format`) and claims (`?id.value op value`) in prose: read, refused at
its line, or left alone as plain code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmreport.glue.syntax import parse
from lmreport.glue.types import Call, ReferenceProblem
from lmreport.source.lessons import parse_lesson


def test_the_grammar_reads_values_claims_and_formats():
    ref = parse(Path("a.md"), 3, '=next.prob(" Paris", layer=-1):.1%')
    assert (ref.kind, ref.left, ref.spec) == ("value", Call("next", "prob", (" Paris",), (("layer", -1),)), ".1%")
    ref = parse(Path("a.md"), 3, '?a.top == " Paris"')
    assert (ref.kind, ref.left, ref.op, ref.right) == ("claim", Call("a", "top"), "==", " Paris")
    assert parse(Path("a.md"), 3, "?a.p >= 50%").right == 0.5


@pytest.mark.parametrize("code, message", [
    ("=a.b:{0}", "is not a format"),
    ("=a.b:999999999d", "is not a format"),
    ("?a.b", "ends too early"),
    ("?warm.top == Paris", "'Paris' is neither a value of a block (id.value) nor a text: write a token or a text in "
                           "quotes, with its leading space if it has one, e.g. \" Paris\""),
    ("?a.b = 3", "a claim needs a comparison"),
    ('?a.b == 1 and "x"', "unexpected 'and'"),
    ('=a.b("x" "y")', "expected ',' or ')'"),
    ("=a.b(x=1, 2)", "arguments by name come after the others"),
    ("=a.b c", "unexpected 'c'"),
])
def test_anything_else_is_an_error_at_its_line(code, message):
    with pytest.raises(ReferenceProblem, match=re.escape(message)):
        parse(Path("a.md"), 1, code)
    errors = []
    parse_lesson(Path("lessons/01-a.md"), f"# A\n\ntext\nmore `{code}` text\n", errors, [])
    assert [(e.line, message in e.message) for e in errors] == [(4, True)]


def test_plain_code_is_left_alone():
    errors = []
    lesson = parse_lesson(Path("lessons/01-a.md"), "`== x` and `=` and `?` and `x = 1`\n", errors, [])
    assert errors == [] and lesson.references == []


def test_code_that_only_starts_like_a_reference_stays_code():
    for code in ("=>", "?.", "?:", "=SUM(A1:A3)", "?x", "= 1", "=3", "?1 < 2", '=__import__("os").system("x")'):
        errors = []
        lesson = parse_lesson(Path("lessons/01-a.md"), f"# A\n\nsee `{code}` here\n", errors, [])
        assert errors == [] and lesson.references == [], code
