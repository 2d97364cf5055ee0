"""Errors a user can act on: each names where the problem is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# What a terminal would act on or hide instead of showing: C0 and C1 controls (ESC starts escape sequences),
# lone surrogates (they cannot even be encoded), line and paragraph separators, and the bidirectional
# overrides and isolates that reorder what is shown.
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, keep_newlines: bool = False) -> str:
    """Text as it may go to a terminal or a log: every character above written as an escape (\\x1b, \\u202e)."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char == "\n" and keep_newlines:
            return char
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    return _UNSHOWN.sub(escape, text)


def short(text: str, limit: int) -> str:
    """text cut to limit characters, with an ellipsis where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def control_character(text: str) -> str | None:
    """The first character a page or a terminal cannot show as typed: a control character (other than tab and
    newlines) or half of a surrogate pair."""
    return next(
        (c for c in text if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000),
        None,
    )


def short_repr(value: Any, limit: int = 60) -> str:
    """repr() cut to a length a one-line message can carry."""
    return short(repr(value), limit)


class LmreportError(Exception):
    """A problem the user can fix (bad model path, unwritable folder); shown without a traceback."""

    def __str__(self) -> str:
        return printable(super().__str__(), keep_newlines=True)


class LmreportWarning(UserWarning):
    """A result computed but not stable (integrated gradients that did not settle, say): analyze() warns."""


class LessonError(LmreportError):
    """A problem in one lesson file, located by path and 1-based line."""

    def __init__(self, path: Path | str, line: int, message: str):
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path.as_posix()}:{self.line}" if self.line else self.path.as_posix()  # 0: the file or folder
        return printable(f"{where}: {self.message}")


class BuildFailed(LmreportError):
    """All the errors of one build, reported together."""

    def __init__(self, errors: list[LessonError], kept: bool = True):
        self.errors = sorted(errors, key=lambda e: (e.path.as_posix(), e.line, e.message))
        n = len(self.errors)
        lines = [str(e) for e in self.errors]
        after = "the previous site was left as it was" if kept else "no site was written"
        lines.append(f"build failed: {n} error{'s' if n != 1 else ''}; {after}")
        super().__init__("\n".join(lines))


class AnalysisError(LmreportError):
    """An analysis cannot run on this input; the build adds the directive's file and the line of
    `option` (or of the block, when no option is to blame)."""

    def __init__(self, message: str, option: str | None = None):
        self.option = option
        super().__init__(message)


class NotApplicable(AnalysisError):
    """The analysis cannot run on this model at all (a next-token analysis on an encoder, an architecture a
    view does not support): the build skips the block with a note on the page, rather than failing."""
