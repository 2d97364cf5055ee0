"""Pieces of a page: a lesson's prose, a figure in its card, a number or claim of the prose."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from lmreport import analyses
from lmreport.errors import LessonError
from lmreport.glue.evaluate import unchecked_values
from lmreport.glue.types import Resolved
from lmreport.result import Result
from lmreport.site.info import PlacedFigure, SiteInfo
from lmreport.site.tables import has_table
from lmreport.source import markdown
from lmreport.source.lessons import Lesson
from lmreport.views.figure import display_token, script_json


def lesson_html(lesson: Lesson, base: str = "") -> str:
    """The lesson's prose as HTML (raw HTML in it shown as text; its links were checked when it was read),
    with a slot where each figure goes; base leads from the page's folder to the site's top."""
    return markdown.render(lesson.tokens, lesson.nonce, base)


def figure_html(env: Environment, placed: PlacedFigure, data_url: str, compare_url: str | None = None,
                 element_id: str | None = None, try_box: str = "") -> str:
    return env.get_template("figure.html").render(
        try_box=Markup(try_box),
        analysis=placed.result.analysis,
        figure_id=element_id or placed.figure_id,
        title=placed.title,
        prompt=prompt_of(placed.result),
        data_url=data_url,
        csv_url=data_url.removesuffix(".json") + ".csv" if has_table(placed.result.analysis, placed.result.data)
        else None,
        model=placed.result.model,
        notes=placed.result.data.get("notes", []),
        html=Markup(placed.figure.html),
        compare_url=compare_url,
        guide=guide_html(placed.result.analysis, placed.result.data) if "skipped" not in placed.result.data else "",
    )


def try_prompt_html(env: Environment, placed: PlacedFigure, manifest: dict[str, Any], weight_text: str) -> str:
    """The figure's "try your own prompt" box, where the course has a playground and the figure is of its model and
    of an analysis that declares one (Analysis.try_prompt): the reader's prompt runs in the page and is drawn by the
    figure's own render() as a second figure under the build's, which stays as it was. "" where there is none."""
    result = placed.result
    analysis = analyses.get(result.analysis)
    same_model = (result.model.get("name"), result.model.get("revision", "")[:12]) == (
        manifest["model"]["name"], manifest["model"]["revision"])
    if analysis.try_prompt is None or "skipped" in result.data or not same_model:
        return ""
    recompute = analysis.try_prompt(result)
    if recompute is None:
        return ""
    box_id = f"{placed.figure_id}-try"
    twin = analysis.render(recompute.twin, box_id)
    max_tokens = min(manifest["max_tokens"], analysis.max_tokens or manifest["max_tokens"])
    spec = {"analysis": result.analysis, "base": "playground/", "figure": placed.figure_id, "max_tokens": max_tokens,
            "options": recompute.options, "weights": manifest["weights"]}
    return env.get_template("try_prompt.html").render(
        box_id=box_id, model=manifest["model"]["name"], manifest=manifest, weight_text=weight_text,
        prompt=recompute.prompt, temperature=recompute.temperature, max_tokens=max_tokens, twin=Markup(twin.html),
        spec=Markup(script_json(spec)))


SHOWN_PROMPTS = 3  # a caption names this many of a block's prompts; its data file has them all


def prompt_of(result: Result) -> str:
    """The block's prompt, or its prompts joined; of many, the first few and how many there are."""
    examples = result.options.get("examples") or []  # probe, hidden_map: [[label, [prompts]], ...]
    prompts = result.options.get("prompts") or [p for _, group in examples for p in group]
    if result.options.get("prompt") or len(prompts) <= SHOWN_PROMPTS + 1:
        return result.options.get("prompt") or " / ".join(prompts)
    return " / ".join(prompts[:SHOWN_PROMPTS]) + f" / … ({len(prompts)} prompts in all: the figure's data has them)"


def place_references(html: str, lesson: Lesson, resolved: list[Resolved], nonce: str,
                     checked_here: bool = True) -> str:
    """Each number and claim of the prose where its marker stands. On a model the prose was not written for
    (checked_here False), a number that no claim checks is marked so: the sentence around it was written about
    another model's numbers."""
    unchecked = set() if checked_here else set(unchecked_values(resolved))
    fragments = {i: reference_html(item) + (UNCHECKED if i in unchecked else "") for i, item in enumerate(resolved)}
    lines = {i: item.reference.line for i, item in enumerate(resolved)}
    return place_markers(html, markdown.reference_pattern(nonce), fragments, lesson, lines, "reference")


UNCHECKED = Markup('<sup class="lmreport-unchecked" title="The sentence around this number was written for '
                   'another model and no claim checks it on this one">not checked for this model</sup>')


def place_markers(html: str, pattern: str, fragments: dict[int, str], lesson: Lesson, lines: dict[int, int],
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
        if "\n" in item.text:  # generated text of several lines: HTML would fold its line breaks into spaces
            return Markup('<span class="lmreport-value" style="white-space: pre-wrap" title="{}">{}</span>').format(
                title, item.text)
        return Markup('<span class="lmreport-value" title="{}">{}</span>').format(title, item.text)
    if item.holds:
        checked = f"Checked by this build: {item.detail}"
        return Markup('<span class="lmreport-claim" title="{}">✓</span>').format(checked)
    return Markup('<span class="lmreport-claim lmreport-claim-failed" title="{}">✗ not true for this model: {}</span>'
                  ).format(f"Claim `{source}` checked by this build", item.detail)


def reference_rows(info: SiteInfo, lesson: Lesson | None = None, block_id: str | None = None
                    ) -> list[dict[str, Any]]:
    """The numbers and claims of the prose (of one lesson's block, or all), each with its value on every model."""
    rows = []
    first = info.sites[0].references
    for slug, items in first.items():
        if lesson is not None and slug != lesson.slug:
            continue
        for n, item in enumerate(items):
            if block_id is not None and block_id not in {call.block for call in item.reference.calls}:
                continue
            cells = [v.references[slug][n] for v in info.sites]
            rows.append({"kind": item.reference.kind, "written": item.reference.source, "slug": slug,
                         "line": item.reference.line, "file": item.reference.path.name,
                         "cells": [{"html": Markup(reference_html(c)), "holds": c.holds} for c in cells]})
    return rows


def guide_html(analysis: str, data: dict[str, Any]) -> Markup:
    """The figure's "how to read this" line, expandable to its explanation."""
    line, more = analyses.get(analysis).guide_for(data)
    return Markup('<details class="how-to-read"><summary>How to read this: {}</summary><p>{}</p></details>').format(
        line, more)


def with_values(text: str, resolved: list[Resolved]) -> str:
    """A heading's plain text (for <title>, the lesson list, "On this page") with each number of the prose in it
    as the page shows it: `# The answer is =tk.top` reads "The answer is ␣Paris", not its source."""
    for item in resolved:
        if item.reference.kind == "value":
            shown = display_token(item.text) if item.token else item.text
            text = text.replace("=" + item.reference.source, shown)
    return text
