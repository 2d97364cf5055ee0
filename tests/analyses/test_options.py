"""A block's options are checked before any model work: text where text is due, bounded lists and texts, finite
numbers, no control characters; any values end in options or errors at their lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmreport import analyses, cli
from lmreport.build import BuildOptions, build
from lmreport.errors import BuildFailed, LessonError
from lmreport.source.lessons import Directive
from tests.conftest import build_options, write_lesson
from tests.source.helpers import parse


def test_prompt_that_is_not_text_asks_for_quotes(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "```lmreport\nanalysis: topk\nprompt: yes\n```\n")
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert str(e.value.errors[0]).endswith("01-a.md:3: topk: option 'prompt' must be text, got true: put it in quotes")


def test_unbounded_lists_and_texts_are_refused(tmp_path, tiny_models, capsys):
    prompts = json.dumps([f"p{i}" for i in range(1_000)])
    tokens = json.dumps([f" t{i}" for i in range(1_000)])
    text = (f"```lmreport\nanalysis: compare_prompts\nprompts: {prompts}\ntokens: [\" a\"]\n```\n\n"
            f"```lmreport\nanalysis: compare_tokens\nprompt: hi\ntokens: {tokens}\ntitle: {'t' * 400}\n```\n")
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, x.message) for x in e.value.errors] == [
        (3, "compare_prompts: option 'prompts' names 1,000 values; at most 32"),
        (10, "compare_tokens: option 'tokens' names 1,000 values; at most 16"),
        (11, "compare_tokens: option 'title' is 400 characters long; at most 300"),
    ]
    assert cli.main(["analyses", "compare_prompts"]) == 0
    assert "prompts (list, required; 1 to 32 items" in capsys.readouterr().out


def test_generation_settings_must_be_finite(tmp_path, tiny_models):
    block = "analysis: generate\nprompt: hi\nsample: true\ntemperature: .nan"
    write_lesson(tmp_path / "lessons", "01-a.md", f"```lmreport\n{block}\n```\n")
    with pytest.raises(BuildFailed, match="01-a.md:5: generate: option 'temperature' must be a finite number"):
        build(build_options(tmp_path, tiny_models["gpt2"]))


def test_escape_in_a_block_title_is_refused():
    lesson, errors, _ = parse('```lmreport\nanalysis: topk\nprompt: hi\ntitle: "a\\eb"\n```\n')
    from lmreport.analyses import REGISTRY

    _, option_errors = REGISTRY["topk"].validate(lesson.directives[0])
    assert [(e.line, e.message) for e in option_errors] == [
        (4, "topk: option 'title' contains the control character U+001B at character 2")]


@pytest.mark.parametrize(
    "block, line, message",
    [
        ('analysis: topk\nprompt: "NUL \\0 here"', 3, "topk: option 'prompt' contains the control character U+0000"),
        ('analysis: topk\nprompt: "bell \\a"', 3, "topk: option 'prompt' contains the control character U+0007"),
        ("analysis: topk\nprompt: " + "x" * 10000, 3, "topk: the prompt is"),
    ],
)
def test_refused_with_file_and_line(tmp_path, tiny_models, block, line, message):
    write_lesson(tmp_path / "lessons", "01-a.md", f"# A\n\n```lmreport\n{block}\n```\n")
    with pytest.raises(BuildFailed) as e:
        build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site",
                           model=str(tiny_models["gpt2"]), cache_dir=tmp_path / "cache", progress=False))
    (error,) = e.value.errors
    assert (error.path.name, error.line) == ("01-a.md", line + 2)
    assert error.message.startswith(message)
    assert not (tmp_path / "site").exists()


PATH = Path("lessons/01-fuzz.md")


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(analyses.REGISTRY)), st.dictionaries(st.text(max_size=12), yaml_values, max_size=6))
def test_option_validation_never_raises(name, params):
    directive = Directive(path=PATH, line=5, analysis=name, params=params, param_lines={k: 6 for k in params})
    options, errors = analyses.REGISTRY[name].validate(directive)
    for e in errors:
        assert isinstance(e, LessonError) and e.line in (5, 6)
    if not errors:
        assert set(options) == set(analyses.REGISTRY[name].option_names)
