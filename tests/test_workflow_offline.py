"""The Pages workflow `lmreport init` writes, run as written: its `run:` steps, in order, in a fresh virtual
environment, installing from a local wheelhouse (lmreport's wheel built from this checkout and every pin of the
course's requirements files) with no package index and, where the machine allows, no network at all.

The wheelhouse is made by `.ci/wheelhouse COURSE DIR` (CI does it and sets LMREPORT_WHEELHOUSE); without it the
test is skipped locally, and never in CI (LMREPORT_REQUIRE_WHEELHOUSE=1 turns the skip into a failure)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lmreport.cli import main

WHEELHOUSE = os.environ.get("LMREPORT_WHEELHOUSE")


def _wheelhouse() -> Path:
    if WHEELHOUSE and Path(WHEELHOUSE, ".complete").is_file():
        return Path(WHEELHOUSE)
    if os.environ.get("LMREPORT_REQUIRE_WHEELHOUSE") == "1":
        pytest.fail(f"LMREPORT_REQUIRE_WHEELHOUSE=1 but no wheelhouse at {WHEELHOUSE!r} (run .ci/wheelhouse)")
    pytest.skip("no wheelhouse: run `.ci/wheelhouse COURSE DIR` and set LMREPORT_WHEELHOUSE=DIR")


def _offline() -> list[str]:
    """A prefix that runs a command with no network (a new network namespace), where the machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn"]
    return []


@pytest.mark.embedded
def test_the_init_workflow_installs_from_a_wheelhouse_and_builds_with_no_network(tmp_path):
    wheels = _wheelhouse()
    course = tmp_path / "course"
    assert main(["init", str(course)]) == 0
    # The wheelhouse holds what this course pins: the same environment wrote both.
    have = {p.name.split("-")[0].lower().replace("_", "-") for p in wheels.glob("*.whl")}
    pinned = {line.split("==")[0].split(" @")[0].lower().replace("_", "-")
              for name in ("requirements.txt", "requirements-carriers.txt")
              for line in (course / name).read_text().splitlines() if line and not line.startswith("#")}
    assert pinned <= have, f"the wheelhouse lacks {sorted(pinned - have)}: remake it with .ci/wheelhouse"

    venv = tmp_path / "runner"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
        "VIRTUAL_ENV": str(venv), "LANG": "C.UTF-8",
        # No index: pip may only read the wheelhouse (and the --index-url the workflow names is ignored).
        "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }
    if os.environ.get("LMREPORT_CACHE_HOME"):
        env["LMREPORT_CACHE_HOME"] = os.environ["LMREPORT_CACHE_HOME"]
    workflow = yaml.safe_load((course / ".github/workflows/pages.yml").read_text())
    steps = [step for step in workflow["jobs"]["build"]["steps"] if "run" in step]
    assert [step["name"] for step in steps] == [
        "Install lmreport as pinned (torch's CPU build; then the file-carrier packages, without theirs)",
        "Build the site"]
    offline = _offline()
    for step in steps:
        # As GitHub runs a `run:` step on Linux: bash -e, in the checkout.
        done = subprocess.run([*offline, "bash", "-e", "-c", step["run"]], cwd=course, env=env,
                              capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, f"{step['name']}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"

    # The runner's lmreport is the wheel, not this checkout, and the environment is exactly the pinned one.
    python = venv / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import lmreport; print(lmreport.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)), where
    frozen = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], env=env, capture_output=True, text=True,
                            check=True).stdout.lower().replace("_", "-").splitlines()
    for name in ("requirements.txt", "requirements-carriers.txt"):
        for line in (course / name).read_text().splitlines():
            if line and not line.startswith(("#", "lmreport")):
                assert line.lower().replace("_", "-") in frozen, f"{line} is not what the runner installed"
    page = (course / "site" / "01-what-comes-next.html").read_text()
    assert page.count('class="lmreport-figure') == 2
