"""The analyses from Python, for notebooks: the same numbers and views as the site."""

from __future__ import annotations

from typing import Any

from . import analyses, models
from .errors import AnalysisError, LmreportError
from .result import Result


def analyze(analysis: str, prompt: str | None = None, model: str | None = None, **options: Any) -> Result:
    """Run one analysis, e.g. analyze("logit_lens", prompt="The capital of France is").

    model: a Hugging Face id, a local folder, a .gguf file, or an embedded alias (default: smollm2).
    Analyses over several prompts take prompts=[...] instead of prompt.
    The result displays itself in a notebook (_repr_html_) and .data holds the numbers.
    """
    spec = analyses.get(analysis)
    try:
        given = options if prompt is None else {"prompt": prompt, **options}
        parsed = spec.parse_options(given)
    except analyses.OptionError as e:
        raise LmreportError(str(e)) from None
    source = models.resolve(model)
    loaded = models.load(source)
    try:
        data = spec.run(loaded.forward(spec.prompts(parsed)[0]), parsed, loaded)
    except AnalysisError as e:
        raise LmreportError(f"{analysis}: {e}") from None
    finally:
        for p in spec.prompts(parsed):
            loaded.forget(p)
    return Result(spec.name, parsed, {"name": source.name, **source.identity}, data)
