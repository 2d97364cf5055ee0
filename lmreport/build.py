"""The build, top to bottom: scan lessons, plan, compute (or take from cache), write the site."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import analyses, models, yamltext
from .analyses.base import Analysis
from .cache import ResultCache, figure_key, result_key
from .errors import AnalysisError, BuildFailed, LessonError, LmreportError, NotApplicable
from .lessons import Directive, Lesson, control_character, normalise_text, read_text_file, scan_lessons
from .progress import library_progress, progress_bar
from .references import Block, ReferenceProblem, Resolved
from .references import check as check_reference
from .references import resolve as resolve_reference
from .render import render
from .render.common import Figure
from .result import Result
from .site import PlacedFigure, SiteInfo, check_replaceable, figure_id, recover, write_site
from .versions import library_versions

log = logging.getLogger("lmreport")
COURSE_FILE = "course.yml"


@dataclass
class BuildOptions:
    lessons_dir: Path = Path("lessons")
    site_dir: Path = Path("site")
    model: str | None = None
    strict: bool = False
    use_cache: bool = True
    cache_dir: Path = Path(".lmreport-cache")
    progress: bool | None = None  # None: only on a terminal
    device: str = "auto"  # auto, cpu, cuda, mps
    dtype: str = "float32"  # float32, bfloat16, float16


@dataclass
class Job:
    """One directive to compute: what, on which model, and where it came from."""

    lesson: Lesson
    index: int
    directive: Directive
    analysis: Analysis
    options: dict[str, Any]
    title: str
    source: models.ModelSource
    runtime: models.Runtime = field(default_factory=models.Runtime)
    key: str = ""
    result: Result | None = None
    from_cache: bool = False

    @property
    def prompts(self) -> list[str]:
        return self.analysis.prompts(self.options)

    @property
    def identity(self) -> dict[str, str]:
        """The model as results record it: a precision other than float32 changes the numbers, so it is part
        of the identity (and of the cache key); the device is not."""
        extra = {"dtype": self.runtime.dtype} if self.runtime.dtype != "float32" else {}
        return {**self.source.identity, **extra}


@dataclass
class BuildSummary:
    pages: int = 0
    analyses: int = 0
    computed: int = 0
    cached: int = 0
    model_loads: int = 0
    forward_passes: int = 0
    skipped: int = 0  # blocks whose analysis does not apply to their model
    references: int = 0  # numbers and claims in the prose, taken from this build
    claims_failed: int = 0
    seconds: float = 0.0
    site_dir: Path = Path("site")
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        plural = "s" if self.claims_failed != 1 else ""
        return (
            f"wrote {self.pages} pages to {self.site_dir}/ in {self.seconds:.1f}s: "
            f"{self.analyses} analyses ({self.computed} computed, {self.cached} from cache"
            + (f", {self.skipped} skipped" if self.skipped else "") + "), "
            f"{self.forward_passes} forward passes, {self.model_loads} model load{'s' if self.model_loads != 1 else ''}"
            + (f"; {self.references} numbers and claims in the prose" if self.references else "")
            + (f", {self.claims_failed} failed claim{plural}" if self.claims_failed else "")
        )


def build(options: BuildOptions) -> BuildSummary:
    """Build the site; raise BuildFailed with every error found, leaving the old site untouched."""
    started = time.perf_counter()
    summary = BuildSummary(site_dir=options.site_dir)
    site_dir = check_paths(options)
    date = build_date()
    nonce = secrets.token_hex(8)
    scan = scan_lessons(options.lessons_dir, nonce)
    course, course_errors = read_course(options.lessons_dir)
    errors = scan.errors + course_errors + (scan.warnings if options.strict else [])
    summary.warnings = [str(w) for w in scan.warnings]
    for warning in summary.warnings:
        log.warning("%s", warning)
    default_source = models.resolve(options.model)
    jobs, plan_errors = plan(scan.lessons, default_source, models.Runtime(options.device, options.dtype))
    blocks, reference_errors = check_references(scan.lessons, jobs)
    errors += plan_errors + reference_errors
    if errors:
        raise BuildFailed(errors)
    summary.analyses = len(jobs)
    cache = ResultCache(options.cache_dir, options.use_cache)
    errors = compute_all(jobs, cache, summary, options.progress)
    if errors:
        raise BuildFailed(errors)
    figures = render_all(jobs, cache, summary)  # may recompute a cached result it cannot draw
    errors = skipped_blocks(jobs, summary, options.strict)
    resolved, reference_errors = resolve_references(scan.lessons, blocks, jobs, summary, options.strict)
    errors += reference_errors
    if errors:
        raise BuildFailed(errors)
    info = SiteInfo(
        course=course,
        versions=library_versions(),
        build_date=date,
        default_model={"name": default_source.name, **default_source.identity},
        figures=figures,
        references=resolved,
    )
    try:
        summary.pages = write_site(site_dir, scan.lessons, info, nonce)
    except LessonError as e:
        raise BuildFailed([e]) from None
    summary.seconds = time.perf_counter() - started
    return summary


def check_references(lessons: list[Lesson], jobs: list[Job]) -> tuple[dict[str, dict[str, Block]], list[LessonError]]:
    """Before any model work: block ids are unique in their lesson, and every number or claim in the prose
    names a block and a value it has. Returns each lesson's blocks by id."""
    errors: list[LessonError] = []
    blocks: dict[str, dict[str, Block]] = {lesson.slug: {} for lesson in lessons}
    for job in jobs:
        block_id = job.directive.params.get("id")
        if block_id is not None:
            named = blocks[job.lesson.slug]
            if block_id in named:
                errors.append(job.directive.error(f"id '{block_id}' is also the id of figure {named[block_id].figure}",
                                                  "id"))
            named[block_id] = Block(job.analysis.name, job.analysis.values, job.index + 1)
    for lesson in lessons:
        named = blocks[lesson.slug]
        for reference in lesson.references:
            try:
                check_reference(reference, named)
            except ReferenceProblem as e:
                errors.append(reference.error(f"`{reference.written}`: {e}"))
    return blocks, errors


def resolve_references(
    lessons: list[Lesson], blocks: dict[str, dict[str, Block]], jobs: list[Job], summary: BuildSummary, strict: bool
) -> tuple[dict[str, list[Resolved]], list[LessonError]]:
    """Every number and claim of the prose, from this build's results. A claim that does not hold is a
    warning naming the numbers (an error with --strict); a value that cannot be read is an error."""
    for job in jobs:
        block_id = job.directive.params.get("id")
        if block_id is not None and job.result is not None:
            block = blocks[job.lesson.slug][block_id]
            block.data = job.result.data
            block.skipped = job.result.data.get("skipped")
    resolved: dict[str, list[Resolved]] = {}
    errors: list[LessonError] = []
    for lesson in lessons:
        out = resolved.setdefault(lesson.slug, [])
        for reference in lesson.references:
            try:
                out.append(resolve_reference(reference, blocks[lesson.slug]))
            except ReferenceProblem as e:
                errors.append(reference.error(f"`{reference.written}`: {e}"))
                continue
            if out[-1].not_applicable:
                problem = reference.error(f"`{reference.written}` is n/a for this model: {out[-1].detail}")
                errors += _warning(problem, summary, strict)
            if out[-1].holds is False:
                summary.claims_failed += 1
                problem = reference.error(f"claim `{reference.written}` does not hold: {out[-1].detail}")
                errors += _warning(problem, summary, strict)
            summary.references += 1
    return resolved, errors


def skipped_blocks(jobs: list[Job], summary: BuildSummary, strict: bool) -> list[LessonError]:
    """Blocks whose analysis does not apply to their model: one warning each (errors with --strict)."""
    problems = [job.directive.error(str(job.result.data["skipped"]))
                for job in jobs if job.result is not None and "skipped" in job.result.data]
    summary.skipped = len(problems)
    return [error for problem in problems for error in _warning(problem, summary, strict)]


def _warning(problem: LessonError, summary: BuildSummary, strict: bool) -> list[LessonError]:
    """A problem that does not stop the build: logged and counted as a warning, or returned as an error with
    --strict."""
    summary.warnings.append(str(problem))
    log.warning("%s", problem)
    return [problem] if strict else []


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


def read_course(lessons_dir: Path) -> tuple[dict[str, str], list[LessonError]]:
    """Optional course.yml beside the lessons: title and description of the site."""
    course = {"title": "lmreport course", "description": ""}
    path = Path(lessons_dir) / COURSE_FILE
    errors: list[LessonError] = []
    if not os.path.lexists(path):
        other = Path(lessons_dir) / "course.yaml"
        if other.exists():
            errors.append(LessonError(other, 1, f"not read: the course file is named {COURSE_FILE}"))
        return course, errors
    text = read_text_file(path, lessons_dir, yamltext.MAX_SOURCE_CHARS, errors)
    if text is None:
        return course, errors
    try:
        document = yamltext.load(normalise_text(text))
    except yamltext.YamlProblem as e:
        return course, [LessonError(path, e.line + 1, f"{COURSE_FILE}: {e.message}")]
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        return course, [LessonError(path, 1, f"{COURSE_FILE} must hold 'key: value' lines (title, description)")]
    for key, value in data.items():
        line = document.key_lines.get(str(key), 0) + 1
        if key not in course:
            errors.append(LessonError(path, line, f"unknown key '{key}' in {COURSE_FILE} (valid: title, description)"))
        elif not isinstance(value, str):
            errors.append(LessonError(path, line, f"'{key}' in {COURSE_FILE} must be text"))
        elif control_character(value):
            errors.append(LessonError(path, line, f"'{key}' in {COURSE_FILE} contains the control character "
                                                  f"U+{ord(control_character(value)):04X}"))
        else:
            course[key] = value
    return course, errors


def model_relative_to(spec: str | None, named_in: Path) -> str | None:
    """A model path written in a lesson is read from the lesson's folder, as a link would be; aliases, hub ids
    and absolute paths are left as they are."""
    try:
        if spec is None or spec in models.EMBEDDED or Path(spec).expanduser().is_absolute():
            return spec
        beside = named_in.parent / spec
        if spec.startswith(".") or beside.exists():
            return os.path.normpath(beside)
    except (OSError, RuntimeError):  # '~nosuchuser', a name too long: models.resolve() says so
        pass
    return spec


def plan(
    lessons: list[Lesson], default_source: models.ModelSource, runtime: models.Runtime | None = None
) -> tuple[list[Job], list[LessonError]]:
    """Check every directive against its analysis and find its model; collect all problems."""
    runtime = runtime or models.Runtime()
    jobs: list[Job] = []
    errors: list[LessonError] = []
    sources = {None: default_source}
    for lesson in lessons:
        for index, directive in enumerate(lesson.directives):
            if directive.analysis not in analyses.REGISTRY:
                errors.append(directive.error(analyses.unknown_message(directive.analysis), "analysis"))
                continue
            analysis = analyses.REGISTRY[directive.analysis]
            options, option_errors = analysis.validate(directive)
            errors += option_errors
            if option_errors:
                continue
            title = directive.params.get("title") or analysis.label
            model_spec = model_relative_to(directive.params.get("model"), directive.path) or \
                model_relative_to(lesson.model, lesson.path)
            try:
                if model_spec not in sources:
                    sources[model_spec] = models.resolve(model_spec)
            except LmreportError as e:
                errors.append(directive.error(f"{analysis.name}: {e}", "model"))
                continue
            jobs.append(Job(lesson, index, directive, analysis, options, title, sources[model_spec], runtime))
    return jobs, errors


def compute_all(
    jobs: list[Job], cache: ResultCache, summary: BuildSummary, progress: bool | None
) -> list[LessonError]:
    """Fill each job's result from the cache, or compute it: one forward pass per (model, prompt),
    shared by every analysis on that prompt and dropped once the last of them is done."""
    library_progress(progress)
    pending: list[Job] = []
    for job in jobs:
        job.key = result_key(job.identity, job.analysis.name, job.analysis.version, job.options)
        job.result = cache.get(job.key)
        if job.result is not None:
            job.from_cache = True
            summary.cached += 1
        else:
            pending.append(job)
    pending.sort(key=lambda job: (job.source.key, job.prompts))
    users = Counter((job.source.key, p) for job in pending for p in set(job.prompts))
    errors: list[LessonError] = []
    with progress_bar(len(pending), "analyses", progress) as bar:
        for job in pending:
            error = _compute(job, cache, summary)
            if error is not None:
                errors.append(error)
            for prompt in set(job.prompts):
                users[(job.source.key, prompt)] -= 1
                if users[(job.source.key, prompt)] == 0 and models.is_loaded(job.source, job.runtime):
                    models.load(job.source, job.runtime).forget(prompt)
            bar.update(1)
    return errors


def _compute(job: Job, cache: ResultCache, summary: BuildSummary) -> LessonError | None:
    source = job.source
    name = job.analysis.name
    try:
        if not models.is_loaded(source, job.runtime):
            log.info("loading model %s", source.name)
            summary.model_loads += 1
        model = models.load(source, job.runtime)
        before = model.forward_count
        try:
            forward = model.forward(job.prompts[0])
            try:
                data = job.analysis.run(forward, job.options, model)
            except NotApplicable as e:
                data = {"skipped": f"{name} does not apply to {source.name}: {e}"}
            data["model_shape"] = model.shape(forward)
        finally:
            summary.forward_passes += model.forward_count - before
    except (AnalysisError, LmreportError) as e:
        return job.directive.error(f"{name}: {e}", getattr(e, "option", None))
    job.result = Result(name, job.options, {"name": source.name, **job.identity}, data)
    cache.put(job.key, job.result)
    summary.computed += 1
    return None


def render_all(jobs: list[Job], cache: ResultCache, summary: BuildSummary) -> dict[str, list[PlacedFigure]]:
    """Draw every result (or take its drawing from the cache), grouped by lesson."""
    figures: dict[str, list[PlacedFigure]] = defaultdict(list)
    for job in jobs:
        assert job.result is not None
        fid = figure_id(job.index)
        key = figure_key(job.key, fid)
        figure = cache.get_figure(key)
        if figure is None:
            figure = _render_or_recompute(job, fid, cache, summary)
            cache.put_figure(key, figure)
        figures[job.lesson.slug].append(
            PlacedFigure(job.lesson, job.index, job.directive.line, job.title, job.result, figure,
                         job.directive.params.get("id"))
        )
    return figures


def _render_or_recompute(job: Job, fid: str, cache: ResultCache, summary: BuildSummary) -> Figure:
    """Draw a result; a cached one that cannot be drawn (an entry of the right form with the wrong numbers in
    it) is a warning and a recompute, never a failed build."""
    assert job.result is not None
    try:
        return render(job.result, fid)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError) as e:
        if not job.from_cache:
            raise
        log.warning("%s: the cached result cannot be drawn (%s: %s); recomputing",
                    f"{job.directive.path.as_posix()}:{job.directive.line}", type(e).__name__, e)
    job.from_cache = False
    summary.cached -= 1
    error = _compute(job, cache, summary)
    if error is not None:
        raise BuildFailed([error])
    return render(job.result, fid)


def build_date() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise LmreportError(f"SOURCE_DATE_EPOCH must be seconds since 1970, got {epoch[:40]!r}") from None
    return moment.strftime("%Y-%m-%d %H:%M UTC")
