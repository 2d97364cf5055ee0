"""Writing the site folder: never over a folder lmreport did not make nor another site's backup, a symlinked
output stays a link, files added by hand or from extra/ are kept, and none replaces a page of the site."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lmreport.build import build
from lmreport.errors import LmreportError
from tests.conftest import build_options, opts, write_lesson


def test_refuses_to_replace_a_folder_it_did_not_make(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "precious.txt").write_text("keep me")
    with pytest.raises(Exception, match="not empty and was not made by lmreport"):
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (tmp_path / "site" / "precious.txt").read_text() == "keep me"


def test_glob_characters_in_the_output_touch_no_other_site(tmp_path, tiny_models):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    backup = tmp_path / f".sa.old-{dead.pid}"  # another site's backup, left by a build that was killed
    backup.mkdir()
    (backup / "page.html").write_text("the other site")
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    build(build_options(tmp_path, tiny_models["gpt2"], site_dir=tmp_path / "s*"))
    assert (tmp_path / "s*" / "01-a.html").is_file()
    assert (backup / "page.html").read_text() == "the other site"


def test_a_symlinked_output_stays_a_link(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "real").mkdir()
    (tmp_path / "site").symlink_to(tmp_path / "real")
    for _ in range(2):
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (tmp_path / "site").is_symlink() and (tmp_path / "real" / "01-a.html").is_file()
    assert sorted(os.listdir(tmp_path)) == ["lessons", "real", "site"]


def test_site_keeps_nojekyll_extra_files_and_a_hand_added_cname(tmp_path):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n")
    build(opts(tmp_path))
    assert (tmp_path / "site" / ".nojekyll").is_file()
    (tmp_path / "site" / "CNAME").write_text("course.example.org\n")  # added by hand after a build
    build(opts(tmp_path))
    assert (tmp_path / "site" / "CNAME").read_text() == "course.example.org\n"
    (lessons / "extra" / ".well-known").mkdir(parents=True)
    (lessons / "extra" / "CNAME").write_text("lessons.example.org\n")
    (lessons / "extra" / "robots.txt").write_text("User-agent: *\n")
    (lessons / "extra" / ".well-known" / "security.txt").write_text("Contact: x\n")
    build(opts(tmp_path))
    assert (tmp_path / "site" / "CNAME").read_text() == "lessons.example.org\n"
    assert (tmp_path / "site" / "robots.txt").is_file() and (tmp_path / "site/.well-known/security.txt").is_file()
    (lessons / "extra" / "index.html").write_text("mine")
    with pytest.raises(LmreportError, match="would replace the site's own 'index.html'"):
        build(opts(tmp_path))
    assert (tmp_path / "site" / "CNAME").read_text() == "lessons.example.org\n"  # the previous site is intact


def test_a_linked_file_cannot_replace_a_model_folder_page(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\n[e](llama/01-a.html)\n")
    (lessons / "llama").mkdir()
    (lessons / "llama" / "01-a.html").write_text("<h1>REPLACED</h1>")
    with pytest.raises(LmreportError, match="would replace the site's own 'llama/01-a.html'"):
        build(opts(tmp_path, models=(str(tiny_models["gpt2"]), str(tiny_models["llama"]))))


def test_a_link_in_the_extra_folder_is_an_error_whether_it_leads_to_a_file_or_a_folder(tmp_path):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("not for the site")
    (lessons / "extra").mkdir()
    (lessons / "extra" / "docs").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(LmreportError, match=r"extra/docs' in the extra folder is a link; only plain files"):
        build(opts(tmp_path))
    (lessons / "extra" / "docs").unlink()
    (lessons / "extra" / "secret.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    with pytest.raises(LmreportError, match=r"extra/secret.txt' in the extra folder is a link"):
        build(opts(tmp_path))
    (lessons / "extra" / "secret.txt").unlink()
    (lessons / "extra" / "sub").mkdir()
    (lessons / "extra" / "sub" / "a.txt").write_text("a")
    build(opts(tmp_path))
    assert (tmp_path / "site" / "sub" / "a.txt").read_text() == "a"
