"""When the lessons have errors, the build stops before computing; the layers, heads and positions blocks name
are then checked anyway, against the first model's sizes and tokenizer (read without its weights), so every
problem of a block is reported at once rather than after the first fix. Blocks whose other options are in error
are checked too, with the options that did parse."""

from __future__ import annotations

from typing import Any

from lmreport import analyses, models
from lmreport.analyses.indexing import index_problems, not_drawn
from lmreport.analyses.options import OptionError
from lmreport.errors import AnalysisError, LessonError
from lmreport.source.lessons import Lesson


def index_warnings(lessons: list[Lesson], source: models.ModelSource, runtime: models.Runtime
                   ) -> list[LessonError]:
    """Each block that names a layer, head or position its model or prompt lacks, as a problem at the line of
    the first such option; [] where the model's sizes cannot be read without converting or loading it."""
    facts = None
    found: list[LessonError] = []
    for lesson in lessons:
        for directive in lesson.directives:
            analysis = analyses.REGISTRY.get(directive.analysis)
            if analysis is None:
                continue
            values = _parsed(analysis, directive.params)
            if not any(o.indexes and o.name in directive.params for o in analysis.options):
                continue  # the defaults (layer 1, position -1, ...) fit every model
            facts = facts or models.sizes_and_tokenizer(source, runtime)
            if facts is None:
                return []
            shape, tokenizer = facts
            try:
                counts = [_count(tokenizer, prompt) for prompt in analysis.prompts(values)]
            except (KeyError, TypeError, AnalysisError):
                counts = []  # no prompt that parsed: positions are not checked
            problems = index_problems(analysis.options, values, shape, counts)
            if problems:
                found.append(directive.error(f"{not_drawn(analysis.name, source.name, problems)}; the block "
                                             "would not be drawn", problems[0][0]))
    return found


def _parsed(analysis: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The block's options that parse, with the defaults of the others."""
    values = {}
    for option in analysis.options:
        try:
            values[option.name] = option.parse(params[option.name]) if option.name in params else option.default
        except OptionError:
            continue
    return values


def _count(tokenizer: Any, prompt: Any) -> int:
    if not isinstance(prompt, str) or not prompt:
        raise TypeError("no prompt")
    count = len(tokenizer(prompt)["input_ids"])
    if count == 0:
        raise TypeError("no tokens")
    return count
