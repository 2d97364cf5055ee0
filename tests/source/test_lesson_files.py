"""Lesson files: one too large, badly named, not a regular file or not a lesson at all is an error or warning
at its file, found before any model work."""

from __future__ import annotations

import os

import pytest

from lmreport.build import build
from lmreport.errors import BuildFailed
from lmreport.source.lessons import scan_lessons
from tests.conftest import build_options, write_lesson
from tests.source.helpers import BLOCK


def test_a_lesson_too_large_is_refused_without_reading_it(tmp_path):
    write_lesson(tmp_path, "01-big.md", "# big\n" + "word " * 300_000)
    result = scan_lessons(tmp_path)
    assert [str(e).split("/")[-1] for e in result.errors] == [
        "01-big.md:1: is 1,500,006 bytes; at most 200,000 are read"]


def test_a_long_file_name_is_an_error_before_any_model_work(tmp_path, tiny_models, forget_models):
    from lmreport import models

    write_lesson(tmp_path / "lessons", "a" * 200 + ".md", "# a\n\n" + BLOCK)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, x.message[:27]) for x in e.value.errors] == [(1, "file name is 200 characters")]
    assert models._LOADED == {}


def test_a_file_name_with_a_newline_is_refused(tmp_path):
    write_lesson(tmp_path, "01-a\n.md", "# a\n")
    result = scan_lessons(tmp_path)
    assert [str(e).split("/")[-1] for e in result.errors] == [
        "01-a\\x0a.md:1: file name '01-a\\x0a.md' makes a bad page name: use letters, digits, '-' and '_', "
        "starting with a letter or digit"]


def test_files_that_are_not_lessons_are_named_not_skipped(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# a\n")
    write_lesson(lessons, "02-b.MD", "# b\n")
    os.mkfifo(lessons / "03-c.md")
    (lessons / "04-d.md").symlink_to(lessons / "nowhere.md")
    result = scan_lessons(lessons)
    assert sorted(str(e).split("lessons/")[1] for e in result.errors) == [
        "03-c.md:1: is not a regular file; not read", "04-d.md:1: is a link to nothing; not read"]
    assert [str(w).split("lessons/")[1] for w in result.warnings] == [
        "02-b.MD:1: not read: lesson files end in '.md', not '.MD'"]
    (lessons / "03-c.md").unlink()
    (lessons / "04-d.md").unlink()
    (lessons / "course.yaml").write_text("title: x\n")
    with pytest.raises(BuildFailed, match=r"course.yaml:1: not read: the course file is named course.yml"):
        build(build_options(tmp_path, tiny_models["gpt2"]))


def test_a_loop_of_links_among_lessons_is_an_error_at_each_file(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-ok.md", "# A\n")
    (lessons / "a.md").symlink_to("b.md")
    (lessons / "b.md").symlink_to("a.md")
    (lessons / "self.md").symlink_to("self.md")
    with pytest.raises(BuildFailed) as failed:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    lines = str(failed.value).splitlines()
    for name in ("a.md", "b.md", "self.md"):
        assert any(line.endswith(f"{name}:1: is a loop of links (a link that leads back to itself); not read")
                   for line in lines), name
    assert not (tmp_path / "site").exists()
