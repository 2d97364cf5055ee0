"""Errors a user can act on: each names where the problem is."""

from __future__ import annotations

from pathlib import Path


class LmreportError(Exception):
    """A problem the user can fix (bad model path, unwritable folder); shown without a traceback."""


class LessonError(LmreportError):
    """A problem in one lesson file, located by path and 1-based line."""

    def __init__(self, path: Path | str, line: int, message: str):
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path.as_posix()}:{self.line}: {self.message}"


class BuildFailed(LmreportError):
    """All the errors of one build, reported together."""

    def __init__(self, errors: list[LessonError]):
        self.errors = sorted(errors, key=lambda e: (e.path.as_posix(), e.line, e.message))
        n = len(self.errors)
        lines = [str(e) for e in self.errors]
        lines.append(f"build failed: {n} error{'s' if n != 1 else ''}; the previous site was left as it was")
        super().__init__("\n".join(lines))


class AnalysisError(LmreportError):
    """An analysis cannot run on this input; the build adds the directive's file and the line of
    `option` (or of the block, when no option is to blame)."""

    def __init__(self, message: str, option: str | None = None):
        self.option = option
        super().__init__(message)
