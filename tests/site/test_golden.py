"""Golden lesson -> HTML: the markdown part of a page and where its figure lands."""

from pathlib import Path

from lmreport.site.fragments import lesson_html
from lmreport.source.lessons import parse_lesson
from lmreport.source.markdown import slot_marker

GOLDEN = Path(__file__).parent / "golden"


def test_lesson_markdown_matches_golden_html():
    errors, warnings = [], []
    source = GOLDEN / "lesson.md"
    lesson = parse_lesson(source, source.read_text(), errors, warnings, nonce="n0")
    assert errors == [] and len(lesson.directives) == 1
    html = lesson_html(lesson)
    assert html.count(slot_marker("n0", 0)) == 1
    expected = (GOLDEN / "lesson.html").read_text()
    assert html.strip() == expected.strip()
