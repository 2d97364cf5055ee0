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
from lmreport.build.claims import check_references
from lmreport.build.compute import compute_all
from lmreport.build.draw import comparable_blocks, render_all, render_comparisons
from lmreport.build.matrix import ModelBuild, matrix_entries, variant_warnings
from lmreport.build.plan import plan
from lmreport.build.types import BuildOptions, BuildSummary
from lmreport.errors import BuildFailed, LessonError, LmreportError
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
from lmreport.source.lessons import scan_lessons
from lmreport.source.model_list import assign_folders
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
    date = build_date()
    nonce = secrets.token_hex(8)
    scan = scan_lessons(options.lessons_dir, nonce)
    course, course_errors = configured.settings, configured.errors
    extra = extra_folder(options.lessons_dir, course)  # before any model work
    course_files = links.check(scan.lessons, options.lessons_dir)
    scan.warnings += configured.warnings + course_files.warnings
    errors = scan.errors + course_errors + (scan.warnings if options.strict else [])
    summary.warnings = [str(w) for w in scan.warnings]
    for warning in summary.warnings:
        log.warning("%s", warning)
    results = exchange.read(list(options.from_results)) if options.from_results else None
    resolver = results.resolve if results is not None else models.resolve
    runtime = models.Runtime(options.device, results.dtype if results is not None else options.dtype)
    entries = matrix_entries(options, course, results)
    variants = [ModelBuild(entry, resolver(entry.spec)) for entry in entries]
    seen: dict[str, str] = {}
    for variant in variants:
        if variant.source.key in seen:
            raise LmreportError(f"the model matrix lists {variant.source.name} twice ('{seen[variant.source.key]}' "
                                f"and '{variant.source.spec}')")
        seen[variant.source.key] = variant.source.spec
    for variant, folder in zip(variants, assign_folders([v.source.name for v in variants],
                                                        [v.entry.folder for v in variants]), strict=True):
        variant.folder = folder
    summary.models = [v.label for v in variants]
    for number, variant in enumerate(variants):
        variant.jobs, plan_errors = plan(scan.lessons, variant.source, runtime, resolver)
        variant.blocks, reference_errors = check_references(scan.lessons, variant.jobs)
        if number == 0:  # the same lessons give the same problems on every model
            errors += plan_errors + reference_errors
    if errors:
        raise BuildFailed(errors)
    jobs = [job for variant in variants for job in variant.jobs]
    summary.analyses = len(jobs)
    cache = ResultCache(options.cache_dir, options.use_cache)
    errors = compute_all(jobs, cache, summary, options.progress, results)
    if errors:
        raise BuildFailed(errors)
    if options.results_only is not None:
        summary.results_dir = options.results_only
        computed = {job.key: (job.source, job.source.spec, job.result) for job in jobs if job.result}
        exchange.write(options.results_only, [v.source.spec for v in variants], computed, runtime.dtype)
        summary.seconds = time.perf_counter() - started
        return summary
    for variant in variants:
        variant.figures = render_all(variant.jobs, cache, summary, results)  # may recompute what it cannot draw
        errors += variant_warnings(variant, scan.lessons, summary, options.strict)
    if errors:
        raise BuildFailed(errors)
    comparisons = comparable_blocks(variants)
    compare_figures = render_comparisons(variants, comparisons, cache, summary, results)
    summary.comparisons = len(comparisons)
    info = SiteInfo(
        course=course,
        versions=library_versions(),
        build_date=date,
        variants=[ModelSite(v.label, v.folder, {"name": v.source.name, **v.source.identity}, v.figures, v.resolved)
                  for v in variants],
        comparisons=compare_figures,
        files=course_files.files,
        extra=extra,
    )
    try:
        summary.pages = write_site(site_dir, scan.lessons, info, nonce)
    except LessonError as e:
        raise BuildFailed([e]) from None
    summary.seconds = time.perf_counter() - started
    return summary


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
