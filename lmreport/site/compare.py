"""compare/: a model matrix's comparison pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from lmreport.site.assets import script_names
from lmreport.site.fragments import figure_html, prompt_of, reference_rows
from lmreport.site.info import SiteInfo


def write_comparisons(root: Path, env: Environment, info: SiteInfo, nav: list[dict[str, Any]],
                      course: dict[str, str]) -> int:
    """compare/: a page per compared block (its figure on each model, with the numbers and claims of the prose
    that cite it, per model) and an index with every claim of the course on every model."""
    folder = root / "compare"
    folder.mkdir()
    labels = [v.label for v in info.sites]
    common = {"course": course, "versions": info.versions, "build_date": info.build_date, "lessons": nav,
              "base": "../", "nav_base": "../", "compare_url": "index.html", "switch": [], "current": None,
              "canonical": None, "playground_url": "../playground.html" if info.playground else None,
              "models": [v.model for v in info.sites]}
    for comparison in info.comparisons:
        groups: set[str] = set()
        cells = []
        for number, (site, placed) in enumerate(zip(info.sites, comparison.figures, strict=True)):
            groups |= placed.figure.assets
            data_url = f"../{site.folder + '/' if site.folder else ''}{placed.data_name}"
            element_id = f"m{number + 1}-{placed.figure_id}"  # as render_comparisons drew it
            html = figure_html(env, placed, data_url, None, element_id)
            cells.append({"label": site.label, "html": Markup(html)})
        block_id = comparison.figures[0].block_id
        rows = reference_rows(info, comparison.lesson, block_id) if block_id else []
        page = env.get_template("compare.html").render(
            **common, page_title=f"{comparison.figures[0].title} across models", comparison=comparison,
            lesson_url=f"../{comparison.lesson.slug}.html#{comparison.figures[0].figure_id}", cells=cells,
            labels=labels, rows=rows, scripts=script_names(groups), title=comparison.figures[0].title,
            prompt=prompt_of(comparison.figures[0].result))
        (folder / comparison.page).write_text(page, encoding="utf-8")
    claims = [row for row in reference_rows(info) if row["kind"] == "claim"]
    holding = [site.counts.text() for site in info.sites]
    index = env.get_template("compare_index.html").render(
        **common, here="compare", page_title="Models compared", comparisons=info.comparisons, labels=labels,
        rows=claims, holding=holding, scripts=[])
    (folder / "index.html").write_text(index, encoding="utf-8")
    return len(info.comparisons) + 1
