"""The built wheel, installed (not editable) into a clean environment outside the repository, builds a course:
templates, styles and scripts ship inside it."""

from __future__ import annotations

import subprocess
import sys
import sysconfig

from tests.conftest import REPO


def test_wheel_installs_and_builds_a_course_outside_the_repository(tmp_path, tiny_models):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(REPO)], check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("lmreport-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python*/site-packages"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", "--target",
                    str(site), str(wheel)], check=True, capture_output=True, timeout=300)
    # lmreport's dependencies from this environment, read after the clean one's own packages (no editable
    # lmreport: that needs this environment's .pth files, which a path listed in a .pth does not run).
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(python), "-c", "import lmreport; print(lmreport.__file__)"], cwd=work,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), where
    run = subprocess.run([str(python), "-m", "lmreport.cli", "init", "course"], cwd=work, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([str(python), "-m", "lmreport.cli", "build", "--model", str(tiny_models["gpt2"])],
                         cwd=work / "course", capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    built = work / "course" / "site"
    assert (built / "assets" / "lmreport.css").is_file() and (built / "assets" / "mathjax-config.js").is_file()
    page = (built / "01-what-comes-next.html").read_text()
    assert page.count('class="lmreport-figure') == 2 and '<link rel="stylesheet" href="assets/lmreport.css">' in page
    # what only a course with a playground copies: the page scripts and each analysis's drawing of a reader's prompt
    import zipfile

    from lmreport.playground.site import try_scripts

    names = set(zipfile.ZipFile(wheel).namelist())
    scripts = ("engine.js", "playground.js", "try-prompt.js", "tokenizer.js")
    wanted = {f"lmreport/playground/static/{n}" for n in scripts}
    wanted |= {path.relative_to(REPO).as_posix() for path in try_scripts().values()}
    assert wanted <= names, wanted - names
