"""Every page of the site: index, lessons, 404, each lesson's figures' data files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from lmreport.playground.site import WEIGHT_TEXT, write_files
from lmreport.site import search
from lmreport.site.assets import script_names, write_assets
from lmreport.site.compare import write_comparisons
from lmreport.site.fragments import (
    figure_html,
    lesson_html,
    place_markers,
    place_references,
    try_prompt_html,
    with_values,
)
from lmreport.site.info import ModelSite, PlacedFigure, SiteInfo
from lmreport.site.tables import csv_text
from lmreport.source import markdown
from lmreport.source.lessons import Lesson
from lmreport.views.figure import script_json

TEMPLATES = Path(__file__).parent / "templates"


def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def write_pages(root: Path, lessons: list[Lesson], info: SiteInfo, nonce: str) -> int:
    env = environment()
    write_assets(root, math=any(markdown.has_math(lesson.tokens) for lesson in lessons))
    course = {key: info.course.get(key, "") for key in ("title", "description", "author", "base_url")}
    matrix = len(info.sites) > 1
    compared = {(c.lesson.slug, c.index): c.page for c in info.comparisons}
    pages = 0
    searched: list[tuple[str, str, str]] = []  # the first model's lessons: (file, title, body) for the index
    navs = {}  # per model: a title that holds a number of the prose shows that model's number
    manifest = None
    if info.playground is not None:  # its files first: the lessons' "try your own prompt" boxes read the manifest
        bundle, summary = info.playground
        manifest = write_files(root, bundle, summary)
    for site in info.sites:
        nav = navs[site.folder] = [
            {"slug": lesson.slug, "title": with_values(lesson.title, site.references.get(lesson.slug, [])),
             "description": lesson.description} for lesson in lessons]
        folder = root / site.folder if site.folder else root
        base = "../" if site.folder else ""
        (folder / "data").mkdir(parents=True)
        common = {"course": course, "versions": info.versions, "build_date": info.build_date, "lessons": nav,
                  "base": base, "nav_base": "", "compare_url": f"{base}compare/index.html" if matrix else None,
                  "playground_url": f"{base}playground.html" if info.playground else None,
                  # the pages of a model the prose was not written for say so, and how much of it holds here
                  "written_for": None if site is info.sites[0] else {
                      "label": info.sites[0].label, "here": site.label, "counts": site.counts.text()}}

        def switch(page: str, site: ModelSite = site, base: str = base) -> list[dict[str, Any]]:
            """The same page on each model of the matrix."""
            return [{"label": v.label, "url": f"{base}{v.folder + '/' if v.folder else ''}{page}",
                     "current": v is site} for v in info.sites] if matrix else []

        prefix = f"{site.folder}/" if site.folder else ""
        index = env.get_template("index.html").render(
            **common, page_title=None, current=None, scripts=[], models=[site.model], switch=switch("index.html"),
            canonical=_canonical(course, prefix),
        )
        (folder / "index.html").write_text(index, encoding="utf-8")
        for i, lesson in enumerate(lessons):
            figures = site.figures.get(lesson.slug, [])
            links = {f.index: f"{base}compare/{compared[(lesson.slug, f.index)]}" for f in figures
                     if (lesson.slug, f.index) in compared}
            trying = manifest if site is info.sites[0] else None  # the playground runs the first model only
            body, groups = _lesson_body(folder, env, lesson, figures, nonce, links, base, trying)
            if markdown.has_math(lesson.tokens):
                groups.add("math")
            toc = [{**entry, "text": with_values(entry["text"], site.references.get(lesson.slug, []))}
                   for entry in markdown.table_of_contents(lesson.tokens)]
            if len(toc) >= 2:  # after the page's title, or at its top
                nav_html = env.get_template("toc.html").render(toc=toc)
                at = body.find("</h1>\n") + len("</h1>\n") if body.startswith("<h1") else 0
                body = body[:at] + nav_html + body[at:]
            body = place_references(body, lesson, site.references.get(lesson.slug, []), nonce,
                                    checked_here=site is info.sites[0])
            if site is info.sites[0]:
                searched.append((f"{lesson.slug}.html", nav[i]["title"], body))
            models = _unique([f.result.model for f in figures]) or [site.model]
            page = env.get_template("lesson.html").render(
                **common,
                page_title=nav[i]["title"],
                current=nav[i],
                previous=nav[i - 1] if i > 0 else None,
                next=nav[i + 1] if i + 1 < len(nav) else None,
                body=Markup(body),
                scripts=script_names(groups - {TRY_PROMPT}),
                try_prompt=TRY_PROMPT in groups,
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
    nav = navs[info.sites[0].folder]
    missing = env.get_template("404.html").render(
        course=course, versions=info.versions, build_date=info.build_date, lessons=nav, base=top, nav_base=top,
        compare_url=f"{top}compare/index.html" if matrix else None, page_title="Page not found", current=None,
        playground_url=f"{top}playground.html" if info.playground else None, scripts=[],
        models=[info.sites[0].model], switch=[], canonical=None)
    (root / "404.html").write_text(missing, encoding="utf-8")
    if matrix:
        pages += write_comparisons(root, env, info, nav, course)
    if manifest is not None:
        prompts = list(summary["built"])
        page = env.get_template("playground.html").render(
            course=course, versions=info.versions, build_date=info.build_date, lessons=nav, base="", nav_base="",
            compare_url="compare/index.html" if matrix else None, playground_url="playground.html",
            page_title="Try your own prompt", current=None, here="playground", scripts=[], models=[info.sites[0].model],
            switch=[], canonical=_canonical(course, "playground.html"), manifest=manifest,
            manifest_json=Markup(script_json(manifest)), weight_text=WEIGHT_TEXT[summary["weights"]],
            greedy=manifest["greedy"],
            example=prompts[0] if prompts else "The capital of France is")
        (root / "playground.html").write_text(page, encoding="utf-8")
        pages += 1
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


TRY_PROMPT = "try-prompt"  # in a lesson's groups: a figure has a "try your own prompt" box (playground/try-prompt.js)


def _lesson_body(
    root: Path, env: Environment, lesson: Lesson, figures: list[PlacedFigure], nonce: str,
    compare_links: dict[int, str] | None = None, base: str = "", manifest: dict[str, Any] | None = None,
) -> tuple[str, set[str]]:
    groups: set[str] = set()
    blocks: dict[int, str] = {}
    for placed in figures:
        groups |= placed.figure.assets
        _write_json(root / placed.data_name, _figure_json(lesson, placed))
        table = csv_text(placed.result.analysis, placed.result.data)
        if table is not None:
            (root / placed.csv_name).write_text(table, encoding="utf-8")
        box = try_prompt_html(env, placed, manifest, WEIGHT_TEXT[manifest["weights"]]) if manifest else ""
        if box:
            groups.add(TRY_PROMPT)
        blocks[placed.index] = figure_html(env, placed, placed.data_name, (compare_links or {}).get(placed.index),
                                           try_box=box)
    lines = {placed.index: placed.line for placed in figures}
    body = place_markers(lesson_html(lesson, base), markdown.slot_pattern(nonce), blocks, lesson, lines, "figure")
    return body, groups


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
