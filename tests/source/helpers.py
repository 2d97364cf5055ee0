"""Reading one lesson's text as a build does: the lesson with its errors and warnings, or its one error as
(line, message)."""

from __future__ import annotations

from pathlib import Path

from lmreport.source.lessons import parse_lesson

BLOCK = "```lmreport\nanalysis: topk\nprompt: The capital of\n```\n"


def parse(text: str, name: str = "01-a.md"):
    errors, warnings = [], []
    lesson = parse_lesson(Path("lessons") / name, text, errors, warnings, nonce="n")
    return lesson, errors, warnings


def one_error(text: str) -> tuple[int, str]:
    _, errors, _ = parse(text)
    assert len(errors) == 1, errors
    return errors[0].line, errors[0].message
