"""What an analysis declares so that a reader can recompute its figure on their own prompt, in the page, with the
course's model running in the browser (the playground): the prompt the box starts with, what the page's drawing
needs, and the twin, the figure drawn by the analysis's own render() that the page then fills with the reader's
numbers. The page side is try.js in the analysis's folder (served as playground/try-<name>.js)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lmreport.result import Result

SCRIPT = "try.js"


@dataclass(frozen=True)
class TryPrompt:
    prompt: str  # what the reader's box starts with: the text whose figure the build drew
    options: dict[str, Any]  # JSON for try.js: the block's options it draws with, and the build's numbers to compare
    twin: Result  # drawn by the analysis's render() and kept in a <template> until the reader runs a prompt
    temperature: float | None = None  # a temperature the reader may change (topk), or None
