"""What every analysis declares, in one place: its options, compute, the shape of its result, the values prose
may cite, its view, guide, table and page script. Everything else (the build, the site, the notebook) reads
these fields; nothing keeps a list of analyses of its own."""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.machinery
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmreport.analyses.options import COMMON_OPTIONS, Option, OptionError
from lmreport.analyses.schema import checker
from lmreport.errors import AnalysisError, LessonError, short

if TYPE_CHECKING:
    from lmreport.analyses.linking import Linked
    from lmreport.analyses.try_prompt import TryPrompt
    from lmreport.models import ForwardPass, LoadedModel
    from lmreport.result import Result
    from lmreport.source.lessons import Directive
    from lmreport.views.figure import Figure

ComputeFn = Callable[["ForwardPass", dict[str, Any], "LoadedModel"], dict[str, Any]]
RenderFn = Callable[["Result", str], "Figure"]
Guide = tuple[str, str]  # the line under a figure, and the explanation a click opens
Rows = list[list[Any]]


@dataclass(frozen=True)
class Analysis:
    """An analysis registered by name. compute() returns plain JSON-serialisable data of the shape `schema`
    declares; render() draws it (no torch); values are what prose may cite; table, when given, turns the data
    into the rows of its CSV; script, when given, is the page script its figures need (a file in its folder)."""

    name: str
    label: str
    summary: str
    options: tuple[Option, ...]
    compute: ComputeFn
    schema: type  # a TypedDict: the shape of compute()'s data (see analyses/schema.py)
    render: RenderFn
    guide: Guide | Callable[[dict[str, Any]], Guide]
    values: dict[str, Callable[..., Any]] = field(default_factory=dict)  # what prose may cite
    table: Callable[[dict[str, Any]], Rows] | None = None
    script: str | None = None  # e.g. "page.js" in the analysis's folder, served as assets/<name>.js
    max_tokens: int | None = None  # a longer prompt would make an unreadable or too heavy figure
    # What compute() reads of the forward pass besides the logits: "hidden_states", "attentions", "mlp". The
    # build keeps only what the analyses of a prompt read (attention weights grow with the prompt's square).
    needs: frozenset[str] = frozenset(("hidden_states", "attentions", "mlp"))
    comparable: bool = True  # whether a model matrix draws it side by side on a comparison page
    consistent: Callable[[dict[str, Any]], list[str]] | None = None  # data -> how its parts disagree (schema.py)
    # data -> what the build warns about at the block (an error with --strict): numbers drawn but not stable
    warnings: Callable[[dict[str, Any]], list[str]] | None = None
    # (result, the blocks of its lesson linked to it by options naming a block: Option.block) -> the result as its
    # figure draws it, with what it shares with them (topk: one probability axis); see linking.py
    linked: Callable[[Result, list[Linked]], Result] | None = None
    # result -> how the page recomputes its figure on the reader's own prompt when the course has a playground
    # (try_prompt.py), or None where the figure cannot be: the analysis's folder then holds try.js
    try_prompt: Callable[[Result], TryPrompt | None] | None = None
    option_map: dict[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "option_map", {o.name: o for o in self.options})

    def run(self, forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
        """compute(), after checking that the prompt is not too long for this analysis's figure, with the model's
        sizes added and the whole checked against the declared shape (ResultShapeError)."""
        if self.max_tokens is not None and len(forward.tokens) > self.max_tokens:
            raise AnalysisError(
                f"the prompt is {len(forward.tokens)} tokens long; {self.name} draws at most {self.max_tokens}",
                "prompt",
            )
        data = self.compute(forward, options, model)
        data["model_shape"] = model.shape(forward)
        self.check(data)
        return data

    @cached_property
    def check(self) -> Callable[[dict[str, Any]], None]:
        """Raise ResultShapeError unless data has this analysis's shape (or is a skipped block's note)."""
        return checker(self.schema, consistent=self.consistent)

    @cached_property
    def code_hash(self) -> str:
        """A hash of the source of compute() and of every lmreport module it imports, however indirectly: part
        of the result key, so that changed code never serves numbers computed by the old one."""
        return source_hash(self.compute.__module__)

    @property
    def folder(self) -> Path:
        """The analysis's own folder (compute, values, view, schema, page script)."""
        return Path(importlib.util.find_spec(self.compute.__module__).origin).parent  # type: ignore[union-attr]

    def warnings_for(self, data: dict[str, Any]) -> list[str]:
        """What a result's reader must be warned of: every note its figure carries ("notes": a candidate written
        without its leading space...) and what the analysis warns of (numbers that are not stable); none for a
        skipped block's note, which is a warning of its own."""
        if "skipped" in data:
            return []
        notes = [f"{self.name}: {note}" for note in data.get("notes") or [] if isinstance(note, str)]
        return notes + (self.warnings(data) if self.warnings is not None else [])

    def guide_for(self, data: dict[str, Any]) -> Guide:
        """The figure's guide: one line, and the explanation a click opens (it may depend on the views drawn)."""
        return self.guide(data) if callable(self.guide) else self.guide

    def prompts(self, options: dict[str, Any]) -> list[str]:
        """The prompts this analysis runs on (each gets one forward pass per build)."""
        if "prompts" in options:
            return list(options["prompts"])
        return [options["prompt"]]

    @property
    def option_names(self) -> list[str]:
        return [o.name for o in self.options]

    def parse_options(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate options given as keyword arguments (the Python API); raise OptionError on the first problem."""
        problems = self._problems(params)
        if problems:
            raise OptionError(problems[0][1])
        linking = next((o.name for o in self.options if o.block and params.get(o.name) is not None), None)
        if linking is not None:
            raise OptionError(f"{self.name}: option '{linking}' names another block of a lesson; a figure drawn alone "
                              "has none")
        return self._with_defaults(params)

    def validate(self, directive: Directive) -> tuple[dict[str, Any], list[LessonError]]:
        """Check a directive's options; return normalised options and every problem, each at its line."""
        problems = self._problems(directive.params, common=True)
        errors = [directive.error(message, option) for option, message in problems]
        analysis_params = {k: v for k, v in directive.params.items() if k not in COMMON_OPTIONS}
        options = self._with_defaults(analysis_params) if not errors else {}
        return options, errors

    def _problems(self, params: dict[str, Any], common: bool = False) -> list[tuple[str | None, str]]:
        problems: list[tuple[str | None, str]] = []
        valid = ", ".join(self.option_names + (list(COMMON_OPTIONS) if common else []))
        for key, value in params.items():
            option = self.option_map.get(key) or (COMMON_OPTIONS.get(key) if common else None)
            if option is None:
                names = self.option_names + (list(COMMON_OPTIONS) if common else [])
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                problems.append((key, f"{self.name}: unknown option '{short(str(key), 40)}' (valid: {valid}){hint}"))
                continue
            try:
                option.parse(value)
            except OptionError as e:
                problems.append((key, f"{self.name}: option '{key}' {e}"))
        for option in self.options:
            if option.required and option.name not in params:
                problems.append((None, f"{self.name}: missing option '{option.name}' ({option.help})"))
        return problems

    def _with_defaults(self, params: dict[str, Any]) -> dict[str, Any]:
        return {o.name: o.parse(params[o.name]) if o.name in params else o.default for o in self.options}


@cache
def source_hash(module: str) -> str:
    """sha256 over the source of a module of lmreport and of every lmreport module it imports (at its top or
    inside a function), found by reading the files, not by importing them."""
    digest = hashlib.sha256()
    for name, path in sorted(_imported_sources(module).items()):
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _imported_sources(start: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        spec = None if name in found else _spec(name)
        if spec is None or spec.origin is None:
            continue
        found[name] = Path(spec.origin)
        for node in ast.walk(ast.parse(found[name].read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.startswith("lmreport")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lmreport"):
                todo.append(node.module or "")
                # `from lmreport.x import y` may name a module y as well as a name of x: _spec tells
                todo += [f"{node.module}.{a.name}" for a in node.names]
    return found


def _spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """The module's spec, or None for a name that is no module (a function of a module, say)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):  # its parent is a module, not a package
        return None
