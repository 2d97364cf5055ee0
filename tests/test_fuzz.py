"""Property tests: any lesson text, any option values end in success or a LessonError at a real line."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmreport import analyses
from lmreport.errors import LessonError
from lmreport.lessons import Directive, parse_lesson

PATH = Path("lessons/01-fuzz.md")
FRAGMENTS = ["---\n", "```lmreport\n", "```\n", "````\n", "~~~\n", "analysis: topk\n", "prompt: hi\n", "k: 3\n",
             "title: a: b\n", "- x\n", "  indented: [1, 2\n", "# Heading\n", "\n", "key: {a: 1}\n", "\t\n",
             "order: 2\n", "model: x\n", "&anchor\n", "*alias\n", "!!python/object:os.system\n", '"\\x00"\n']
lesson_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40)), max_size=30).map("".join)

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


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


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(analyses.REGISTRY)), st.dictionaries(st.text(max_size=12), yaml_values, max_size=6))
def test_option_validation_never_raises(name, params):
    directive = Directive(path=PATH, line=5, analysis=name, params=params, param_lines={k: 6 for k in params})
    options, errors = analyses.REGISTRY[name].validate(directive)
    for e in errors:
        assert isinstance(e, LessonError) and e.line in (5, 6)
    if not errors:
        assert set(options) == set(analyses.REGISTRY[name].option_names)
