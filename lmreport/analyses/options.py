"""An analysis's options: name, type, default (or REQUIRED), bounds and help, each with its parser; and the
options every block takes."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmreport.errors import control_character, short_repr

REQUIRED = object()


MAX_ITEMS = 16  # a list option's default bound: each item is a candidate, a prompt or a view to draw


MAX_CHARS = 1_000  # a text option's default bound (prompts have their own)


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
    pattern: str | None = None  # a regular expression a text must match whole
    nonempty: bool = False  # an optional text that, when given, must say something
    pattern_help: str = ""
    nullable: bool = False
    min_items: int = 1
    max_items: int = MAX_ITEMS
    max_chars: int = MAX_CHARS
    item: type = str
    indexes: str = ""  # what of the model or prompt the value names: "layer", "head", "position", "vocab" (indexing.py)
    block: str = ""  # the analysis of another block of the lesson whose id the value is (linking.py)

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

    def limits(self) -> str:
        """The bounds a value must keep, as `lmreport analyses` states them."""
        parts = []
        if self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        if self.type is list:
            parts.append(f"{self.min_items} to {self.max_items} items")
        if str in (self.type, self.item if self.type is list else None):
            parts.append(f"at most {self.max_chars:,} characters{' each' if self.type is list else ''}")
        return "; ".join(parts)

    def check_bounds(self, value: float) -> None:
        # Python compares ints and floats exactly, so a 400-digit integer is compared without overflow.
        if self.minimum is not None and value < self.minimum:
            raise OptionError(f"must be at least {_number(self.minimum)}, got {_number(value)}")
        if self.maximum is not None and value > self.maximum:
            raise OptionError(f"must be at most {_number(self.maximum)}, got {_number(value)}")


def _parse_text(option: Option, value: Any) -> str:
    if not isinstance(value, str):
        raise OptionError(f"must be text, got {_yaml_repr(value)}: put it in quotes")
    if (option.required or option.nonempty) and not value.strip():
        raise OptionError("must not be empty")
    check_text(value, option.max_chars)
    if option.pattern is not None and not re.fullmatch(option.pattern, value):
        raise OptionError(f"must be {option.pattern_help}, got {value[:40]!r}")
    return value


def check_text(text: str, max_chars: int) -> None:
    """Text that a page can show as typed, of a bounded length."""
    if len(text) > max_chars:
        raise OptionError(f"is {len(text):,} characters long; at most {max_chars:,}")
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
    option.check_bounds(value)
    if not math.isfinite(value):
        raise OptionError(f"must be a finite number, got {_number(value)}")
    return float(value)


def _number(value: float) -> str:
    """A bound or a value in a message: whole numbers as they are (cut when very long), others with %g."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e16):
        text = str(int(value))
        return text if len(text) <= 20 else f"{text[:8]}…({len(text)} digits)"
    return f"{value:g}"


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
    if len(value) > option.max_items:
        raise OptionError(f"names {len(value):,} values; at most {option.max_items}")
    if option.item is str:
        for v in value:
            check_text(v, option.max_chars)
    if len(set(value)) != len(value):
        raise OptionError("names the same value twice")
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
    if isinstance(value, int):
        return _number(value)
    return short_repr(value)


MAX_TOKEN_CHARS = 100  # a candidate is one token of the vocabulary


MAX_PROMPT_CHARS = 20_000  # far above what fits in the token limit; keeps tokenizing cheap


PROMPT = Option("prompt", str, help="the text given to the model", max_chars=MAX_PROMPT_CHARS)


TARGET = Option("target", str, None, "the next token to explain (default: the one the model predicts)",
                nullable=True, max_chars=MAX_TOKEN_CHARS, nonempty=True)


# Options every block takes besides its analysis's own.
COMMON_OPTIONS = {
    o.name: o
    for o in (
        Option("title", str, None, "caption of the figure", nullable=True, max_chars=300),
        Option("model", str, None, "run this block on another model", nullable=True, max_chars=4_096,
               nonempty=True),
        Option("id", str, None, "a name for this block, so that prose can cite its numbers (`=id.value`)",
               nullable=True, max_chars=40, pattern=r"[A-Za-z_][A-Za-z0-9_]*",
               pattern_help="a name of letters, digits and '_' (not starting with a digit)"),
    )
}
