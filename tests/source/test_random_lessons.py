"""Property tests: any lesson text, bytes, YAML or markdown ends in a lesson or a LessonError at a real line,
within a time bound, and the HTML holds only the tags markdown makes."""

import re
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmreport import analyses
from lmreport.errors import LessonError
from lmreport.site.fragments import lesson_html
from lmreport.source.lessons import parse_lesson, scan_lessons

PATH = Path("lessons/01-fuzz.md")
FRAGMENTS = ["---\n", "```lmreport\n", "```\n", "````\n", "~~~\n", "analysis: topk\n", "prompt: hi\n", "k: 3\n",
             "title: a: b\n", "- x\n", "  indented: [1, 2\n", "# Heading\n", "\n", "key: {a: 1}\n", "\t\n",
             "order: 2\n", "model: x\n", "&anchor\n", "*alias\n", "!!python/object:os.system\n", '"\\x00"\n']
lesson_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lesson_text)
def test_scanner_never_raises(text):
    errors, warnings = [], []
    lesson = parse_lesson(PATH, text, errors, warnings)
    n_lines = len(text.splitlines()) or 1
    for e in errors + warnings:
        assert isinstance(e, LessonError) and e.path == PATH
        assert 1 <= e.line <= n_lines + 1, (e, text)
    if lesson is not None and not errors:
        for d in lesson.directives:
            assert 1 <= d.line <= n_lines and isinstance(d.params, dict)


# Random bytes, random YAML and random markdown: the scanner (and the prose renderer) end in a LessonError
# or a lesson, within a time bound, and the HTML holds only tags that markdown makes.
SECONDS_PER_INPUT = 3.0
ALLOWED_TAGS = re.compile(r"<(?!/?(?:p|a|img|em|strong|code|pre|h[1-6]|ul|ol|li|blockquote|hr|br|table|thead|tbody"
                          r"|tr|th|td|s|sup|section|span|div|input)\b)")
# The tags only markdown's extensions make, each only in the form they make it: math, notes, footnotes, tasks.
EXTENSION_TAGS = re.compile(r'<(?:span|div|section|sup|input)\b(?! class="(?:math |admonition|footnotes"|footnote-ref"|'
                            r'task-list-item-checkbox" type="checkbox" disabled)|(?:span|div) class="math )')
YAML_FRAGMENTS = ["&a ", "*a", "&b [", "*b, ", "[", "]", "{", "}", ": ", "- ", "? ", "<<: *a",
                  "!!python/object:os.system ", "!!binary ", "!!timestamp ", "2026-13-45", "7" * 4400,
                  '"\\ud800"', '"\\x85"', "\u2028", "\x85",
                  "|\n", ">\n", "\t", "  ", "\n", "key", "analysis", "prompt", "'", '"', "#", "%YAML 1.1\n", "---\n",
                  "...\n", "~", "null", ".inf", "0x1F", "1e400", "\\", "\ufeff", "\x00", "\x1b"]
MD_FRAGMENTS = ["[", "]", "(", ")", "![", "](", "<", ">", "> ", "- ", "1. ", "# ", "`", "```", "```lmreport\n",
                "~~~\n", "|", "|---|", "\n", "\n\n", "    ", "*", "_", "&colon;", "&#x6a;", "javascript:", "//",
                "\\\\", "http://x", "<script>", "<img src=x onerror=alert(1)>", "\r", "\r\n", "\f", "\u2028",
                "\x85", "analysis: topk\n", "prompt: hi\n", "---\n", "title: x\n", "\ufeff", "[a]: javascript:x\n"]


def _timed_scan(text: str) -> None:
    started = time.perf_counter()
    errors, warnings = [], []
    try:
        lesson = parse_lesson(PATH, text, errors, warnings)
        html = lesson_html(lesson) if lesson is not None and not errors else ""
    except LessonError:
        html = ""
    for e in errors + warnings:
        assert isinstance(e, LessonError) and e.path == PATH
        assert "\x1b" not in str(e) and "\n" not in str(e)
    assert not ALLOWED_TAGS.search(html), html
    assert not EXTENSION_TAGS.search(html), html
    assert time.perf_counter() - started < SECONDS_PER_INPUT


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_in_a_lesson_file(data):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "01-fuzz.md").write_bytes(data)
        started = time.perf_counter()
        result = scan_lessons(Path(folder))
        for lesson in result.lessons:
            lesson_html(lesson)
        assert all(isinstance(e, LessonError) for e in result.errors + result.warnings)
        assert time.perf_counter() - started < SECONDS_PER_INPUT


yaml_text = st.lists(st.sampled_from(YAML_FRAGMENTS) | st.text(max_size=10), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_text, yaml_text)
def test_random_yaml_in_front_matter_and_blocks(front, block):
    _timed_scan(f"---\n{front}\n---\n# A\n\n```lmreport\nanalysis: topk\n{block}\n```\n")
    errors, warnings = [], []
    lesson = parse_lesson(PATH, f"```lmreport\n{block}\n```\n", errors, warnings)
    for d in lesson.directives if lesson is not None else []:
        if d.analysis in analyses.REGISTRY:
            _, option_errors = analyses.REGISTRY[d.analysis].validate(d)
            assert all(isinstance(e, LessonError) for e in option_errors)


markdown_text = st.lists(st.sampled_from(MD_FRAGMENTS) | st.text(max_size=10), max_size=80).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown_text, st.integers(1, 400))
def test_random_markdown_and_long_repetitions(text, repeat):
    _timed_scan(text)
    _timed_scan(text * repeat)
