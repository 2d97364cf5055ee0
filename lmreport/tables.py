"""Figures' numbers as CSV tables, beside their JSON, for the analyses whose numbers are a table.

Text cells that a spreadsheet would read as a formula (starting with =, +, -, @, a tab or a carriage return:
a token such as "=cmd|..." is a prompt's text, not ours to run) are written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

Rows = list[list[Any]]


def _text(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _topk(data: dict[str, Any]) -> Rows:
    return [["rank", "token", "token_id", "probability", "logit"]] + [
        [p["rank"], p["token"], p["id"], p["prob"], p["logit"]] for p in data["predictions"]]


def _attribution(data: dict[str, Any]) -> Rows:
    rows: Rows = [["method", "position", "token", "score", "quantity"]]
    for method in data["methods"]:
        for i, (token, score) in enumerate(zip(data["tokens"], method["scores"], strict=True)):
            rows.append([method["name"], i, token, score, data["quantity"]])
    return rows


def _ablation(data: dict[str, Any]) -> Rows:
    rows: Rows = [["variant", "text", "kl_from_base", "token", "probability", "rank"]]
    for row in data["rows"]:
        for target in row["targets"]:
            rows.append([row["index"], row["text"], row["kl"], target["token"], target["prob"], target["rank"]])
    return rows


def _heads(data: dict[str, Any]) -> Rows:
    rows: Rows = [["layer", "head", "direct_contribution", "quantity"]]
    for layer, row in enumerate(data["contributions"], 1):  # blocks count from 1
        rows.extend([layer, head, value, data["quantity"]] for head, value in enumerate(row))
    return rows


def _flow(data: dict[str, Any]) -> Rows:
    """Every edge sent to the page (share at least the floor, on a route at the floor): attention edges, then
    each MLP's and the residual stream's past it, for the positions up to the output."""
    tokens = data["tokens"]
    rows: Rows = [["layer", "kind", "from_position", "from_token", "to_position", "to_token", "share",
                   "top_heads"]]
    for layer, source, target, share, heads, _ in data["edges"]:
        rows.append([layer, "attention", source, tokens[source], target, tokens[target], share,
                     " ".join(f"{h}:{v}" for h, v in heads)])
    for layer, row in enumerate(data["ffn"], 1):  # blocks count from 1
        for position, share in enumerate(row):
            rows.append([layer, "mlp", position, tokens[position], position, tokens[position], share, ""])
            rows.append([layer, "past_mlp", position, tokens[position], position, tokens[position],
                         round(1 - share, 5), ""])
    return rows


TABLES: dict[str, Callable[[dict[str, Any]], Rows]] = {"topk": _topk, "attribution": _attribution,
                                                        "ablation": _ablation, "heads": _heads, "flow": _flow}


def has_table(analysis: str, data: dict[str, Any]) -> bool:
    """Whether a result's numbers are one table (and the block was not skipped)."""
    return analysis in TABLES and "skipped" not in data


def csv_text(analysis: str, data: dict[str, Any]) -> str | None:
    """The CSV of a result, or None for an analysis whose numbers are not one table (or a skipped block)."""
    if not has_table(analysis, data):
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in TABLES[analysis](data):
        writer.writerow([_text(v) for v in row])
    return out.getvalue()
