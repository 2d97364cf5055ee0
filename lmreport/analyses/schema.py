"""The typed shape of results. Each analysis declares its result as a TypedDict (in its folder's schema.py);
every result is checked against it when computed and when read back from the cache or a results folder, so a
key renamed in one compute() fails at once instead of breaking its values, view, table and page script."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

from pydantic import ConfigDict, Strict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

# Every nested shape inherits this: no key the schema does not name, no "1" for 1, no true for 1.
STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


def row(*types: Any) -> Any:
    """A fixed-length JSON array of mixed items (an edge: [layer, from, to, share, ...]); items stay strict."""
    return Annotated[tuple[types], Strict(False)]


class ModelShape(TypedDict):
    layers: int
    heads: int
    kv_heads: int
    d_model: int
    d_head: int
    d_ff: int
    vocab: int


class Computed(TypedDict):
    """What the build adds to every result: the sizes of the model it ran on (prose may cite them)."""

    model_shape: ModelShape


@with_config(STRICT)
class Skipped(Computed):
    """A block whose analysis does not apply to its model (an encoder asked for a next token...)."""

    skipped: str


class Token(TypedDict):
    id: int
    token: str


class Candidate(TypedDict):
    text: str
    id: int
    token: str


SHOWN = 4  # problems a message names


class ResultShapeError(ValueError):
    """A result whose data does not have its analysis's shape; the message names the first wrong keys."""


@cache
def _adapter(schema: type) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def checker(schema: type, what: str = "the result",
            consistent: Callable[[dict[str, Any]], list[str]] | None = None) -> Callable[[dict[str, Any]], None]:
    """A function that raises ResultShapeError unless data fits schema (or is a skipped block's note), and, given
    `consistent` (data -> problems), unless its parts agree with each other (sizes, ranges of indices): well-typed
    numbers from outside can still be wrong. The data is left as it is, so what was computed is what is written."""

    def check(data: dict[str, Any]) -> None:
        try:
            _adapter(Skipped if isinstance(data, dict) and "skipped" in data else schema).validate_python(data)
        except ValidationError as e:
            place = [".".join(map(str, err["loc"])) or "the data" for err in e.errors()]
            missing = [where for where, err in zip(place, e.errors(), strict=True) if err["type"] == "missing"]
            wrong = [f"{where}: {err['msg']}" for where, err in zip(place, e.errors(), strict=True)
                     if err["type"] != "missing"]
            left_out = max(0, len(missing) - 2 * SHOWN) + max(0, len(wrong) - SHOWN)
            problems = "; ".join(([f"missing {', '.join(missing[:2 * SHOWN])}"] if missing else []) + wrong[:SHOWN])
            more = f" (and {left_out} more)" if left_out else ""
            raise ResultShapeError(f"{what} does not have the shape of {schema.__name__}: {problems}{more}"
                                   ) from None
        if consistent is not None and "skipped" not in data:
            problems = consistent(data)
            if problems:
                raise ResultShapeError(f"{what} is not consistent ({schema.__name__}): {'; '.join(problems[:SHOWN])}")

    return check


def within(name: str, values: Any, low: int, high: int) -> list[str]:
    """A problem for each value outside low..high (inclusive), named; for consistency checks."""
    bad = [v for v in values if not low <= v <= high]
    return [f"{name} {bad[0]} is outside {low}..{high}"] if bad else []
