"""What a reference is and what it resolves to; a leaf: it imports nothing of lmreport but errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmreport.errors import LessonError, short


class TokenText(str):
    """A value that is one token of the vocabulary: the page shows it as figures do (␣Paris)."""


class ReferenceProblem(ValueError):
    """A reference that cannot be read or resolved; the message says why."""


class NotApplicableHere(ReferenceProblem):
    """A value this model does not have (the output token of an encoder): shown as n/a, with a warning."""


@dataclass(frozen=True)
class Call:
    """`block.name(args)`: one value of one block's result."""

    block: str
    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        parts = [json.dumps(a, ensure_ascii=False) for a in self.args]
        parts += [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in self.kwargs]
        return f"{self.block}.{self.name}" + (f"({', '.join(parts)})" if parts else "")


@dataclass
class Reference:
    """A value or a claim in a lesson's prose, where it is, and what it compares."""

    path: Path
    line: int
    source: str  # as written, without the leading '=' or '?'
    kind: str  # "value" or "claim"
    left: Call | str | float
    op: str | None = None
    right: Call | str | float | None = None
    spec: str = ""

    @property
    def calls(self) -> list[Call]:
        """The values of results it names (one for a value, one or two for a claim)."""
        return [x for x in (self.left, self.right) if isinstance(x, Call)]

    def error(self, message: str) -> LessonError:
        return LessonError(self.path, self.line, message)

    @property
    def written(self) -> str:
        """As the lesson writes it (cut for messages): `=c.top`, `?c.top == " x"`."""
        return short(("=" if self.kind == "value" else "?") + self.source, 60)


@dataclass
class Block:
    """What a reference may cite: one block with an id, its analysis, and (after the build) its result."""

    analysis: str
    values: dict[str, Any]
    figure: int
    data: dict[str, Any] | None = None
    skipped: str | None = None  # why the block was not computed on this model


@dataclass
class Resolved:
    """A reference after the build: the text a value shows, or whether a claim holds and why."""

    reference: Reference
    text: str = ""
    value: Any = None
    holds: bool | None = None
    detail: str = ""
    token: bool = False
    not_applicable: bool = False  # a value this model does not have: shown as n/a, with a warning


@dataclass(frozen=True)
class ClaimCount:
    """The claims of a course on one model: how many hold, fail, or are n/a (a value this model does not have).
    The one count the terminal, the comparison index and every page of a matrix show."""

    holds: int = 0
    fails: int = 0
    not_applicable: int = 0

    @classmethod
    def of(cls, resolved: Iterable[Resolved]) -> ClaimCount:
        claims = [item for item in resolved if item.reference.kind == "claim"]
        return cls(holds=sum(1 for c in claims if c.holds is True and not c.not_applicable),
                   fails=sum(1 for c in claims if c.holds is False and not c.not_applicable),
                   not_applicable=sum(1 for c in claims if c.not_applicable))

    @property
    def total(self) -> int:
        return self.holds + self.fails + self.not_applicable

    def text(self) -> str:
        """e.g. "8 of 14 claims hold, 3 fail, 3 n/a"."""
        return (f"{self.holds} of {self.total} claims hold"
                + (f", {self.fails} fail" if self.fails else "")
                + (f", {self.not_applicable} n/a" if self.not_applicable else ""))
