"""The build, top to bottom: scan lessons, plan, compute (or take from cache), write the site."""

from __future__ import annotations

import difflib
import logging
import os
import re
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import analyses, exchange, links, models, yamltext
from .analyses.base import Analysis
from .cache import ResultCache, figure_key, result_key
from .errors import AnalysisError, BuildFailed, LessonError, LmreportError, NotApplicable, short
from .lessons import Directive, Lesson, control_character, normalise_text, read_text_file, scan_lessons
from .progress import library_progress, progress_bar
from .references import Block, ReferenceProblem, Resolved
from .references import check as check_reference
from .references import resolve as resolve_reference
from .render import render
from .render.common import Figure
from .result import Result
from .site import (
    MARKER,
    Comparison,
    PlacedFigure,
    SiteInfo,
    SiteVariant,
    check_replaceable,
    figure_id,
    recover,
    write_site,
)
from .variants import ModelEntry, assign_folders, parse_models
from .versions import library_versions

log = logging.getLogger("lmreport")
COURSE_FILE = "course.yml"


@dataclass
class BuildOptions:
    lessons_dir: Path = Path("lessons")
    site_dir: Path | None = None  # None: course.yml's 'output', else site/
    model: str | None = None  # one model for the whole site (course.yml's 'model' or 'models' otherwise)
    models: tuple[str, ...] = ()  # a model matrix: the first at the site's root, each other in its folder
    strict: bool = False
    use_cache: bool = True
    cache_dir: Path = Path(".lmreport-cache")
    progress: bool | None = None  # None: only on a terminal
    device: str = "auto"  # auto, cpu, cuda, mps
    dtype: str = "float32"  # float32, bfloat16, float16
    results_only: Path | None = None  # compute and write the results there; no site
    from_results: tuple[Path, ...] = ()  # render from these results folders; no model is loaded
    course: dict[str, str] = field(default_factory=dict)  # course.yml's keys set on the command line


@dataclass
class Course:
    """course.yml with the command line's settings over it: what the site says about itself, and the folders
    and models a build uses."""

    settings: dict[str, Any]
    errors: list[LessonError] = field(default_factory=list)
    warnings: list[LessonError] = field(default_factory=list)


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
class Variant:
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
    models: list[str] = field(default_factory=list)  # of the matrix, in order
    comparisons: int = 0  # comparison pages
    others: list[str] = field(default_factory=list)  # per other model of a matrix: what did not hold
    results_dir: Path | None = None

    def line(self) -> str:
        plural = "s" if self.claims_failed != 1 else ""
        where = (f"wrote the results of {self.analyses} analyses to {self.results_dir}/ (no site)"
                 if self.results_dir is not None else f"wrote {self.pages} pages to {self.site_dir}/")
        matrix = (f" for {len(self.models)} models ({', '.join(self.models)}) with {self.comparisons} comparison "
                  f"pages" if len(self.models) > 1 else "")
        return (
            f"{where}{matrix} in {self.seconds:.1f}s: "
            f"{self.analyses} analyses ({self.computed} computed, {self.cached} from cache"
            + (f", {self.skipped} skipped" if self.skipped else "") + "), "
            f"{self.forward_passes} forward passes, {self.model_loads} model load{'s' if self.model_loads != 1 else ''}"
            + (f"; {self.references} numbers and claims in the prose" if self.references else "")
            + (f", {self.claims_failed} failed claim{plural}" if self.claims_failed else "")
            + "".join(f"; {other}" for other in self.others)
        )


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
    variants = [Variant(entry, resolver(entry.spec)) for entry in entries]
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
        variants=[SiteVariant(v.label, v.folder, {"name": v.source.name, **v.source.identity}, v.figures, v.resolved)
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


def extra_folder(lessons_dir: Path, course: dict[str, Any]) -> Path | None:
    """The folder whose files are copied as they are into the site's top (CNAME, robots.txt, a favicon...):
    course.yml's 'extra' (or --extra), else 'extra' in the lessons folder if there is one. It must lie inside
    the lessons folder, links resolved: the site is published, and must hold nothing from elsewhere."""
    named = course.get("extra")
    folder = Path(lessons_dir) / (named or "extra")
    try:
        if not folder.is_dir():
            if named:
                raise LmreportError(f"the extra folder '{short(str(folder), 200)}' (course.yml's 'extra' or --extra) "
                                    "does not exist")
            return None
        inside = Path(lessons_dir).resolve() in folder.resolve().parents
    except OSError as e:
        raise LmreportError(f"cannot use the extra folder '{short(str(folder), 200)}': {e.strerror or e}") from None
    if not inside:
        raise LmreportError(f"the extra folder '{short(str(folder), 200)}' is not inside the lessons folder "
                            f"'{lessons_dir}' (links followed): only files of the course go into the site")
    return folder


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


def variant_warnings(variant: Variant, lessons: list[Lesson], summary: BuildSummary, strict: bool
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
    lessons: list[Lesson], blocks: dict[str, dict[str, Block]], jobs: list[Job], prefix: str = ""
) -> tuple[dict[str, list[Resolved]], list[LessonError], list[LessonError]]:
    """Every number and claim of the prose, from this build's results. Returns them per lesson, the errors (a
    value that cannot be read) and the warnings (a claim that does not hold, naming the numbers; a value this
    model does not have)."""
    for job in jobs:
        block_id = job.directive.params.get("id")
        if block_id is not None and job.result is not None:
            block = blocks[job.lesson.slug][block_id]
            block.data = job.result.data
            block.skipped = job.result.data.get("skipped")
    resolved: dict[str, list[Resolved]] = {}
    errors: list[LessonError] = []
    warnings: list[LessonError] = []
    for lesson in lessons:
        out = resolved.setdefault(lesson.slug, [])
        for reference in lesson.references:
            try:
                out.append(resolve_reference(reference, blocks[lesson.slug]))
            except ReferenceProblem as e:
                errors.append(reference.error(f"{prefix}`{reference.written}`: {e}"))
                continue
            if out[-1].not_applicable:
                warnings.append(reference.error(f"{prefix}`{reference.written}` is n/a for this model: "
                                                f"{out[-1].detail}"))
            if out[-1].holds is False:
                warnings.append(reference.error(f"{prefix}claim `{reference.written}` does not hold: "
                                                f"{out[-1].detail}"))
    return resolved, errors, warnings


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


# course.yml: what each key holds. Text keys are also settable on the command line (--title, --base-url...).
COURSE_KEYS = {
    "title": "the site's title",
    "description": "a line under the title on the start page",
    "author": "who wrote the course (pages name them)",
    "base_url": "where the site will be published (https://...): canonical links and sitemap.xml",
    "model": "the model for lessons that name none (the command line's --model wins)",
    "models": "a model matrix: several models, the first at the site's root",
    "output": "the site folder, from the lessons folder (the command line's -o wins)",
    "extra": "a folder whose files are copied into the site's top (CNAME, robots.txt...); default: extra",
}
TEXT_KEYS = ("title", "description", "author", "base_url", "model", "output", "extra")


def course_value_problem(key: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be text"
    if control_character(value):
        return f"contains the control character U+{ord(control_character(value)):04X}"
    if key == "base_url" and not re.fullmatch(r"https?://[^\s/?#\"'<>\\^`{|}]+(/[^\s?#\"'<>\\^`{|}]*)?", value):
        return "must be the address the site is published at, e.g. https://you.github.io/course/"
    if key in ("model", "output", "extra") and not value.strip():
        return "must not be empty"
    return None


def normalise_course_value(key: str, value: str) -> str:
    return value if key != "base_url" or value.endswith("/") else value + "/"


def read_course(lessons_dir: Path) -> Course:
    """Optional course.yml beside the lessons (see COURSE_KEYS): unknown keys are warnings, as in front
    matter; paths in it are read from the lessons folder."""
    course = Course({"title": "lmreport course", "description": "", "models": []})
    path = Path(lessons_dir) / COURSE_FILE
    if not os.path.lexists(path):
        other = Path(lessons_dir) / "course.yaml"
        if other.exists():
            course.errors.append(LessonError(other, 1, f"not read: the course file is named {COURSE_FILE}"))
        return course
    text = read_text_file(path, lessons_dir, yamltext.MAX_SOURCE_CHARS, course.errors)
    if text is None:
        return course
    try:
        document = yamltext.load(normalise_text(text))
    except yamltext.YamlProblem as e:
        course.errors.append(LessonError(path, e.line + 1, f"{COURSE_FILE}: {e.message}"))
        return course
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        course.errors.append(LessonError(path, 1, f"{COURSE_FILE} must hold 'key: value' lines"))
        return course
    for key, value in data.items():
        line = document.key_lines.get(str(key), 0) + 1
        if key not in COURSE_KEYS:
            close = difflib.get_close_matches(str(key), COURSE_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            course.warnings.append(LessonError(path, line, f"unknown key '{short(str(key), 40)}' in {COURSE_FILE}, "
                                                           f"not read (valid: {', '.join(COURSE_KEYS)}){hint}"))
        elif key == "models":
            entries, model_errors = parse_models(value, path, line)
            course.errors += model_errors
            course.settings[key] = [ModelEntry(model_relative_to(e.spec, path), e.label, e.folder) for e in entries]
        elif problem := course_value_problem(key, value):
            course.errors.append(LessonError(path, line, f"'{key}' in {COURSE_FILE} {problem}"))
        elif key == "model":
            course.settings[key] = model_relative_to(value, path)
        else:
            course.settings[key] = normalise_course_value(key, value)
    return course


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
    lessons: list[Lesson], default_source: models.ModelSource, runtime: models.Runtime | None = None,
    resolver: Callable[[str | None], models.ModelSource] = models.resolve,
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
                    sources[model_spec] = resolver(model_spec)
            except LmreportError as e:
                errors.append(directive.error(f"{analysis.name}: {e}", "model"))
                continue
            jobs.append(Job(lesson, index, directive, analysis, options, title, sources[model_spec], runtime))
    return jobs, errors


def compute_all(
    jobs: list[Job], cache: ResultCache, summary: BuildSummary, progress: bool | None,
    results: exchange.ResultsFolders | None = None,
) -> list[LessonError]:
    """Fill each job's result from the cache (or the results folders), or compute it: model by model, each
    loaded once and freed after its last job; one forward pass per (model, prompt), shared by every analysis on
    that prompt, holding only what they read, and dropped once the last of them is done. Jobs with the same
    key (a block that names its own model, in every model of a matrix) are computed once."""
    library_progress(progress)
    pending: dict[str, list[Job]] = {}
    for job in jobs:
        job.key = result_key(job.identity, job.analysis.name, job.analysis.version, job.options)
        if job.key in pending:
            pending[job.key].append(job)
            continue
        job.result = cache.get(job.key) or (results.get(job.key) if results is not None else None)
        if job.result is not None:
            job.from_cache = True
            summary.cached += 1
        else:
            pending[job.key] = [job]
    if results is not None and pending:
        return [same[0].directive.error(f"{same[0].analysis.name}: no result for this block on "
                                        f"{same[0].source.name} in {results.where()} (--from-results loads no "
                                        "model): compute it with --results-only") for same in pending.values()]
    order = sorted(pending.values(), key=lambda same: (same[0].source.key, same[0].prompts))
    users = Counter((same[0].source.key, p) for same in order for p in set(same[0].prompts))
    needs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for same in order:
        for prompt in same[0].prompts:
            needs[(same[0].source.key, prompt)] |= same[0].analysis.needs
    last_of_model = {same[0].source.key: i for i, same in enumerate(order)}
    errors: list[LessonError] = []
    with progress_bar(len(order), "analyses", progress) as bar:
        for i, same in enumerate(order):
            job = same[0]
            error = _compute(job, cache, summary, needs[(job.source.key, job.prompts[0])])
            if error is not None:
                errors.append(error)
            for other in same[1:]:
                other.result, other.from_cache = job.result, job.from_cache
            for prompt in set(job.prompts):
                users[(job.source.key, prompt)] -= 1
                if users[(job.source.key, prompt)] == 0 and models.is_loaded(job.source, job.runtime):
                    models.load(job.source, job.runtime).forget(prompt)
            if last_of_model[job.source.key] == i and len(last_of_model) > 1:
                models.unload(job.source, job.runtime)  # before the next model is loaded
            bar.update(1)
    return errors


def _compute(job: Job, cache: ResultCache, summary: BuildSummary, needs: set[str] | None = None) -> LessonError | None:
    source = job.source
    name = job.analysis.name
    try:
        if not models.is_loaded(source, job.runtime):
            log.info("loading model %s", source.name)
            summary.model_loads += 1
        model = models.load(source, job.runtime)
        before = model.forward_count
        try:
            forward = model.forward(job.prompts[0], needs or job.analysis.needs)
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


def render_all(jobs: list[Job], cache: ResultCache, summary: BuildSummary,
               results: exchange.ResultsFolders | None = None) -> dict[str, list[PlacedFigure]]:
    """Draw every result (or take its drawing from the cache), grouped by lesson."""
    figures: dict[str, list[PlacedFigure]] = defaultdict(list)
    for job in jobs:
        figure = _figure(job, figure_id(job.index), cache, summary, results)
        figures[job.lesson.slug].append(
            PlacedFigure(job.lesson, job.index, job.directive.line, job.title, job.result, figure,
                         job.directive.params.get("id"))
        )
    return figures


def _figure(job: Job, fid: str, cache: ResultCache, summary: BuildSummary,
            results: exchange.ResultsFolders | None) -> Figure:
    assert job.result is not None
    key = figure_key(job.key, fid)
    figure = cache.get_figure(key)
    if figure is None:
        figure = _render_or_recompute(job, fid, cache, summary, results)
        cache.put_figure(key, figure)
    return figure


def _render_or_recompute(job: Job, fid: str, cache: ResultCache, summary: BuildSummary,
                         results: exchange.ResultsFolders | None = None) -> Figure:
    """Draw a result; a cached one that cannot be drawn (an entry of the right form with the wrong numbers in
    it) is a warning and a recompute, never a failed build."""
    assert job.result is not None
    try:
        return render(job.result, fid)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError) as e:
        if not job.from_cache:
            raise
        problem = f"the cached result cannot be drawn ({type(e).__name__}: {e})"
        if results is not None:
            raise BuildFailed([job.directive.error(f"{problem}; --from-results loads no model to compute it")]
                              ) from None
        log.warning("%s: %s; recomputing", f"{job.directive.path.as_posix()}:{job.directive.line}", problem)
    job.from_cache = False
    summary.cached -= 1
    error = _compute(job, cache, summary)
    if error is not None:
        raise BuildFailed([error])
    return render(job.result, fid)


def comparable_blocks(variants: list[Variant]) -> list[tuple[str, int]]:
    """The blocks a matrix compares: (lesson, block index) of each whose model changes with the matrix's model
    (a block that names its own model is the same everywhere) and whose view can stand beside another."""
    if len(variants) < 2:
        return []
    by_place = [{(job.lesson.slug, job.index): job for job in v.jobs} for v in variants]
    out = []
    for place, job in by_place[0].items():
        same = [jobs.get(place) for jobs in by_place]
        if job.analysis.comparable and all(same) and len({j.source.key for j in same if j}) > 1:
            out.append(place)
    return out


def render_comparisons(variants: list[Variant], places: list[tuple[str, int]], cache: ResultCache,
                       summary: BuildSummary, results: exchange.ResultsFolders | None) -> list[Comparison]:
    """Each compared block drawn once per model, with ids unique on its comparison page."""
    by_place = [{(job.lesson.slug, job.index): job for job in v.jobs} for v in variants]
    out = []
    for place in places:
        drawn = []
        for number, (variant, jobs) in enumerate(zip(variants, by_place, strict=True)):
            job = jobs[place]
            figure = _figure(job, f"m{number + 1}-{figure_id(job.index)}", cache, summary, results)
            drawn.append(PlacedFigure(job.lesson, job.index, job.directive.line, job.title, job.result, figure,
                                      job.directive.params.get("id"), variant.folder))
        out.append(Comparison(drawn[0].lesson, place[1], drawn))
    return out


def build_date() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise LmreportError(f"SOURCE_DATE_EPOCH must be seconds since 1970, got {epoch[:40]!r}") from None
    return moment.strftime("%Y-%m-%d %H:%M UTC")
