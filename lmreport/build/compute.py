"""Results from the cache or the results folders, or computed: model by model, one forward pass per prompt."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

from lmreport import models
from lmreport.analyses.indexing import index_problems, not_drawn
from lmreport.analyses.schema import ResultShapeError
from lmreport.build import exchange
from lmreport.build.cache import ResultCache, result_key
from lmreport.build.plan import Job
from lmreport.build.types import BuildSummary
from lmreport.errors import AnalysisError, LessonError, LmreportError, NotApplicable
from lmreport.progress import library_progress, progress_bar
from lmreport.result import Result

log = logging.getLogger("lmreport")


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
        job.key = result_key(job.identity, job.analysis.name, job.analysis.code_hash, job.options)
        if job.key in pending:
            pending[job.key].append(job)
            continue
        job.result = cache.get(job.key) or (results.get(job.key) if results is not None else None)
        if job.result is not None:
            job.from_cache = True
            summary.cached += 1
        else:
            pending[job.key] = [job]
    if results is not None:
        errors = _one_shape_per_model(jobs, results)
        if errors:
            return errors
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
            error = compute_one(job, cache, summary, needs[(job.source.key, job.prompts[0])])
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


def _one_shape_per_model(jobs: list[Job], results: exchange.ResultsFolders) -> list[LessonError]:
    """Results read from folders carry the sizes of the model they were computed on (which prose cites, and each
    result's own checks compare with): every result of one model must state the same sizes. Those that differ
    from the sizes most of them state are errors at their blocks."""
    shapes: dict[str, Counter[str]] = defaultdict(Counter)
    for job in jobs:
        if job.result is not None:
            shapes[job.source.key][_shape_text(job.result.data["model_shape"])] += 1
    errors = []
    for job in jobs:
        if job.result is None or len(shapes[job.source.key]) < 2:
            continue
        usual = shapes[job.source.key].most_common(1)[0][0]
        if _shape_text(job.result.data["model_shape"]) != usual:
            errors.append(job.directive.error(
                f"{job.analysis.name}: the result in {results.where()} cannot be used: it states the sizes of "
                f"{job.source.name} as {_shape_text(job.result.data['model_shape'])}, other results of the same "
                f"model as {usual}; compute the folder again with --results-only"))
    return errors


def _shape_text(shape: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(shape.items()))


def compute_one(job: Job, cache: ResultCache, summary: BuildSummary, needs: set[str] | None = None
                ) -> LessonError | None:
    source = job.source
    name = job.analysis.name
    try:
        if not models.is_loaded(source, job.runtime):
            log.info("loading model %s", source.name)
            summary.model_loads += 1
        model = models.load(source, job.runtime)
        before = model.forward_count
        try:
            with models.fast_linears(model.model):  # oneDNN where no gradient is recorded (models/kernels.py)
                forward = model.forward(job.prompts[0], needs or job.analysis.needs)
                shape = model.shape(forward)
                problems = index_problems(job.analysis.options, job.options, shape,
                                          [len(forward.tokens)] + [len(model.encode(p)) for p in job.prompts[1:]])
                if problems:  # a layer, head or position this model or prompt lacks: the block is not drawn here
                    data = {"skipped": not_drawn(name, source.name, problems), "model_shape": shape}
                else:
                    try:
                        data = job.analysis.run(forward, job.options, model)
                    except NotApplicable as e:
                        data = {"skipped": f"{name} does not apply to {source.name}: {e}", "model_shape": shape}
        finally:
            summary.forward_passes += model.forward_count - before
    except (AnalysisError, LmreportError) as e:
        return job.directive.error(f"{name}: {e}", getattr(e, "option", None))
    except ResultShapeError as e:  # compute() and its declared schema disagree: a bug, shown at the block
        return job.directive.error(f"{name}: {e} (a bug in the analysis: please report it)")
    job.result = Result(name, job.options, {"name": source.name, **job.identity}, data)
    cache.put(job.key, job.result)
    summary.computed += 1
    return None
