"""The prose's numbers and claims in a build: checked before any model work, resolved on the results."""

from __future__ import annotations

from lmreport.build.plan import Job
from lmreport.errors import LessonError
from lmreport.glue.evaluate import check as check_reference
from lmreport.glue.evaluate import resolve as resolve_reference
from lmreport.glue.types import Block, ReferenceProblem, Resolved
from lmreport.source.lessons import Lesson


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
        # blocks whose own options are in error make no job: their error is reported at them, and a reference to
        # them is not also "no block with that id"
        failed = {str(d.params.get("id")) for d in lesson.directives if d.params.get("id") is not None} - set(named)
        for reference in lesson.references:
            if {call.block for call in reference.calls} & failed:
                continue
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
