"""The course on each model of a matrix: its jobs, and the warnings that are per model."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmreport import models
from lmreport.analyses.linking import link_problems
from lmreport.build import exchange
from lmreport.build.claims import check_references, resolve_references
from lmreport.build.plan import Job, plan
from lmreport.build.types import BuildOptions, BuildSummary
from lmreport.errors import BuildFailed, LessonError, LmreportError
from lmreport.glue.types import Block, ClaimCount, Resolved
from lmreport.site.info import PlacedFigure
from lmreport.source.lessons import Lesson
from lmreport.source.model_list import ModelEntry, assign_folders

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
    counts: ClaimCount = field(default_factory=ClaimCount)  # holds / fails / n/a, as every page shows them

    @property
    def label(self) -> str:
        return self.entry.label or self.source.name

    @property
    def root(self) -> bool:
        return self.folder == ""


def model_builds(entries: list[ModelEntry], resolver: Callable[[str | None], models.ModelSource],
                 named: dict[str, tuple[Path, int, str]] | None = None) -> list[ModelBuild]:
    """The matrix's models, each found (no model is loaded) and given its site folder; a model listed twice is an
    error. A model course.yml names that cannot be found is an error at its line there, as written (named)."""
    builds, errors, named = [], [], named or {}
    for entry in entries:
        try:
            builds.append(ModelBuild(entry, resolver(entry.spec)))
        except LmreportError as e:
            if entry.spec is None or entry.spec not in named:
                raise
            path, line, written = named[entry.spec]
            relative = f" (a path in {path.name} is read from its folder)" if written != entry.spec else ""
            errors.append(LessonError(path, line, f"model '{written}': {e}{relative}"))
    if errors:
        raise BuildFailed(errors)
    seen: dict[str, str] = {}
    for b in builds:
        if b.source.key in seen:
            raise LmreportError(f"the model matrix lists {b.source.name} twice ('{seen[b.source.key]}' "
                                f"and '{b.source.spec}')")
        seen[b.source.key] = b.source.spec
    for b, folder in zip(builds, assign_folders([b.source.name for b in builds], [b.entry.folder for b in builds]),
                         strict=True):
        b.folder = folder
    return builds


def plan_builds(builds: list[ModelBuild], lessons: list[Lesson], runtime: models.Runtime,
                resolver: Callable[[str | None], models.ModelSource]) -> list[LessonError]:
    """Each model's jobs and its lessons' blocks by id; the problems of the first (the same lessons give the
    same problems on every model)."""
    errors: list[LessonError] = []
    for number, b in enumerate(builds):
        b.jobs, plan_errors = plan(lessons, b.source, runtime, resolver)
        b.blocks, reference_errors = check_references(lessons, b.jobs)
        if number == 0:
            errors += plan_errors + reference_errors + link_problems(lessons)  # before any model work
    return errors


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


def model_warnings(build: ModelBuild, lessons: list[Lesson], summary: BuildSummary, strict: bool
                   ) -> list[LessonError]:
    """Skipped blocks, unstable results and claims that do not hold: warnings (errors with --strict) on the first
    model, whose pages the prose is written for; on the other models of a matrix they are what the comparison shows, so
    they are counted, listed in the comparison tables, and never stop the build."""
    prefix = "" if build.root else f"on {build.label}: "
    problems = skipped_blocks(build.jobs, prefix)
    build.skipped = len(problems)
    problems += unstable_results(build.jobs, prefix)
    build.resolved, errors, warnings = resolve_references(lessons, build.blocks, build.jobs, prefix)
    build.counts = ClaimCount.of(item for items in build.resolved.values() for item in items)
    if build.root:
        summary.skipped, summary.claims_failed = build.skipped, build.counts.fails
        summary.references = sum(len(items) for items in build.resolved.values())
        for problem in problems + warnings:
            errors += warn(problem, summary, strict)
    else:
        for problem in problems + warnings:
            log.info("%s", problem)
        summary.others.append(f"{build.label}: {build.counts.text()}"
                              + (f", {build.skipped} blocks skipped" if build.skipped else ""))
    return errors


def skipped_blocks(jobs: list[Job], prefix: str = "") -> list[LessonError]:
    """Blocks whose analysis does not apply to their model, each as a problem at its line."""
    return [job.directive.error(f"{prefix}{job.result.data['skipped']}; the block is not drawn")
            for job in jobs if job.result is not None and "skipped" in job.result.data]


def unstable_results(jobs: list[Job], prefix: str = "") -> list[LessonError]:
    """What analyses warn of in their results (numbers drawn but not stable), each at its block's line."""
    return [job.directive.error(prefix + warning) for job in jobs if job.result is not None
            for warning in job.analysis.warnings_for(job.result.data)]


def warn(problem: LessonError, summary: BuildSummary, strict: bool) -> list[LessonError]:
    """A problem that does not stop the build: logged and counted as a warning, or returned as an error with
    --strict."""
    summary.warnings.append(str(problem))
    log.warning("%s", problem)
    return [problem] if strict else []
