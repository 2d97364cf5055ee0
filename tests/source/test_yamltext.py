"""YAML in lessons and course.yml: aliases (a "billion laughs") and duplicate keys are errors at their lines,
found at once."""

from __future__ import annotations

import time

import pytest

from lmreport.build import build
from lmreport.errors import BuildFailed
from tests.conftest import build_options, write_lesson
from tests.source.helpers import one_error


def laughs(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines)


def test_yaml_bombs_are_refused_at_once_everywhere(tmp_path, tiny_models):
    bomb = laughs(9)
    started = time.perf_counter()
    line, message = one_error(f"---\n{bomb}\n---\n# A\n")
    assert (line, message) == (3, "front matter: YAML aliases (*name) are not allowed in lessons: write the value out")
    line, message = one_error(f"# A\n\n```lmreport\nanalysis: topk\nprompt: hi\n{bomb}\n```\n")
    assert line == 7 and "aliases" in message
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "lessons" / "course.yml").write_text(f"title: x\n{bomb}\n")
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.path.name, x.line) for x in e.value.errors] == [("course.yml", 3)]
    assert time.perf_counter() - started < 5 and len(str(e.value)) < 500


def test_duplicate_keys_are_errors_in_front_matter_and_course_file(tmp_path, tiny_models):
    assert one_error("---\ntitle: A\ntitle: B\n---\n") == (3, "front matter: 'title' is given twice")
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "lessons" / "course.yml").write_text("title: A\ndescription: d\ntitle: B\n")
    with pytest.raises(BuildFailed, match=r"course.yml:3: course.yml: 'title' is given twice"):
        build(build_options(tmp_path, tiny_models["gpt2"]))
