"""The course on each model of a matrix: its jobs, and the warnings that are per model."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from lmreport import models
from lmreport.build import exchange
from lmreport.build.claims import resolve_references
from lmreport.build.plan import Job
from lmreport.build.types import BuildOptions, BuildSummary
from lmreport.errors import LessonError
from lmreport.glue.types import Block, Resolved
from lmreport.site.info import PlacedFigure
from lmreport.source.lessons import Lesson
from lmreport.source.model_list import ModelEntry

log = logging.getLogger("lmreport")


@dataclass
class ModelBuild:
    """The course on one model of the matrix: its jobs, and what the build made of them."""

    entry: ModelEntry
    source: models.ModelSource
    folder: str = ""  # '' for the site's root
    jobs: list[Job] = field(default_factory=list)
    blocks: dict[str, dict[str, Block]] = field(default_factory=dict)
    figures: dict[str, list[PlacedFigure]] = field(default_factory=dict)
    resolved: dict[str, list[Resolved]] = field(default_factory=dict)
    skipped: int = 0
    claims: int = 0
    claims_failed: int = 0

    @property
    def label(self) -> str:
        return self.entry.label or self.source.name

    @property
    def root(self) -> bool:
        return self.folder == ""


def matrix_entries(options: BuildOptions, course: dict[str, Any],
                   results: exchange.ResultsFolders | None) -> list[ModelEntry]:
    """The models of this build: --model (once or more) replaces the course's list; with --from-results and
    neither, the models the results were computed for."""
    if options.models:
        return [ModelEntry(spec) for spec in options.models]
    if options.model:
        return [ModelEntry(options.model)]
    if course.get("models"):
        return list(course["models"])
    if results is not None:
        return [ModelEntry(spec) for spec in results.matrix]
    return [ModelEntry(None)]


def variant_warnings(variant: ModelBuild, lessons: list[Lesson], summary: BuildSummary, strict: bool
                     ) -> list[LessonError]:
    """Skipped blocks and claims that do not hold: warnings (errors with --strict) on the first model, whose
    pages the prose is written for; on the other models of a matrix they are what the comparison shows, so
    they are counted, listed in the comparison tables, and never stop the build."""
    prefix = "" if variant.root else f"on {variant.label}: "
    problems = skipped_blocks(variant.jobs, prefix)
    variant.skipped = len(problems)
    variant.resolved, errors, warnings = resolve_references(lessons, variant.blocks, variant.jobs, prefix)
    variant.claims = sum(1 for items in variant.resolved.values() for item in items
                         if item.reference.kind == "claim")
    variant.claims_failed = sum(1 for items in variant.resolved.values() for item in items if item.holds is False)
    if variant.root:
        summary.skipped, summary.claims_failed = variant.skipped, variant.claims_failed
        summary.references = sum(len(items) for items in variant.resolved.values())
        for problem in problems + warnings:
            errors += _warning(problem, summary, strict)
    else:
        for problem in problems + warnings:
            log.info("%s", problem)
        summary.others.append(f"{variant.label}: {variant.claims - variant.claims_failed} of {variant.claims} "
                              f"claims hold" + (f", {variant.skipped} blocks skipped" if variant.skipped else ""))
    return errors


def skipped_blocks(jobs: list[Job], prefix: str = "") -> list[LessonError]:
    """Blocks whose analysis does not apply to their model, each as a problem at its line."""
    return [job.directive.error(prefix + str(job.result.data["skipped"]))
            for job in jobs if job.result is not None and "skipped" in job.result.data]


def _warning(problem: LessonError, summary: BuildSummary, strict: bool) -> list[LessonError]:
    """A problem that does not stop the build: logged and counted as a warning, or returned as an error with
    --strict."""
    summary.warnings.append(str(problem))
    log.warning("%s", problem)
    return [problem] if strict else []
