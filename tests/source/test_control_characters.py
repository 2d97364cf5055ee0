"""Control characters never reach a page raw: in prose, front matter and YAML values they are errors at their
lines."""

from __future__ import annotations

import pytest

from lmreport.build import BuildOptions, build
from lmreport.errors import BuildFailed
from tests.conftest import write_lesson
from tests.source.helpers import one_error


def test_control_characters_in_prose_are_errors_at_their_line():
    assert one_error("# A\n\nfine\n\nan \x1b[2J escape\n") == (5, "the control character U+001B in the lesson: "
                                                                  "remove it")


def test_next_line_in_prose_is_an_error_at_its_own_line():
    assert one_error("# A\n\nx\x85y\n\nz\n") == (3, "the control character U+0085 in the lesson: remove it")


def test_lone_surrogate_in_front_matter_is_an_error(tmp_path):
    line, message = one_error('---\ntitle: "a\\ud800"\n---\n')
    assert (line, message) == (2, "front matter 'title' contains the control character U+D800")


def test_a_line_separator_inside_a_yaml_value_is_an_error_not_a_space():
    line, message = one_error('# A\n\n```lmreport\nanalysis: topk\nprompt: "a\u2028b"\n```\n')
    assert line == 5 and message.startswith("lmreport block: contains U+2028 (LINE SEPARATOR)")


def test_control_characters_in_front_matter_and_javascript_links(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", '---\ntitle: "bell \\a"\n---\n# A\n')
    write_lesson(tmp_path / "lessons", "02-b.md", "# B\n\ntext\n\n[click](javascript:alert(1))\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site",
                           model=str(tiny_models["gpt2"]), cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(BuildFailed, match=r"01-a.md:2: front matter 'title' contains the control character U\+0007"):
        build(options)
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n")
    with pytest.raises(BuildFailed, match=r"02-b.md:5: link to 'javascript:alert\(1\)' is not allowed"):
        build(options)
