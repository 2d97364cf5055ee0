"""Every directive checked against its analysis and given its model: the jobs of a build."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lmreport import analyses, models
from lmreport.analyses.spec import Analysis
from lmreport.errors import LessonError, LmreportError
from lmreport.result import Result
from lmreport.source.course import model_relative_to
from lmreport.source.lessons import Directive, Lesson


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
                written = directive.params.get("model") or lesson.model
                where = "" if written == model_spec else \
                    f"model '{written}' (a path in a lesson is read from its folder): "
                errors.append(directive.error(f"{analysis.name}: {where}{e}", "model"))
                continue
            jobs.append(Job(lesson, index, directive, analysis, options, title, sources[model_spec], runtime))
    return jobs, errors
