"""Drawing every result (or taking its drawing from the cache), and the blocks a model matrix compares."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from lmreport import analyses
from lmreport.analyses import linking
from lmreport.build import exchange
from lmreport.build.cache import ResultCache, figure_key
from lmreport.build.compute import compute_one
from lmreport.build.matrix import ModelBuild
from lmreport.build.plan import Job
from lmreport.build.types import BuildSummary
from lmreport.errors import BuildFailed
from lmreport.site.info import Comparison, PlacedFigure, figure_id
from lmreport.views.figure import Figure

log = logging.getLogger("lmreport")


def render_all(jobs: list[Job], cache: ResultCache, summary: BuildSummary,
               results: exchange.ResultsFolders | None = None) -> dict[str, list[PlacedFigure]]:
    """Draw every result (or take its drawing from the cache), grouped by lesson; a block linked to others of its
    lesson by an option naming them (topk's scale_with) is drawn with their results (linking.py)."""
    lessons: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        lessons[job.lesson.slug].append(job)
    problems = linking.link_problems([group[0].lesson for group in lessons.values()])
    if problems:
        raise BuildFailed(problems)
    figures: dict[str, list[PlacedFigure]] = defaultdict(list)
    for job in jobs:
        figure = _figure(job, figure_id(job.index), cache, summary, results, lessons[job.lesson.slug])
        figures[job.lesson.slug].append(
            PlacedFigure(job.lesson, job.index, job.directive.line, job.title, job.result, figure,
                         job.directive.params.get("id"))
        )
    return figures


# What a view raises on numbers it cannot draw (a result of the right shape whose parts disagree): a warning and a
# recompute for a cached result, an error at the block for one from a results folder.
UNDRAWABLE = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError)


def _figure(job: Job, fid: str, cache: ResultCache, summary: BuildSummary,
            results: exchange.ResultsFolders | None, lesson: Sequence[Job] = ()) -> Figure:
    assert job.result is not None
    key = figure_key(linking.drawn(job, lesson, figure_id), fid)
    figure = cache.get_figure(key)
    if figure is None:
        drawn = job.result
        figure = _render_or_recompute(job, fid, cache, summary, results, lesson)
        recomputed = job.result is not drawn
        cache.put_figure(figure_key(linking.drawn(job, lesson, figure_id), fid) if recomputed else key, figure)
    return figure


def _render_or_recompute(job: Job, fid: str, cache: ResultCache, summary: BuildSummary,
                         results: exchange.ResultsFolders | None = None, lesson: Sequence[Job] = ()) -> Figure:
    """Draw a result; a cached one that cannot be drawn (an entry of the right form with the wrong numbers in
    it) is a warning and a recompute, never a failed build."""
    assert job.result is not None
    try:
        return analyses.render(linking.drawn(job, lesson, figure_id), fid)
    except UNDRAWABLE as e:
        if not job.from_cache:
            raise
        problem = f"the cached result cannot be drawn ({type(e).__name__}: {e})"
        if results is not None:
            raise BuildFailed([job.directive.error(f"{problem}; --from-results loads no model to compute it")]
                              ) from None
        log.warning("%s: %s; recomputing", f"{job.directive.path.as_posix()}:{job.directive.line}", problem)
    job.from_cache = False
    summary.cached -= 1
    error = compute_one(job, cache, summary)
    if error is not None:
        raise BuildFailed([error])
    return analyses.render(linking.drawn(job, lesson, figure_id), fid)


def comparable_blocks(variants: list[ModelBuild]) -> list[tuple[str, int]]:
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


def render_comparisons(variants: list[ModelBuild], places: list[tuple[str, int]], cache: ResultCache,
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
