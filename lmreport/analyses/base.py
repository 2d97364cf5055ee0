"""What every analysis declares: its options (with defaults and parsers) and a compute function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import AnalysisError, LessonError
from ..lessons import control_character

if TYPE_CHECKING:
    from ..lessons import Directive
    from ..models import ForwardPass, LoadedModel

REQUIRED = object()
COMMON_OPTIONS = ("title", "model")


class OptionError(ValueError):
    """A value that does not fit its option."""


@dataclass(frozen=True)
class Option:
    """One option of an analysis: name, type, default (or REQUIRED), bounds, help."""

    name: str
    type: type
    default: Any = REQUIRED
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    nullable: bool = False
    min_items: int = 1
    item: type = str

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def parse(self, value: Any) -> Any:
        """The value, checked and normalised; OptionError says what is wrong."""
        if value is None and self.nullable:
            return None
        value = _PARSERS[self.type](self, value)
        if self.choices:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in self.choices]
            if bad:
                raise OptionError(f"'{bad[0]}' is not one of: {', '.join(map(str, self.choices))}")
        return value

    def check_bounds(self, value: float) -> None:
        if self.minimum is not None and value < self.minimum:
            raise OptionError(f"must be at least {self.minimum:g}, got {value:g}")
        if self.maximum is not None and value > self.maximum:
            raise OptionError(f"must be at most {self.maximum:g}, got {value:g}")


def _parse_text(option: Option, value: Any) -> str:
    if not isinstance(value, str):
        raise OptionError(f"must be text, got {_yaml_repr(value)}: put it in quotes")
    if option.required and not value.strip():
        raise OptionError("must not be empty")
    check_characters(value)
    return value


def check_characters(text: str) -> None:
    bad = control_character(text)
    if bad is not None:
        raise OptionError(f"contains the control character U+{ord(bad):04X} at character {text.index(bad) + 1}")


def _parse_int(option: Option, value: Any) -> int:
    if not _is(value, int):
        raise OptionError(f"must be a whole number, got {_yaml_repr(value)}")
    option.check_bounds(value)
    return value


def _parse_float(option: Option, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(f"must be a number, got {_yaml_repr(value)}")
    option.check_bounds(float(value))
    return float(value)


def _parse_bool(option: Option, value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"must be true or false, got {_yaml_repr(value)}")
    return value


def _parse_list(option: Option, value: Any) -> list[Any]:
    if _is(value, option.item):
        value = [value]
    if not isinstance(value, list) or not all(_is(v, option.item) for v in value):
        kind = "whole numbers" if option.item is int else "text"
        raise OptionError(f"must be a list of {kind}, got {_yaml_repr(value)}")
    if len(value) < option.min_items:
        raise OptionError(f"must name at least {option.min_items}, got {len(value)}")
    if len(set(value)) != len(value):
        raise OptionError("names the same value twice")
    if option.item is str:
        for v in value:
            check_characters(v)
    if option.item is int:
        for v in value:
            option.check_bounds(v)
    return list(value)


_PARSERS: dict[type, Callable[[Option, Any], Any]] = {
    str: _parse_text,
    int: _parse_int,
    float: _parse_float,
    bool: _parse_bool,
    list: _parse_list,
}


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _yaml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    return repr(value)


ComputeFn = Callable[["ForwardPass", dict[str, Any], "LoadedModel"], dict[str, Any]]


@dataclass(frozen=True)
class Analysis:
    """An analysis registered by name; compute() returns plain JSON-serialisable data."""

    name: str
    label: str
    summary: str
    version: str
    options: tuple[Option, ...]
    compute: ComputeFn
    max_tokens: int | None = None  # a longer prompt would make an unreadable or too heavy figure
    option_map: dict[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "option_map", {o.name: o for o in self.options})

    def run(self, forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
        """compute(), after checking that the prompt is not too long for this analysis's figure."""
        if self.max_tokens is not None and len(forward.tokens) > self.max_tokens:
            raise AnalysisError(
                f"the prompt is {len(forward.tokens)} tokens long; {self.name} draws at most {self.max_tokens}",
                "prompt",
            )
        return self.compute(forward, options, model)

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
        return self._with_defaults(params)

    def validate(self, directive: Directive) -> tuple[dict[str, Any], list[LessonError]]:
        """Check a directive's options; return normalised options and every problem, each at its line."""
        problems = self._problems({k: v for k, v in directive.params.items() if k not in COMMON_OPTIONS})
        errors = [directive.error(message, option) for option, message in problems]
        options = self._with_defaults(directive.params) if not errors else {}
        return options, errors

    def _problems(self, params: dict[str, Any]) -> list[tuple[str | None, str]]:
        problems: list[tuple[str | None, str]] = []
        valid = ", ".join(self.option_names + list(COMMON_OPTIONS))
        for key, value in params.items():
            option = self.option_map.get(key)
            if option is None:
                problems.append((key, f"{self.name}: unknown option '{key}' (valid: {valid})"))
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


PROMPT = Option("prompt", str, help="the text given to the model")
