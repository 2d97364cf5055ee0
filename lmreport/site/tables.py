"""Figures' numbers as CSV tables, beside their JSON, for the analyses whose numbers are a table.

Text cells that a spreadsheet would read as a formula (starting with =, +, -, @, a tab or a carriage return:
a token such as "=cmd|..." is a prompt's text, not ours to run) are written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from lmreport import analyses


def _text(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def has_table(analysis: str, data: dict[str, Any]) -> bool:
    """Whether a result's numbers are one table (and the block was not skipped)."""
    return analyses.get(analysis).table is not None and "skipped" not in data


def csv_text(analysis: str, data: dict[str, Any]) -> str | None:
    """The CSV of a result, or None for an analysis whose numbers are not one table (or a skipped block)."""
    if not has_table(analysis, data):
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in analyses.get(analysis).table(data):  # type: ignore[misc]
        writer.writerow([_text(v) for v in row])
    return out.getvalue()
