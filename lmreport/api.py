"""The analyses from Python, for notebooks: the same numbers and views as the site."""

from __future__ import annotations

import warnings
from typing import Any

from lmreport import analyses, models
from lmreport.errors import AnalysisError, LmreportError, LmreportWarning
from lmreport.result import Result

RECENT_PROMPTS = 4  # forward passes kept between calls, per session (a long prompt's attention weighs much)


_recent: list[tuple[Any, str]] = []  # (loaded model, prompt), oldest first


def analyze(analysis: str, prompt: str | None = None, model: str | None = None, progress: bool = False,
            **options: Any) -> Result:
    """Run one analysis, e.g. analyze("logit_lens", prompt="The capital of France is").

    model: a Hugging Face id, a local folder, a .gguf file, or an embedded alias (default: smollm2).
    Analyses over several prompts take prompts=[...] instead of prompt.
    Calls in one session share the loaded model and the forward pass of the last few prompts.
    progress: show loading bars (off by default: in a notebook they are noise).
    The result displays itself in a notebook (_repr_html_) and .data holds the numbers.
    """
    from lmreport.progress import library_progress

    library_progress(progress)
    spec = analyses.get(analysis)
    try:
        given = options if prompt is None else {"prompt": prompt, **options}
        parsed = spec.parse_options(given)
    except analyses.OptionError as e:
        raise LmreportError(str(e)) from None
    source = models.resolve(model)
    loaded = models.load(source)
    try:
        with models.fast_linears(loaded.model):  # oneDNN for the passes without gradients (models/kernels.py)
            data = spec.run(loaded.forward(spec.prompts(parsed)[0], spec.needs), parsed, loaded)  # what it reads
    except AnalysisError as e:
        raise LmreportError(f"{analysis}: {e}") from None
    finally:
        _keep_recent(loaded, spec.prompts(parsed))
    for warning in spec.warnings_for(data):  # what a build warns of at the block (numbers that are not stable)
        warnings.warn(warning, LmreportWarning, stacklevel=2)
    return NotebookResult(spec.name, parsed, {"name": source.name, **source.identity}, data)


def _keep_recent(loaded: Any, prompts: list[str]) -> None:
    """Keep the forward passes of the RECENT_PROMPTS prompts used last; forget older ones."""
    for prompt in prompts:
        _recent[:] = [(m, p) for m, p in _recent if not (m is loaded and p == prompt)]
        _recent.append((loaded, prompt))
    while len(_recent) > RECENT_PROMPTS:
        old, prompt = _recent.pop(0)
        old.forget(prompt)


# The script groups (BokehJS, BertViz...) already inlined in this Python session's notebook output: a notebook
# loads each once, in the first cell that needs it, not in every cell (BokehJS alone is 1.3 MB).
_SENT: set[str] = set()


class NotebookResult(Result):
    """A result from analyze(): in a notebook, the same view as on the site, its scripts inlined (offline).
    value(name, *args) reads what lesson prose cites as `=id.name(args)`; values() lists those names."""

    def values(self) -> dict[str, str]:
        """The values this result offers, each with what it is (as `=id.value` in a lesson)."""
        import inspect

        from lmreport.glue.evaluate import parameters

        functions = analyses.get(self.analysis).values
        written = {name: f"{name}({parameters(fn)})" if parameters(fn) else name for name, fn in functions.items()}
        return {name: f"{written[name]}: {(inspect.getdoc(fn) or '').strip()}"
                for name, fn in sorted(functions.items())}

    def value(self, name: str, *args: Any) -> Any:
        """A value as lesson prose reads it: result.value("top"), result.value("prob", " Paris", -1). A value
        this result does not have (n/a in a lesson) or cannot be read raises LmreportError saying why."""
        from lmreport.glue.evaluate import read_value
        from lmreport.glue.types import NotApplicableHere, ReferenceProblem

        if "skipped" in self.data:
            raise LmreportError(f"n/a: {self.data['skipped']}")
        try:
            return read_value(self.analysis, analyses.get(self.analysis).values, self.data, name, args)
        except NotApplicableHere as e:
            raise LmreportError(f"{name} is n/a here: {e}") from None
        except ReferenceProblem as e:
            raise LmreportError(f"{name}: {e}") from None

    def _repr_html_(self) -> str:
        return standalone_html(self)


def standalone_html(result: Result) -> str:
    """A figure with the scripts it needs inlined (for notebooks): no file or network access needed. Scripts an
    earlier figure of this session brought are not inlined again (notebook_reset() sends them again)."""
    import uuid

    from lmreport.site.assets import inline_assets

    figure = analyses.render(result, f"lmr-{uuid.uuid4().hex[:12]}")
    needed = figure.assets - _SENT
    _SENT.update(needed)
    return inline_assets(needed) + figure.html


def notebook_reset() -> None:
    """Make the next results shown in a notebook inline their scripts again (BokehJS, BertViz): call it after
    clearing the outputs of the cells that loaded them."""
    _SENT.clear()

