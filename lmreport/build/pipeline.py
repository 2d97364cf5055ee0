"""The build, top to bottom: scan lessons, plan, compute (or take from cache), write the site."""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from lmreport import models
from lmreport.build import exchange
from lmreport.build.cache import ResultCache
from lmreport.build.compute import compute_all
from lmreport.build.draw import comparable_blocks, render_all, render_comparisons
from lmreport.build.matrix import (
    ModelBuild,
    matrix_entries,
    model_builds,
    model_warnings,
    plan_builds,
    skipped_blocks,
    warn,
)
from lmreport.build.preflight import index_warnings
from lmreport.build.types import BuildOptions, BuildSummary
from lmreport.errors import BuildFailed, LessonError, LmreportError
from lmreport.glue.evaluate import suggested_claim, unchecked_values
from lmreport.glue.types import Resolved
from lmreport.site.info import ModelSite, SiteInfo
from lmreport.site.writer import MARKER, check_replaceable, recover, write_site
from lmreport.source import links
from lmreport.source.course import (
    COURSE_FILE,
    Course,
    course_value_problem,
    extra_folder,
    model_relative_to,
    normalise_course_value,
    read_course,
)
from lmreport.source.lessons import Lesson, scan_lessons
from lmreport.versions import library_versions

log = logging.getLogger("lmreport")


def configure(options: BuildOptions) -> tuple[BuildOptions, Course]:
    """The options a build runs with: course.yml's output folder and model where the command line gives none,
    its other keys under the command line's (--title, --author, --base-url...)."""
    course = read_course(options.lessons_dir)
    for key, value in options.course.items():
        problem = course_value_problem(key, value)
        if problem:
            raise LmreportError(f"--{key.replace('_', '-')}: {problem}")
        course.settings[key] = normalise_course_value(key, value)
    settings = course.settings
    site_dir = options.site_dir
    if site_dir is None:
        site_dir = Path(model_relative_to(settings["output"], Path(options.lessons_dir) / COURSE_FILE) or "site") \
            if settings.get("output") else Path("site")
    model = options.model if options.model or options.models else settings.get("model")
    return replace(options, site_dir=site_dir, model=model), course


def build(options: BuildOptions) -> BuildSummary:
    """Build the site; raise BuildFailed with every error found, leaving the old site untouched."""
    options, course = configure(options)
    try:
        return _build(options, course)
    except BuildFailed as e:
        if options.results_only is None and (Path(options.site_dir) / MARKER).is_file():
            raise
        raise BuildFailed(e.errors, kept=False) from None  # there was no previous site to keep


def _build(options: BuildOptions, configured: Course) -> BuildSummary:
    started = time.perf_counter()
    assert options.site_dir is not None
    summary = BuildSummary(site_dir=options.site_dir)
    if options.results_only is not None:
        exchange.check_folder(options.results_only)
    site_dir = check_paths(options) if options.results_only is None else options.site_dir
    date, nonce = build_date(), secrets.token_hex(8)
    # scan: lessons, course.yml, linked files; every problem at its file and line
    scan = scan_lessons(options.lessons_dir, nonce)
    extra = extra_folder(options.lessons_dir, configured.settings)  # before any model work
    course_files = links.check(scan.lessons, options.lessons_dir)
    errors = _scan_problems(scan.errors, scan.warnings + configured.warnings + course_files.warnings,
                            configured.errors, options.strict, summary)
    # plan: each directive checked and given its model, on every model of the matrix; no model is loaded
    results = exchange.read(list(options.from_results)) if options.from_results else None
    resolver = results.resolve if results is not None else models.resolve
    runtime = models.Runtime(options.device, results.dtype if results is not None else options.dtype)
    builds = model_builds(matrix_entries(options, configured.settings, results), resolver, configured.named)
    summary.models = [b.label for b in builds]
    errors += plan_builds(builds, scan.lessons, runtime, resolver)
    if errors and results is None:  # stopping here: say now what computing would have found too
        errors += [e for w in index_warnings(scan.lessons, builds[0].source, runtime)
                   for e in warn(w, summary, options.strict)]
    _stop_on(errors)
    # compute: from the cache or the results folders, else one forward pass per (model, prompt)
    jobs = [job for b in builds for job in b.jobs]
    summary.analyses = len(jobs)
    cache = ResultCache(options.cache_dir, options.use_cache)
    errors = compute_all(jobs, cache, summary, options.progress, results)
    if errors:  # stopping here: the blocks computed but not drawable on the first model are said now too
        errors += [e for w in skipped_blocks(builds[0].jobs) for e in warn(w, summary, options.strict)]
    _stop_on(errors)
    if options.results_only is not None:
        summary.results_dir = options.results_only
        computed = {job.key: (job.source, job.source.spec, job.result) for job in jobs if job.result}
        exchange.write(options.results_only, [b.source.spec for b in builds], computed, runtime.dtype)
        summary.seconds = time.perf_counter() - started
        return summary
    # draw: every figure, the prose's numbers and claims, and the blocks a matrix compares
    for b in builds:
        b.figures = render_all(b.jobs, cache, summary, results)  # may recompute what it cannot draw
        errors += model_warnings(b, scan.lessons, summary, options.strict)
    _stop_on(errors)
    if options.lint_claims:
        _lint_claims(scan.lessons, builds[0].resolved, summary)
    playground = _playground(configured, builds[0], runtime, options, results)
    comparisons = comparable_blocks(builds)
    summary.comparisons = len(comparisons)
    info = SiteInfo(
        course=configured.settings, versions=library_versions(), build_date=date,
        sites=[ModelSite(b.label, b.folder, {"name": b.source.name, **b.source.identity}, b.figures, b.resolved)
                  for b in builds],
        comparisons=render_comparisons(builds, comparisons, cache, summary, results),
        files=course_files.files, extra=extra, playground=playground,
    )
    # write: pages, data and assets into a staging folder, swapped in whole
    try:
        summary.pages = write_site(site_dir, scan.lessons, info, nonce)
    except LessonError as e:
        raise BuildFailed([e]) from None
    summary.seconds = time.perf_counter() - started
    return summary


def _playground(configured: Course, first: ModelBuild, runtime: models.Runtime, options: BuildOptions,
                results: object) -> tuple[Path, dict] | None:
    """The playground's exported model and its summary, when the course asks for the page (course.yml's
    'playground', or --playground): the first model's, checked on the prompts of its blocks. A problem is an
    error at course.yml's 'playground' line, or of --playground where the command line asked."""
    weights = configured.settings.get("playground", "off")
    if weights == "off":
        return None

    def failed(message: str) -> LmreportError:
        if "playground" in options.course:
            return LmreportError(f"--playground: {message}")
        return BuildFailed([LessonError(Path(options.lessons_dir) / COURSE_FILE, configured.lines["playground"],
                                        f"playground: {message}")])

    if results is not None:
        raise failed("the playground exports the model, and --from-results loads none: build it where the model is")
    from lmreport.playground.bundle import prepare

    prompts = sorted({prompt for job in first.jobs for prompt in job.prompts})
    try:
        return prepare(first.source, runtime, weights, options.cache_dir, prompts)
    except LmreportError as e:
        raise failed(str(e)) from None

def _lint_claims(lessons: list[Lesson], resolved: dict[str, list[Resolved]], summary: BuildSummary) -> None:
    """--lint-claims: each number of the prose that no claim checks (no claim on its line or the next names its
    block), at its line, with a claim that would check it on every model. Advice: never an error."""
    found = 0
    for lesson in lessons:
        items = resolved.get(lesson.slug, [])
        for i in unchecked_values(items):
            item = items[i]
            found += 1
            log.warning("%s:%d: `=%s` (%s here) is checked by no claim: on another model its sentence may not hold; "
                        "check it with e.g. %s", item.reference.path, item.reference.line, item.reference.source,
                        item.text.replace("\n", "\\n"), suggested_claim(item))
    log.warning("lint-claims: %d number%s of the prose checked by no claim", found, "" if found == 1 else "s")
    summary.unchecked = found


def _scan_problems(errors: list[LessonError], warnings: list[LessonError], course_errors: list[LessonError],
                   strict: bool, summary: BuildSummary) -> list[LessonError]:
    """The scan's errors, and its warnings: logged and counted, and errors too with --strict."""
    summary.warnings = [str(w) for w in warnings]
    for warning in summary.warnings:
        log.warning("%s", warning)
    return errors + course_errors + (warnings if strict else [])


def _stop_on(errors: list[LessonError]) -> None:
    """Stop the build with every error found so far, all reported together."""
    if errors:
        raise BuildFailed(errors)


def check_paths(options: BuildOptions) -> Path:
    """Where the site really goes (through a symlinked output folder, which stays a link), after checking that
    replacing it whole can harm neither the lessons, nor the cache, nor a folder lmreport did not make, and
    tidying up after killed builds: before any model work."""
    try:
        site = _check_paths(options)
        recover(site)
        check_replaceable(site)
        return site
    except OSError as e:  # a name longer than the file system allows, a loop of links...
        raise LmreportError(f"cannot use the folders given: {e.strerror or e}: '{e.filename}'") from None


def _check_paths(options: BuildOptions) -> Path:
    site = Path(os.path.realpath(options.site_dir))
    if site.parent == site:
        raise LmreportError(f"cannot write the site into '{options.site_dir}': it is the root of the file system")
    lessons = Path(os.path.realpath(options.lessons_dir))
    cache = Path(os.path.realpath(options.cache_dir))
    if site == lessons or site in lessons.parents:
        raise LmreportError(f"the site folder '{options.site_dir}' would hold the lessons '{options.lessons_dir}': "
                            "each build replaces the whole site folder")
    if options.use_cache and (site == cache or site in cache.parents or cache in site.parents):
        raise LmreportError(f"the site folder '{options.site_dir}' and the cache folder '{options.cache_dir}' "
                            "overlap: each build replaces the whole site folder; keep them apart")
    return site


def build_date() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise LmreportError(f"SOURCE_DATE_EPOCH must be seconds since 1970, got {epoch[:40]!r}") from None
    return moment.strftime("%Y-%m-%d %H:%M UTC")
