"""Writing the site: pages, figures and their JSON into a staging folder, then one swap.

A failed or killed build never touches the previous site: everything is written beside it first.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from . import prose, search
from .assets import script_names, write_assets
from .errors import LessonError, LmreportError
from .lessons import Lesson
from .references import Resolved
from .render.common import Figure, display_token
from .render.guide import guide_html
from .result import Result
from .tables import csv_text, has_table

log = logging.getLogger("lmreport")
MARKER = ".lmreport-site"
# Installed wheels carry the templates inside the package; a source checkout keeps them at its top.
TEMPLATES = next(
    p for p in (Path(__file__).parent / "templates", Path(__file__).parent.parent / "templates") if p.is_dir()
)


@dataclass
class PlacedFigure:
    """A computed result, its drawing, where it goes, and how it is captioned."""

    lesson: Lesson
    index: int
    line: int
    title: str
    result: Result
    figure: Figure
    block_id: str | None = None
    folder: str = ""  # of its model's pages in a model matrix ('' for the site's root)

    @property
    def figure_id(self) -> str:
        return figure_id(self.index)

    @property
    def data_name(self) -> str:
        """Its numbers' file, from its model's folder."""
        return f"data/{self.lesson.slug}-{self.index + 1}-{self.result.analysis}.json"

    @property
    def csv_name(self) -> str:
        """Its numbers as a table, for analyses whose numbers are one (tables.TABLES)."""
        return self.data_name.removesuffix(".json") + ".csv"


def figure_id(index: int) -> str:
    """The id of the index-th figure of a page (unique on its page)."""
    return f"fig-{index + 1}"


@dataclass
class SiteVariant:
    """The course's pages on one model: in the site's root, or in a folder of a model matrix."""

    label: str
    folder: str
    model: dict[str, str]
    figures: dict[str, list[PlacedFigure]] = field(default_factory=dict)
    references: dict[str, list[Resolved]] = field(default_factory=dict)


@dataclass
class Comparison:
    """One block of a lesson drawn on every model of the matrix (figures in the matrix's order)."""

    lesson: Lesson
    index: int
    figures: list[PlacedFigure]

    @property
    def page(self) -> str:
        return f"{self.lesson.slug}-{self.index + 1}.html"


@dataclass
class SiteInfo:
    course: dict[str, Any]
    versions: dict[str, str]
    build_date: str
    variants: list[SiteVariant]
    comparisons: list[Comparison] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # site path -> a file lessons link to
    extra: Path | None = None  # a folder copied as it is into the site's top


def recover(site_dir: Path) -> None:
    """Tidy up after builds that were killed: a build that died between its two renames left the previous
    site beside its place, so put it back; staging folders of dead builds are removed. Names are compared
    as plain text (a site called 's*' must not match another site's backups)."""
    parent = Path(site_dir).parent
    if not parent.is_dir():
        return
    old, new = f".{site_dir.name}.old-", f".{site_dir.name}.new-"
    for name in sorted(os.listdir(parent), key=lambda n: not n.startswith(old)):
        prefix = old if name.startswith(old) else new if name.startswith(new) else None
        pid = _pid_of(name[len(prefix):]) if prefix else None
        if pid is None or _alive(pid):
            continue
        path = parent / name
        if prefix == old and not os.path.lexists(site_dir):
            os.rename(path, site_dir)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _pid_of(rest: str) -> int | None:
    match = re.match(r"(\d+)(?:-|$)", rest)
    return int(match.group(1)) if match else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_replaceable(site_dir: Path) -> None:
    """Refuse to replace a folder lmreport did not make (a typo in -o must not delete user files)."""
    for ancestor in Path(site_dir).absolute().parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise LmreportError(f"cannot write the site into '{site_dir}': '{ancestor}' is a file, not a folder")
            break
    if site_dir.exists():
        if not site_dir.is_dir():
            raise LmreportError(f"output '{site_dir}' exists and is not a folder")
        if not (site_dir / MARKER).exists() and any(site_dir.iterdir()):
            raise LmreportError(
                f"output folder '{site_dir}' is not empty and was not made by lmreport; not replacing it"
            )


def write_site(site_dir: Path, lessons: list[Lesson], info: SiteInfo, nonce: str) -> int:
    """Write every page into a staging folder and swap it in; return the number of pages."""
    site_dir = Path(site_dir)
    recover(site_dir)
    check_replaceable(site_dir)
    try:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=site_dir.parent, prefix=f".{site_dir.name}.new-{os.getpid()}-"))
    except OSError as e:
        raise LmreportError(f"cannot write beside '{site_dir}': {e.strerror}") from None
    try:
        pages = _write_pages(staging, lessons, info, nonce)
        _copy_files(staging, site_dir, info)
        (staging / MARKER).write_text("made by lmreport; the whole folder is replaced at each build\n")
        (staging / ".nojekyll").write_text("")  # GitHub Pages: serve the site as it is (no Jekyll)
        _swap(staging, site_dir)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise LmreportError(f"cannot write the site into '{site_dir}': {e}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return pages


def _copy_files(staging: Path, site_dir: Path, info: SiteInfo) -> None:
    """Files the lessons link to, at their paths; the extra folder's files at the top (never over a file the
    build wrote); a CNAME the previous site had and the course does not is kept, with a warning."""
    for relative, source in sorted(info.files.items()):
        target = staging / relative
        if target.exists() or relative.split("/")[0] in {v.folder for v in info.variants if v.folder}:
            raise LmreportError(f"'{source}', which a lesson links to, would replace the site's own "
                                f"'{relative}': rename it")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    if info.extra is not None:
        for source in sorted(info.extra.rglob("*")):
            relative = source.relative_to(info.extra)
            if any(part.startswith(".") and part != ".well-known" for part in relative.parts) or source.is_dir():
                continue
            target = staging / relative
            if target.exists() or relative.parts[0] in ("assets", "data", "compare"):
                raise LmreportError(f"'{source}' in the extra folder would replace the site's own "
                                    f"'{relative.as_posix()}': rename it")
            if source.is_symlink() or not source.is_file():
                raise LmreportError(f"'{source}' in the extra folder is not a plain file")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    old_cname = Path(site_dir) / "CNAME"
    if not (staging / "CNAME").exists() and old_cname.is_file() and not old_cname.is_symlink():
        shutil.copyfile(old_cname, staging / "CNAME")
        log.warning("kept the CNAME of the previous site; put it in the lessons' extra/ folder so that every build "
                    "writes it")


def _swap(staging: Path, site_dir: Path) -> None:
    os.chmod(staging, 0o755)
    if not site_dir.exists():
        os.rename(staging, site_dir)
        return
    old = site_dir.with_name(f".{site_dir.name}.old-{os.getpid()}")
    os.rename(site_dir, old)
    os.rename(staging, site_dir)
    shutil.rmtree(old, ignore_errors=True)


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _write_pages(root: Path, lessons: list[Lesson], info: SiteInfo, nonce: str) -> int:
    env = _environment()
    write_assets(root, math=any(prose.has_math(lesson.tokens) for lesson in lessons))
    nav = [{"slug": lesson.slug, "title": lesson.title, "description": lesson.description} for lesson in lessons]
    course = {key: info.course.get(key, "") for key in ("title", "description", "author", "base_url")}
    matrix = len(info.variants) > 1
    compared = {(c.lesson.slug, c.index): c.page for c in info.comparisons}
    pages = 0
    searched: list[tuple[str, str, str]] = []  # the first model's lessons: (file, title, body) for the index
    for variant in info.variants:
        folder = root / variant.folder if variant.folder else root
        base = "../" if variant.folder else ""
        (folder / "data").mkdir(parents=True)
        common = {"course": course, "versions": info.versions, "build_date": info.build_date, "lessons": nav,
                  "base": base, "nav_base": "", "compare_url": f"{base}compare/index.html" if matrix else None}

        def switch(page: str, variant: SiteVariant = variant, base: str = base) -> list[dict[str, Any]]:
            """The same page on each model of the matrix."""
            return [{"label": v.label, "url": f"{base}{v.folder + '/' if v.folder else ''}{page}",
                     "current": v is variant} for v in info.variants] if matrix else []

        prefix = f"{variant.folder}/" if variant.folder else ""
        index = env.get_template("index.html").render(
            **common, page_title=None, current=None, scripts=[], models=[variant.model], switch=switch("index.html"),
            canonical=_canonical(course, prefix),
        )
        (folder / "index.html").write_text(index, encoding="utf-8")
        for i, lesson in enumerate(lessons):
            figures = variant.figures.get(lesson.slug, [])
            links = {f.index: f"{base}compare/{compared[(lesson.slug, f.index)]}" for f in figures
                     if (lesson.slug, f.index) in compared}
            body, groups = _lesson_body(folder, env, lesson, figures, nonce, links, base)
            if prose.has_math(lesson.tokens):
                groups.add("math")
            toc = prose.table_of_contents(lesson.tokens)
            if len(toc) >= 2:  # after the page's title, or at its top
                nav_html = env.get_template("toc.html").render(toc=toc)
                at = body.find("</h1>\n") + len("</h1>\n") if body.startswith("<h1") else 0
                body = body[:at] + nav_html + body[at:]
            body = _place_references(body, lesson, variant.references.get(lesson.slug, []), nonce)
            if variant is info.variants[0]:
                searched.append((f"{lesson.slug}.html", lesson.title, body))
            models = _unique([f.result.model for f in figures]) or [variant.model]
            page = env.get_template("lesson.html").render(
                **common,
                page_title=lesson.title,
                current=nav[i],
                previous=nav[i - 1] if i > 0 else None,
                next=nav[i + 1] if i + 1 < len(nav) else None,
                body=Markup(body),
                scripts=script_names(groups),
                models=models,
                switch=switch(f"{lesson.slug}.html"),
                canonical=_canonical(course, f"{prefix}{lesson.slug}.html"),
            )
            (folder / f"{lesson.slug}.html").write_text(page, encoding="utf-8")
        pages += len(lessons) + 1
    (root / "assets" / "search-index.js").write_text(search.index_script(searched), encoding="utf-8")
    # GitHub Pages serves 404.html for any missing address, at any depth: links from the published address when
    # the course gives it, else from the site's top.
    top = course["base_url"] or ""
    missing = env.get_template("404.html").render(
        course=course, versions=info.versions, build_date=info.build_date, lessons=nav, base=top, nav_base=top,
        compare_url=None, page_title="Page not found", current=None, scripts=[], models=[info.variants[0].model],
        switch=[], canonical=None)
    (root / "404.html").write_text(missing, encoding="utf-8")
    if matrix:
        pages += write_comparisons(root, env, info, nav, course)
    if course["base_url"]:
        _write_sitemap(root, course["base_url"])
    return pages


def _canonical(course: dict[str, str], page: str) -> str | None:
    """The page's address where the course is published (course.yml's base_url), if it says."""
    return course["base_url"] + page if course["base_url"] else None


def _write_sitemap(root: Path, base_url: str) -> None:
    """sitemap.xml: every page of the site at its published address."""
    from xml.sax.saxutils import escape

    pages = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))
    urls = "".join(f"<url><loc>{escape(base_url + ('' if p == 'index.html' else p))}</loc></url>\n"
                   for p in pages)
    (root / "sitemap.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                                      '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                                      f"{urls}</urlset>\n", encoding="utf-8")


def write_comparisons(root: Path, env: Environment, info: SiteInfo, nav: list[dict[str, Any]],
                      course: dict[str, str]) -> int:
    """compare/: a page per compared block (its figure on each model, with the numbers and claims of the prose
    that cite it, per model) and an index with every claim of the course on every model."""
    folder = root / "compare"
    folder.mkdir()
    labels = [v.label for v in info.variants]
    common = {"course": course, "versions": info.versions, "build_date": info.build_date, "lessons": nav,
              "base": "../", "nav_base": "../", "compare_url": "index.html", "switch": [], "current": None,
              "canonical": None,
              "models": [v.model for v in info.variants]}
    for comparison in info.comparisons:
        groups: set[str] = set()
        cells = []
        for number, (variant, placed) in enumerate(zip(info.variants, comparison.figures, strict=True)):
            groups |= placed.figure.assets
            data_url = f"../{variant.folder + '/' if variant.folder else ''}{placed.data_name}"
            element_id = f"m{number + 1}-{placed.figure_id}"  # as render_comparisons drew it
            html = _figure_html(env, placed, data_url, None, element_id)
            cells.append({"label": variant.label, "html": Markup(html)})
        block_id = comparison.figures[0].block_id
        rows = _reference_rows(info, comparison.lesson, block_id) if block_id else []
        page = env.get_template("compare.html").render(
            **common, page_title=f"{comparison.figures[0].title} across models", comparison=comparison,
            lesson_url=f"../{comparison.lesson.slug}.html#{comparison.figures[0].figure_id}", cells=cells,
            labels=labels, rows=rows, scripts=script_names(groups), title=comparison.figures[0].title,
            prompt=_prompt(comparison.figures[0].result))
        (folder / comparison.page).write_text(page, encoding="utf-8")
    claims = [row for row in _reference_rows(info) if row["kind"] == "claim"]
    holding = [sum(1 for row in claims if row["cells"][i]["holds"]) for i in range(len(labels))]
    index = env.get_template("compare_index.html").render(
        **common, page_title="Models compared", comparisons=info.comparisons, labels=labels, rows=claims,
        holding=holding, scripts=[])
    (folder / "index.html").write_text(index, encoding="utf-8")
    return len(info.comparisons) + 1


def _reference_rows(info: SiteInfo, lesson: Lesson | None = None, block_id: str | None = None
                    ) -> list[dict[str, Any]]:
    """The numbers and claims of the prose (of one lesson's block, or all), each with its value on every model."""
    rows = []
    first = info.variants[0].references
    for slug, items in first.items():
        if lesson is not None and slug != lesson.slug:
            continue
        for n, item in enumerate(items):
            if block_id is not None and block_id not in {call.block for call in item.reference.calls}:
                continue
            cells = [v.references[slug][n] for v in info.variants]
            rows.append({"kind": item.reference.kind, "written": item.reference.source, "slug": slug,
                         "line": item.reference.line, "file": item.reference.path.name,
                         "cells": [{"html": Markup(reference_html(c)), "holds": c.holds} for c in cells]})
    return rows


def _prompt(result: Result) -> str:
    return result.options.get("prompt") or " / ".join(result.options.get("prompts", []))


def lesson_html(lesson: Lesson, base: str = "") -> str:
    """The lesson's prose as HTML (raw HTML in it shown as text; its links were checked when it was read),
    with a slot where each figure goes; base leads from the page's folder to the site's top."""
    return prose.render(lesson.tokens, lesson.nonce, base)


def _lesson_body(
    root: Path, env: Environment, lesson: Lesson, figures: list[PlacedFigure], nonce: str,
    compare_links: dict[int, str] | None = None, base: str = "",
) -> tuple[str, set[str]]:
    groups: set[str] = set()
    blocks: dict[int, str] = {}
    for placed in figures:
        groups |= placed.figure.assets
        _write_json(root / placed.data_name, _figure_json(lesson, placed))
        table = csv_text(placed.result.analysis, placed.result.data)
        if table is not None:
            (root / placed.csv_name).write_text(table, encoding="utf-8")
        blocks[placed.index] = _figure_html(env, placed, placed.data_name, (compare_links or {}).get(placed.index))
    lines = {placed.index: placed.line for placed in figures}
    return _place(lesson_html(lesson, base), prose.slot_pattern(nonce), blocks, lesson, lines, "figure"), groups


def _figure_html(env: Environment, placed: PlacedFigure, data_url: str, compare_url: str | None = None,
                 element_id: str | None = None) -> str:
    return env.get_template("figure.html").render(
        analysis=placed.result.analysis,
        figure_id=element_id or placed.figure_id,
        title=placed.title,
        prompt=_prompt(placed.result),
        data_url=data_url,
        csv_url=data_url.removesuffix(".json") + ".csv" if has_table(placed.result.analysis, placed.result.data)
        else None,
        model=placed.result.model,
        notes=placed.result.data.get("notes", []),
        html=Markup(placed.figure.html),
        compare_url=compare_url,
        guide=guide_html(placed.result.analysis, placed.result.data) if "skipped" not in placed.result.data else "",
    )


def _place_references(html: str, lesson: Lesson, resolved: list[Resolved], nonce: str) -> str:
    """Each number and claim of the prose where its marker stands."""
    fragments = {i: reference_html(item) for i, item in enumerate(resolved)}
    lines = {i: item.reference.line for i, item in enumerate(resolved)}
    return _place(html, prose.reference_pattern(nonce), fragments, lesson, lines, "reference")


def _place(html: str, pattern: str, fragments: dict[int, str], lesson: Lesson, lines: dict[int, int],
           what: str) -> str:
    """Every marker of pattern (its group: the fragment's number) replaced by its fragment, in one pass over
    the page: a replace per marker would be quadratic in their number. A fragment whose marker is not there
    exactly once is an error at its line."""
    seen: Counter[int] = Counter()

    def put(match: re.Match[str]) -> str:
        index = int(match.group(1))
        seen[index] += 1
        return fragments.get(index, match.group(0))

    html = re.sub(pattern, put, html)
    for index in sorted(fragments):
        if seen[index] != 1:
            raise LessonError(lesson.path, lines[index], f"cannot place this {what}")
    return html


def reference_html(item: Resolved) -> str:
    """A number from the build as prose shows it, or a claim's mark: a tick when it holds, a visible warning
    with the numbers when it does not. The tooltip says where the value came from."""
    source = item.reference.source
    if item.holds is None and item.detail:  # a reference to a block skipped for this model
        return Markup('<span class="lmreport-value lmreport-skipped" title="{}">n/a</span>').format(item.detail)
    if item.reference.kind == "value":
        title = f"{source} = {item.value!r} (computed by this build)"
        if item.token:
            return Markup('<code class="lmreport-value" title="{}">{}</code>').format(title, display_token(item.text))
        return Markup('<span class="lmreport-value" title="{}">{}</span>').format(title, item.text)
    if item.holds:
        checked = f"Checked by this build: {item.detail}"
        return Markup('<span class="lmreport-claim" title="{}">✓</span>').format(checked)
    return Markup('<span class="lmreport-claim lmreport-claim-failed" title="{}">✗ not true for this model: {}</span>'
                  ).format(f"Claim `{source}` checked by this build", item.detail)


def _figure_json(lesson: Lesson, placed: PlacedFigure) -> dict[str, Any]:
    result = placed.result
    return {
        "lesson": lesson.slug,
        "figure": placed.index + 1,
        "id": placed.block_id,
        "title": placed.title,
        "analysis": result.analysis,
        "options": result.options,
        "model": result.model,
        "data": result.data,
    }


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))


def _unique(models: list[dict[str, str]]) -> list[dict[str, str]]:
    seen, out = set(), []
    for m in models:
        key = (m["name"], m["revision"])
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out
